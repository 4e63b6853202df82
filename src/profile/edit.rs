//! A change to a profile (what `config create` and `config edit` were
//! given): only what is given changes.

use std::path::{Path, PathBuf};

use super::{AuthMethod, MatchEntry, Profile};
use crate::error::{Error, Result};

/// A change to a profile: only what is given changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edit {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub certificate: Option<PathBuf>,
    pub certificate_key: Option<PathBuf>,
    pub certificate_thumbprint: Option<String>,
    /// The method, when it is not implied by a certificate.
    pub method: Option<AuthMethod>,
    pub federated_token_file: Option<PathBuf>,
    pub service_connection_id: Option<String>,
    pub managed_identity_client_id: Option<String>,
    pub managed_identity_object_id: Option<String>,
    pub managed_identity_resource_id: Option<String>,
    pub federated_audience: Option<String>,
    pub pop_claims: Option<String>,
    pub scope: Option<String>,
    pub cloud: Option<String>,
    pub authority_host: Option<String>,
    pub matches: Vec<String>,
    pub send_certificate_chain: bool,
    pub assertion_algorithm: Option<String>,
    pub subscription_id: Option<String>,
}

fn absolute(path: &Path) -> Result<String> {
    let abs = std::path::absolute(path)
        .map_err(|e| Error::usage(format!("cannot resolve the path {}", path.display())).with_source(e))?;
    Ok(abs.to_string_lossy().into_owned())
}

impl Profile {
    /// Applies a change (what `config create` and `config edit` were given).
    pub fn apply(&mut self, e: &Edit) -> Result<()> {
        if let Some(v) = &e.client_id {
            self.client_id = v.clone();
        }
        if let Some(v) = &e.tenant_id {
            self.tenant_id = v.clone();
        }
        if let Some(path) = &e.certificate {
            self.certificate_path = Some(absolute(path)?);
            self.certificate_thumbprint = None;
            self.set_auth_method(AuthMethod::Certificate);
        }
        if let Some(key) = &e.certificate_key {
            self.certificate_key_path = Some(absolute(key)?);
        }
        if let Some(t) = &e.certificate_thumbprint {
            self.certificate_thumbprint = Some(t.replace([' ', ':'], "").to_ascii_uppercase());
            self.certificate_path = None;
            self.certificate_key_path = None;
            self.set_auth_method(AuthMethod::Certificate);
        }
        if let Some(m) = e.method {
            self.set_auth_method(m);
        }
        if let Some(path) = &e.federated_token_file {
            self.federated_token_file = Some(absolute(path)?);
        }
        if let Some(v) = &e.service_connection_id {
            self.service_connection_id = Some(v.clone());
        }
        // One identity is named at a time: naming one replaces the other two.
        let named = [&e.managed_identity_client_id, &e.managed_identity_object_id, &e.managed_identity_resource_id];
        if named.iter().any(|n| n.is_some()) {
            self.managed_identity_client_id = e.managed_identity_client_id.clone();
            self.managed_identity_object_id = e.managed_identity_object_id.clone();
            self.managed_identity_resource_id = e.managed_identity_resource_id.clone();
        }
        if let Some(v) = &e.federated_audience {
            self.federated_audience = Some(v.clone());
        }
        if let Some(v) = &e.pop_claims {
            crate::pop::PopClaims::parse(v, "--pop-claims")?;
            self.pop_claims = Some(v.clone());
        }
        if let Some(v) = &e.scope {
            self.scope = Some(v.clone());
        }
        if let Some(v) = &e.cloud {
            crate::entra::cloud_authority(v)?;
            self.cloud = Some(v.clone());
        }
        if let Some(v) = &e.authority_host {
            crate::http::check_url(v)?;
            self.authority_host = Some(v.trim_end_matches('/').to_string());
        }
        for m in &e.matches {
            if !self.matches.iter().any(|x| x.pattern() == m) {
                self.matches.push(MatchEntry::Pattern(m.clone()));
            }
        }
        if e.send_certificate_chain {
            self.send_certificate_chain = Some(true);
        }
        if let Some(v) = &e.assertion_algorithm {
            self.assertion_algorithm = Some(v.to_ascii_uppercase());
        }
        if let Some(v) = &e.subscription_id {
            self.subscription_id = Some(v.clone());
        }
        Ok(())
    }
}
