//! What the emulator knows: tenants, their apps and credentials, settings,
//! queued faults and what it has seen.

use std::collections::{HashSet, VecDeque};

use openssl::x509::X509;
use serde::Deserialize;
use serde_json::{Value, json};

/// An app registration: its certificates (key credentials), secrets, and for
/// subject name/issuer auth the trusted CAs and subject names.
pub struct Client {
    pub client_id: String,
    /// The application object's id (not the client id): what Graph's proofs name as `iss`.
    pub object_id: String,
    pub certificates: Vec<KeyCredential>,
    pub secrets: Vec<String>,
    pub trusted_cas: Vec<X509>,
    pub subject_names: Vec<String>,
    /// Workload identity federation: the tokens of other issuers this app trusts.
    pub federated: Vec<FederatedSpec>,
    /// Whether the app may read its own application object through Graph
    /// (`Application.Read.All` or ownership); without it, Graph answers 403.
    pub graph_read: bool,
}

/// A certificate registered on an app, as Graph's `keyCredential` shows it.
#[derive(Clone)]
pub struct KeyCredential {
    pub key_id: String,
    pub cert: X509,
    pub display_name: String,
    pub start: i64,
    pub end: i64,
    /// When the token endpoint starts to accept it (Graph's writes replicate
    /// after a while; keys registered by the admin API at once).
    pub accepted_from: i64,
}

impl KeyCredential {
    /// A key for `cert`, accepted from `accepted_from`, named as the portal names uploads.
    pub fn new(cert: X509, display_name: Option<String>, accepted_from: i64) -> KeyCredential {
        let epoch = |t: &openssl::asn1::Asn1TimeRef| {
            openssl::asn1::Asn1Time::from_unix(0)
                .ok()
                .and_then(|e| e.diff(t).ok())
                .map_or(0, |d| d.days as i64 * 86_400 + d.secs as i64)
        };
        let subject = cert
            .subject_name()
            .entries()
            .map(|e| e.data().to_string().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ");
        KeyCredential {
            key_id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.unwrap_or(format!("CN={subject}")),
            start: epoch(cert.not_before()),
            end: epoch(cert.not_after()),
            cert,
            accepted_from,
        }
    }

    /// SHA-1 thumbprint, upper-case hex, as the portal lists it.
    pub fn thumbprint(&self) -> String {
        self.cert
            .digest(openssl::hash::MessageDigest::sha1())
            .map(|d| d.iter().map(|b| format!("{b:02X}")).collect())
            .unwrap_or_default()
    }

    /// Whether the token endpoint accepts it at `now`: replicated, and not expired.
    pub fn accepted(&self, now: i64) -> bool {
        now >= self.accepted_from && now <= self.end
    }

    /// As Graph and `GET /_emulator/clients/{id}/certificates` show it.
    pub fn view(&self) -> Value {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let custom = self.cert.digest(openssl::hash::MessageDigest::sha1()).map(|d| b64.encode(d)).unwrap_or_default();
        json!({
            "keyId": self.key_id,
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "displayName": self.display_name,
            "customKeyIdentifier": custom,
            "thumbprint": self.thumbprint(),
            "startDateTime": rfc3339(self.start),
            "endDateTime": rfc3339(self.end),
        })
    }
}

pub fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
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
    /// Seconds before the token endpoint accepts a key Graph added (replication).
    pub key_replication_delay: i64,
    /// A tenant policy's longest key lifetime, in days (Graph's addKey refuses longer ones).
    pub max_key_lifetime_days: Option<i64>,
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
            key_replication_delay: 0,
            max_key_lifetime_days: None,
            resources: [
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://management.core.windows.net",
                "https://containerregistry.azure.net",
                "https://vault.azure.net",
                "https://storage.azure.com",
                "https://database.windows.net",
                "6dae42f8-4368-4678-94ff-3960e28e3630",
                // Azure Arc's cluster connect (PoP tokens).
                "6256c85f-0aad-4d50-b960-e6e9b21efe35",
                // The token exchange audiences: a managed identity's token for them is an app's federated credential.
                "api://AzureADTokenExchange",
                "api://AzureADTokenExchangeUSGov",
                "api://AzureADTokenExchangeChina",
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

    /// Adds a client from its JSON description (docs/emulator.md), or adds
    /// to an existing one what the description names (certificates, secrets,
    /// federated credentials, trusted CAs, subject names), as the portal's
    /// uploads add.
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
        let client_id = spec.client_id.to_ascii_lowercase();
        let certificates = parse_pems(&spec.certificates)?;
        let trusted_cas = parse_pems(&spec.trusted_cas)?;
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
        if !tenant.clients.iter().any(|c| c.client_id == client_id) {
            // The object id: the one given, else one derived from the client id (stable across runs).
            let object_id = spec
                .object_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, client_id.as_bytes()).to_string());
            tenant.clients.push(Client {
                client_id: client_id.clone(),
                object_id,
                certificates: Vec::new(),
                secrets: Vec::new(),
                trusted_cas: Vec::new(),
                subject_names: Vec::new(),
                federated: Vec::new(),
                graph_read: false,
            });
        }
        let client = tenant.clients.iter_mut().find(|c| c.client_id == client_id).ok_or("client vanished")?;
        for cert in certificates {
            let thumb = KeyCredential::new(cert.clone(), None, 0).thumbprint();
            if !client.certificates.iter().any(|k| k.thumbprint() == thumb) {
                client.certificates.push(KeyCredential::new(cert, None, 0));
            }
        }
        add_new(&mut client.secrets, &spec.secrets);
        add_new(&mut client.subject_names, &spec.subject_names);
        for f in &spec.federated_credentials {
            if !client.federated.iter().any(|x| x.issuer == f.issuer && x.subject == f.subject) {
                client.federated.push(f.clone());
            }
        }
        client.trusted_cas.extend(trusted_cas);
        if let Some(id) = &spec.object_id {
            client.object_id = id.clone();
        }
        if let Some(read) = spec.graph_read {
            client.graph_read = read;
        }
        Ok(())
    }

    /// The client with this id, in any tenant.
    pub fn client_mut(&mut self, client_id: &str) -> Option<&mut Client> {
        let wanted = client_id.to_ascii_lowercase();
        self.tenants.iter_mut().flat_map(|t| t.clients.iter_mut()).find(|c| c.client_id == wanted)
    }
}

fn add_new(list: &mut Vec<String>, more: &[String]) {
    for m in more {
        if !list.contains(m) {
            list.push(m.clone());
        }
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
    /// The application object's id (default: derived from the client id).
    #[serde(default)]
    pub object_id: Option<String>,
    /// Whether Graph lets the app read its own application object.
    #[serde(default)]
    pub graph_read: Option<bool>,
}
