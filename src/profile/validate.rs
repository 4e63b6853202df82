//! What a profile must have before it is saved or used.

use std::path::Path;

use super::{AuthMethod, Profile};
use crate::error::{Error, Result};

impl Profile {
    /// Checks what a profile must have before it is saved.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        let method = self.auth_method();
        // A managed identity needs neither: the host knows who it is.
        let optional = method == AuthMethod::ManagedIdentity;
        if !(optional && self.client_id.is_empty()) {
            validate_guid("client ID", &self.client_id)?;
        }
        if !(optional && self.tenant_id.is_empty()) {
            validate_tenant(&self.tenant_id)?;
        }
        if method.uses_managed_identity() {
            let selectors = [
                &self.managed_identity_client_id,
                &self.managed_identity_object_id,
                &self.managed_identity_resource_id,
            ];
            let named = selectors.iter().filter(|s| s.is_some()).count();
            if method == AuthMethod::ManagedIdentityFederation && named == 0 {
                return Err(Error::config(format!(
                    "profile '{}' uses managedIdentityFederation but names no user-assigned managed identity",
                    self.name
                ))
                .with_remedy(format!(
                    "name the identity the app trusts: `entratool config edit -p {} --managed-identity-client-id \
                     GUID` (docs/managed-identity.md)",
                    self.name
                )));
            }
            if named > 1 {
                return Err(Error::config(format!(
                    "profile '{}' names more than one of managedIdentityClientId, managedIdentityObjectId and \
                     managedIdentityResourceId",
                    self.name
                ))
                .with_remedy("keep the one that names the user-assigned identity (none for the system-assigned one)"));
            }
            if let Some(id) = &self.managed_identity_client_id {
                validate_guid("managed identity client ID", id)?;
            }
            if let Some(id) = &self.managed_identity_object_id {
                validate_guid("managed identity object ID", id)?;
            }
        }
        if let Some(claims) = &self.pop_claims {
            crate::pop::PopClaims::parse(claims, &format!("profile '{}' (popClaims)", self.name))?;
        }
        if let Some(sub) = &self.subscription_id {
            validate_guid("subscription ID", sub)?;
        }
        if let Some(alg) = &self.assertion_algorithm
            && alg != "PS256"
            && alg != "RS256"
        {
            return Err(Error::config(format!("profile '{}': assertionAlgorithm '{alg}' is not supported", self.name))
                .with_remedy("use \"PS256\" (default) or \"RS256\""));
        }
        if self.auth_method() == AuthMethod::Certificate
            && self.certificate_path.is_none()
            && self.certificate_thumbprint.is_none()
        {
            return Err(Error::config(format!(
                "profile '{}' uses certificate authentication but names no certificate",
                self.name
            ))
            .with_remedy(format!("set it with `entratool config edit -p {} --certificate PATH`", self.name)));
        }
        Ok(())
    }

    /// `validate` for a profile read from profiles.json: a bad field there is
    /// a configuration error (exit 3) that names the file.
    pub fn check_stored(&self, path: &Path) -> Result<()> {
        self.validate().map_err(|e| Error {
            kind: crate::error::Kind::Config,
            message: format!("{} in {}", e.message, path.display()),
            ..e
        })
    }
}

pub fn validate_name(name: &str) -> Result<()> {
    // `.` and `..` are folder names: a cache file or backup named after them would be confusing at best.
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid profile name '{name}'"))
            .with_remedy("use 1 to 64 letters, digits, '.', '_' or '-' (not . or ..)"))
    }
}

pub fn is_guid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

pub fn validate_guid(what: &str, value: &str) -> Result<()> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid {what} '{value}': not a GUID")).with_remedy(
            "give a GUID like 12345678-1234-1234-1234-123456789abc (copy it from the app registration's Overview \
             page in the Azure portal)",
        ))
    }
}

/// A tenant is a GUID or a domain name such as `contoso.onmicrosoft.com`.
pub fn validate_tenant(value: &str) -> Result<()> {
    let is_domain = value.contains('.') && crate::net::is_dns_name(value);
    if is_guid(value) || is_domain {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid tenant ID '{value}': neither a GUID nor a domain name"))
            .with_remedy("give the directory (tenant) ID, a GUID, or a domain such as contoso.onmicrosoft.com"))
    }
}
