//! What the emulator knows: tenants, their apps and credentials, settings,
//! queued faults and what it has seen.

use std::collections::{HashSet, VecDeque};

use openssl::x509::X509;
use serde::Deserialize;
use serde_json::{Value, json};

/// An app registration: its certificates, secrets, and for subject
/// name/issuer auth the trusted CAs and subject names.
pub struct Client {
    pub client_id: String,
    pub certificates: Vec<X509>,
    pub secrets: Vec<String>,
    pub trusted_cas: Vec<X509>,
    pub subject_names: Vec<String>,
    /// Workload identity federation: the tokens of other issuers this app trusts.
    pub federated: Vec<FederatedSpec>,
}

/// A federated identity credential of an app: issuer, subject and audiences
/// must all match the presented token.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FederatedSpec {
    pub issuer: String,
    pub subject: String,
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

fn default_audiences() -> Vec<String> {
    vec!["api://AzureADTokenExchange".to_string()]
}

/// An OIDC issuer whose keys the emulator knows (besides its own).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    pub issuer: String,
    /// A JWKS document, inline…
    #[serde(default)]
    pub jwks: Option<Value>,
    /// …or in a file.
    #[serde(default)]
    pub jwks_file: Option<String>,
}

/// A managed identity this emulated host has.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ManagedIdentitySpec {
    pub client_id: String,
    pub object_id: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// The host's system-assigned identity.
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub tenant: Option<String>,
}

pub struct Tenant {
    pub id: String,
    pub domains: Vec<String>,
    pub clients: Vec<Client>,
}

/// A fault to inject into the next token requests.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// `429`, `500`, `503`, `slow`, `garbage` or `reset`.
    pub kind: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Which endpoint: `token` (default), `identity` (IMDS and App Service) or `oidc` (GitHub, Azure Pipelines).
    #[serde(default)]
    pub target: Option<String>,
}

fn one() -> u32 {
    1
}

pub struct Settings {
    pub token_lifetime: i64,
    pub refresh_in: Option<i64>,
    pub reject_replayed_jti: bool,
    /// Seconds added to the emulator's clock (to test skew).
    pub clock_offset: i64,
    pub resources: Vec<String>,
    /// Lifetime of managed identity tokens (24 h, as Azure's).
    pub identity_token_lifetime: i64,
    /// What `X-IDENTITY-HEADER` must be (App Service).
    pub identity_header: String,
    /// What GitHub's `ACTIONS_ID_TOKEN_REQUEST_TOKEN` must be.
    pub github_request_token: String,
    /// The `sub` of GitHub OIDC tokens.
    pub github_subject: String,
    /// What Azure Pipelines' `SYSTEM_ACCESSTOKEN` must be.
    pub pipelines_access_token: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_lifetime: 3599,
            refresh_in: None,
            reject_replayed_jti: true,
            clock_offset: 0,
            identity_token_lifetime: 86399,
            identity_header: "identity-header-secret".into(),
            github_request_token: "github-request-token".into(),
            github_subject: "repo:contoso/app:ref:refs/heads/main".into(),
            pipelines_access_token: "system-access-token".into(),
            resources: [
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://management.core.windows.net",
                "https://containerregistry.azure.net",
                "https://vault.azure.net",
                "https://storage.azure.com",
                "https://database.windows.net",
                "6dae42f8-4368-4678-94ff-3960e28e3630",
                "499b84ac-1321-427f-aa17-267ca6975798",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

#[derive(Default)]
pub struct State {
    pub tenants: Vec<Tenant>,
    pub settings: Settings,
    pub faults: VecDeque<Fault>,
    pub seen_jti: HashSet<String>,
    pub token_requests: u64,
    pub issued: u64,
    pub rejected: u64,
    pub exchanges: u64,
    pub events: Vec<Value>,
    pub issuers: Vec<IssuerSpec>,
    pub managed_identities: Vec<ManagedIdentitySpec>,
    /// Requests to IMDS / App Service, and to the CI OIDC services.
    pub identity_requests: u64,
    pub oidc_requests: u64,
}

impl State {
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        let wanted = id_or_domain.to_ascii_lowercase();
        self.tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(&wanted) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(&wanted)))
    }

    /// The next queued fault for `target` (`token`, `identity` or `oidc`).
    pub fn next_fault(&mut self, target: &str) -> Option<Fault> {
        let i = self.faults.iter().position(|f| f.target.as_deref().unwrap_or("token") == target)?;
        let front = &mut self.faults[i];
        let fault = front.clone();
        front.count = front.count.saturating_sub(1);
        if front.count == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }

    pub fn record(&mut self, event: Value) {
        if self.events.len() >= 2000 {
            self.events.remove(0);
        }
        self.events.push(event);
    }

    pub fn stats(&self) -> Value {
        json!({
            "tokenRequests": self.token_requests,
            "issued": self.issued,
            "rejected": self.rejected,
            "exchanges": self.exchanges,
            "identityRequests": self.identity_requests,
            "oidcRequests": self.oidc_requests,
            "events": self.events,
        })
    }

    /// Adds or replaces a client from its JSON description (see README).
    pub fn register(&mut self, spec: &ClientSpec) -> Result<(), String> {
        let parse_pems = |pems: &[String]| -> Result<Vec<X509>, String> {
            let mut out = Vec::new();
            for pem in pems {
                let text = if pem.contains("-----BEGIN") {
                    pem.clone().into_bytes()
                } else {
                    std::fs::read(pem).map_err(|e| format!("cannot read {pem}: {e}"))?
                };
                out.extend(X509::stack_from_pem(&text).map_err(|e| format!("bad certificate PEM: {e}"))?);
            }
            Ok(out)
        };
        let client = Client {
            client_id: spec.client_id.to_ascii_lowercase(),
            certificates: parse_pems(&spec.certificates)?,
            secrets: spec.secrets.clone(),
            trusted_cas: parse_pems(&spec.trusted_cas)?,
            subject_names: spec.subject_names.clone(),
            federated: spec.federated_credentials.clone(),
        };
        let tenant_id = spec.tenant.to_ascii_lowercase();
        if self.tenant(&tenant_id).is_none() {
            self.tenants.push(Tenant { id: tenant_id.clone(), domains: spec.domains.clone(), clients: Vec::new() });
        }
        let tenant = self
            .tenants
            .iter_mut()
            .find(|t| t.id == tenant_id || t.domains.iter().any(|d| d.eq_ignore_ascii_case(&tenant_id)))
            .ok_or("tenant vanished")?;
        for d in &spec.domains {
            if !tenant.domains.contains(d) {
                tenant.domains.push(d.clone());
            }
        }
        tenant.clients.retain(|c| c.client_id != client.client_id);
        tenant.clients.push(client);
        Ok(())
    }
}

/// `POST /_emulator/clients` and the config file's `clients` entries.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ClientSpec {
    pub tenant: String,
    #[serde(default)]
    pub domains: Vec<String>,
    pub client_id: String,
    /// PEM text or a path to a PEM file, for each registered certificate.
    #[serde(default)]
    pub certificates: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub trusted_cas: Vec<String>,
    #[serde(default)]
    pub subject_names: Vec<String>,
    #[serde(default)]
    pub federated_credentials: Vec<FederatedSpec>,
}
