//! A profile and its fields, as profiles.json holds them (unknown fields
//! kept), and the environment profile made from the Azure SDK variables.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::AuthMethod;
use crate::error::Result;

/// One entry of a profile's `match` list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum MatchEntry {
    Pattern(String),
    Detailed {
        pattern: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
}

impl MatchEntry {
    pub fn pattern(&self) -> &str {
        match self {
            MatchEntry::Pattern(p) => p,
            MatchEntry::Detailed { pattern, .. } => pattern,
        }
    }
    pub fn scope(&self) -> Option<&str> {
        match self {
            MatchEntry::Pattern(_) => None,
            MatchEntry::Detailed { scope, .. } => scope.as_deref(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    /// Required but for managed identities (checked by `validate`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_key_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_store_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_certificate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_certificate_chain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<MatchEntry>,
    /// workloadIdentity: the token file (else `$AZURE_FEDERATED_TOKEN_FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_token_file: Option<String>,
    /// githubActions (and azurePipelines): the audience of the OIDC token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_audience: Option<String>,
    /// azurePipelines: the service connection (else `$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connection_id: Option<String>,
    /// managedIdentity, user-assigned: one of these three; none = system-assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_auth: Option<String>,
    /// The key id Graph gave the certificate (`addKey`), for `cert rotate --remove-old` later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_key_id: Option<String>,
    /// The certificate before the last rotation, kept for `cert prune`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_certificate_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_certificate_key_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_certificate_key_id: Option<String>,
    /// The application object's id (not the client id): what Graph's proofs name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_object_id: Option<String>,
    /// Where the secret is when no store of entratool's holds it (a kubeconfig's
    /// exec env, where `setup kubectl --from-kubelogin` left it): said by
    /// `config show` and by the error of a run that cannot see it. Never the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_in: Option<String>,
    /// Arc clusters: the proof-of-possession claims (`u=<ARM ID>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop_claims: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The environment profile (`env`): made from the Azure SDK variables,
    /// its secrets read from them too, never from the keyring.
    #[serde(skip)]
    pub from_environment: bool,
}

/// The name of the profile made from the environment.
pub const ENV_PROFILE: &str = "env";

impl Profile {
    /// The environment profile, in DefaultAzureCredential's order:
    /// `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` with `AZURE_CLIENT_SECRET`, else
    /// `AZURE_CLIENT_CERTIFICATE_PATH`, else `AZURE_FEDERATED_TOKEN_FILE`. Its
    /// `match` entries are `$ENTRATOOL_MATCH` (comma-separated). None when
    /// the variables do not make one.
    pub fn from_env() -> Option<Profile> {
        let var = |n: &str| std::env::var(n).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (client_id, tenant_id) = (var("AZURE_CLIENT_ID")?, var("AZURE_TENANT_ID")?);
        let mut p =
            Profile { name: ENV_PROFILE.into(), client_id, tenant_id, from_environment: true, ..Default::default() };
        if var("AZURE_CLIENT_SECRET").is_some() {
            p.auth_method = Some(AuthMethod::Secret.label().into());
        } else if let Some(path) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
            p.auth_method = Some(AuthMethod::Certificate.label().into());
            p.certificate_path = Some(path);
        } else if let Some(path) = var("AZURE_FEDERATED_TOKEN_FILE") {
            p.auth_method = Some(AuthMethod::WorkloadIdentity.label().into());
            p.federated_token_file = Some(path);
        } else {
            return None;
        }
        p.matches = var("ENTRATOOL_MATCH")
            .map(|m| {
                m.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| MatchEntry::Pattern(x.into())).collect()
            })
            .unwrap_or_default();
        Some(p)
    }
}

impl Profile {
    /// The profile's authority host (`authorityHost`, else `cloud`, else the
    /// environment's, else the public cloud).
    pub fn authority(&self) -> Result<String> {
        crate::entra::authority_host(self.authority_host.as_deref(), self.cloud.as_deref())
    }

    /// Its app registration at that authority, for the Entra client.
    pub fn client_app(&self) -> Result<crate::entra::ClientApp> {
        Ok(crate::entra::ClientApp {
            authority: self.authority()?,
            tenant: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
        })
    }

    /// The default scope: `scope`, else the first of `scopes`.
    pub fn default_scope(&self) -> Option<&str> {
        self.scope.as_deref().or_else(|| self.scopes.as_ref().and_then(|s| s.first()).map(String::as_str))
    }
}
