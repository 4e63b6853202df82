//! Federated credentials: a short-lived token from another issuer that Entra
//! ID trusts (workload identity federation), sent unmodified as the client
//! assertion. Four places give such a token: a file the kubelet rotates (AKS
//! workload identity, any OIDC issuer), GitHub Actions' OIDC service, Azure
//! Pipelines' OIDC service for a service connection, and the host's managed
//! identity (a user-assigned identity the app registration trusts). CI tokens
//! live minutes: a fresh one is asked for every Entra token request and never
//! kept; a managed identity's lives hours and is cached under its own key.

use std::path::PathBuf;

use serde_json::Value;
use zeroize::Zeroizing;

use super::managed_identity::ManagedIdentityCredential;
use super::{AuthContext, Credential, Grant, assertion_fields};
use crate::entra::{ClientApp, FederatedClaims, HintFacts};
use crate::error::{Error, Result};
use crate::fsutil::{self, ReadError};
use crate::http::{self, Route};
use crate::profile::{AuthMethod, Profile};

/// The audience Entra ID expects in federated tokens.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
/// A federated token file larger than this is not a token.
pub const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Where the federated token comes from.
#[derive(Debug, Clone)]
pub enum Issuer {
    /// workloadIdentity: a file, read afresh for every request.
    File(PathBuf),
    /// githubActions: the job's OIDC service, for this audience.
    GithubActions { audience: String },
    /// azurePipelines: the job's OIDC service, for this service connection.
    AzurePipelines { service_connection: String },
    /// managedIdentityFederation: the host's managed identity, for the token exchange audience.
    ManagedIdentity { identity: ManagedIdentityCredential, audience: String },
}

pub struct FederatedCredential {
    pub app: ClientApp,
    pub issuer: Issuer,
}

/// The token exchange audience of a cloud (section 10): what a managed
/// identity's token must be for, to be an app's federated credential.
pub fn exchange_audience(cloud: Option<&str>) -> &'static str {
    match cloud.map(str::to_ascii_lowercase).as_deref() {
        Some("azureusgovernment" | "azureusgovernmentcloud" | "usgov") => "api://AzureADTokenExchangeUSGov",
        Some("azurechinacloud" | "china") => "api://AzureADTokenExchangeChina",
        _ => DEFAULT_AUDIENCE,
    }
}

/// A variable the credential needs, or exit 4 naming it and the fix.
fn required_var(name: &str, fix: &str) -> Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::credential(format!("{name} is not set")).with_remedy(fix.to_string()))
}

const WORKLOAD_IDENTITY_FIX: &str = "on AKS, label the pod `azure.workload.identity/use: \"true\"` and run it with a \
                                     service account annotated `azure.workload.identity/client-id` (the webhook then \
                                     sets AZURE_FEDERATED_TOKEN_FILE); elsewhere set federatedTokenFile in the \
                                     profile (docs/kubernetes.md)";
const GITHUB_FIX: &str = "give the workflow or job `permissions: id-token: write` (GitHub then sets \
                          ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN; docs/ci.md)";
const PIPELINES_TOKEN_FIX: &str =
    "pass the job's token to the step: `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)` (docs/ci.md)";
const PIPELINES_URI_FIX: &str = "run it in an Azure Pipelines job (the agent sets SYSTEM_OIDCREQUESTURI)";
const SERVICE_CONNECTION_FIX: &str = "set serviceConnectionId in the profile (`entratool config edit -p NAME \
                                      --service-connection-id ID`), or run inside an AzureCLI@2 or AzurePowerShell@5 \
                                      task, which sets AZURESUBSCRIPTION_SERVICE_CONNECTION_ID";

impl FederatedCredential {
    /// The federated credential of a profile whose method is one of the
    /// three (workload identity, GitHub Actions, Azure Pipelines).
    pub fn for_profile(profile: &Profile) -> Result<Self> {
        match profile.auth_method() {
            AuthMethod::WorkloadIdentity => Self::workload_identity(profile),
            AuthMethod::GithubActions => Self::github_actions(profile),
            AuthMethod::AzurePipelines => Self::azure_pipelines(profile),
            AuthMethod::ManagedIdentityFederation => Self::managed_identity(profile),
            other => {
                Err(Error::config(format!("profile '{}' uses {}, not a federated token", profile.name, other.label())))
            }
        }
    }

    pub fn workload_identity(profile: &Profile) -> Result<Self> {
        let path = match &profile.federated_token_file {
            Some(p) => p.clone(),
            None => required_var("AZURE_FEDERATED_TOKEN_FILE", WORKLOAD_IDENTITY_FIX)?,
        };
        Ok(FederatedCredential { app: profile.client_app()?, issuer: Issuer::File(PathBuf::from(path)) })
    }

    pub fn github_actions(profile: &Profile) -> Result<Self> {
        let audience = profile.federated_audience.clone().unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        Ok(FederatedCredential { app: profile.client_app()?, issuer: Issuer::GithubActions { audience } })
    }

    pub fn azure_pipelines(profile: &Profile) -> Result<Self> {
        let service_connection = match &profile.service_connection_id {
            Some(id) => id.clone(),
            None => required_var("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", SERVICE_CONNECTION_FIX)?,
        };
        Ok(FederatedCredential { app: profile.client_app()?, issuer: Issuer::AzurePipelines { service_connection } })
    }

    pub fn managed_identity(profile: &Profile) -> Result<Self> {
        let audience = profile
            .federated_audience
            .clone()
            .unwrap_or_else(|| exchange_audience(profile.cloud.as_deref()).to_string());
        let identity = ManagedIdentityCredential::new(profile);
        Ok(FederatedCredential { app: profile.client_app()?, issuer: Issuer::ManagedIdentity { identity, audience } })
    }

    /// The federated token, fetched or read now (a managed identity's from the cache when it can).
    pub fn federated_token(&self, ctx: &mut AuthContext) -> Result<Zeroizing<String>> {
        match &self.issuer {
            Issuer::File(path) => read_token_file(path),
            Issuer::GithubActions { audience } => github_token(audience),
            Issuer::AzurePipelines { service_connection } => pipelines_token(service_connection),
            Issuer::ManagedIdentity { identity, audience } => identity_token(identity, audience, ctx)
                .map_err(|e| step(e, 1, &format!("the managed identity's token for {audience}"))),
        }
    }
}

/// The managed identity's token for the exchange audience, cached under its own key.
fn identity_token(
    identity: &ManagedIdentityCredential,
    audience: &str,
    ctx: &mut AuthContext,
) -> Result<Zeroizing<String>> {
    let scope = format!("{audience}/.default");
    let mut fetch = || identity.get_token(&scope, &mut AuthContext::default());
    let grant = match ctx.inner {
        Some(cache) => cache.get_or_fetch([&identity.identity()?, &scope], &mut ctx.warnings, &mut fetch)?,
        None => fetch()?,
    };
    Ok(Zeroizing::new(grant.access_token))
}

/// An error of one of the two steps of managed identity federation, named.
fn step(mut e: Error, n: u8, what: &str) -> Error {
    e.message = format!("step {n} of 2 ({what}) failed: {}", e.message);
    e
}

impl Credential for FederatedCredential {
    fn identity(&self) -> Result<String> {
        let which = match &self.issuer {
            Issuer::File(path) => format!("workloadIdentity:{}", path.display()),
            Issuer::GithubActions { audience } => format!("githubActions:{audience}"),
            Issuer::AzurePipelines { service_connection } => format!("azurePipelines:{service_connection}"),
            Issuer::ManagedIdentity { identity, audience } => {
                format!("managedIdentityFederation:{audience}:{}", identity.identity()?)
            }
        };
        Ok(format!("{}|{which}", self.app.identity()))
    }

    fn get_token(&self, scope: &str, ctx: &mut AuthContext) -> Result<Grant> {
        let token = self.federated_token(ctx)?;
        let presented = FederatedClaims::of(&token).ok_or_else(|| not_a_jwt(&self.issuer))?;
        let hints = HintFacts { federated: Some(presented), ..Default::default() };
        let granted = self.app.request_token(scope, &assertion_fields(token), &hints, None);
        let label = match &self.issuer {
            Issuer::File(_) => "workload identity".to_string(),
            Issuer::GithubActions { .. } => "github actions oidc".to_string(),
            Issuer::AzurePipelines { .. } => "azure pipelines oidc".to_string(),
            Issuer::ManagedIdentity { identity, .. } => {
                let granted =
                    granted.map_err(|e| step(e, 2, "the app's token, with the identity's as its assertion"))?;
                return Ok(Grant::labelled(
                    granted,
                    format!("managed identity federation ({})", identity.selector.describe()),
                ));
            }
        };
        Ok(Grant::labelled(granted?, label))
    }
}

fn not_a_jwt(issuer: &Issuer) -> Error {
    let from = match issuer {
        Issuer::File(path) => format!("the federated token file {}", path.display()),
        Issuer::GithubActions { .. } => "GitHub's OIDC service".to_string(),
        Issuer::AzurePipelines { .. } => "Azure Pipelines' OIDC service".to_string(),
        Issuer::ManagedIdentity { .. } => "the managed identity endpoint".to_string(),
    };
    Error::credential(format!("{from} did not give a JWT")).with_remedy(match issuer {
        Issuer::File(_) => {
            "point federatedTokenFile (or AZURE_FEDERATED_TOKEN_FILE) at the projected service account \
                            token, which holds one JWT"
        }
        _ => "check the job's OIDC settings (docs/ci.md)",
    })
}

/// The token file, trimmed: regular, at most 64 KiB, not empty.
pub fn read_token_file(path: &std::path::Path) -> Result<Zeroizing<String>> {
    let shown = path.display();
    let fix = "point federatedTokenFile (or AZURE_FEDERATED_TOKEN_FILE) at the projected service account token \
               (docs/kubernetes.md)";
    let bytes = fsutil::read_regular(path, MAX_TOKEN_FILE, fsutil::Links::Follow).map_err(|e| {
        let err = match e {
            ReadError::Io(io) => {
                Error::credential(format!("cannot read the federated token file {shown}")).with_source(io)
            }
            ReadError::NotRegular => {
                Error::credential(format!("the federated token file {shown} is not a regular file"))
            }
            ReadError::TooLarge(n) => Error::credential(format!(
                "the federated token file {shown} is {n} bytes, more than a token ({MAX_TOKEN_FILE} at most)"
            )),
            ReadError::Untrusted(e) => e,
        };
        err.with_remedy(fix)
    })?;
    let bytes = Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::credential(format!("the federated token file {shown} is not text")).with_remedy(fix))?;
    let token = Zeroizing::new(text.trim().to_string());
    if token.is_empty() {
        return Err(Error::credential(format!("the federated token file {shown} is empty")).with_remedy(
            "the kubelet writes it when the pod starts: check the pod's projected volume (docs/kubernetes.md)",
        ));
    }
    Ok(token)
}

/// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD`, answer `{"value": JWT}`.
fn github_token(audience: &str) -> Result<Zeroizing<String>> {
    let base = required_var("ACTIONS_ID_TOKEN_REQUEST_URL", GITHUB_FIX)?;
    let bearer = Zeroizing::new(required_var("ACTIONS_ID_TOKEN_REQUEST_TOKEN", GITHUB_FIX)?);
    let mut url = http::check_url(&base)?;
    url.query_pairs_mut().append_pair("audience", audience);
    let auth = Zeroizing::new(format!("bearer {}", bearer.as_str()));
    let resp = http::send(Route::Internet, &url, "GitHub's OIDC service", |c| {
        c.get(url.clone()).header("Authorization", auth.as_str()).header("Accept", "application/json; api-version=2.0")
    })?;
    oidc_answer(resp, "value", "GitHub's OIDC service", GITHUB_FIX)
}

/// Azure Pipelines: `POST $SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=ID`, answer `{"oidcToken": JWT}`.
fn pipelines_token(service_connection: &str) -> Result<Zeroizing<String>> {
    let base = required_var("SYSTEM_OIDCREQUESTURI", PIPELINES_URI_FIX)?;
    let access = Zeroizing::new(required_var("SYSTEM_ACCESSTOKEN", PIPELINES_TOKEN_FIX)?);
    let mut url = http::check_url(&base)?;
    url.query_pairs_mut().append_pair("api-version", "7.1").append_pair("serviceConnectionId", service_connection);
    let auth = Zeroizing::new(format!("Bearer {}", access.as_str()));
    let what = "Azure Pipelines' OIDC service";
    let resp = http::send(Route::Internet, &url, what, |c| {
        c.post(url.clone())
            .header("Authorization", auth.as_str())
            .header("Content-Type", "application/json")
            .header("X-TFS-FedAuthRedirect", "Suppress")
            .body(Vec::new())
    })?;
    oidc_answer(resp, "oidcToken", what, PIPELINES_TOKEN_FIX)
}

/// The JWT in field `field` of a 200 JSON answer; anything else, an error
/// that says what came instead (Azure Pipelines answers 203 with a sign-in
/// page when its token is wrong), never the body itself. Never panics
/// (fuzzed: fuzz/fuzz_targets/oidc_answer.rs).
pub fn oidc_answer(resp: http::Response, field: &str, what: &str, fix: &str) -> Result<Zeroizing<String>> {
    let body = Zeroizing::new(resp.body);
    let looks_html = body.trim_start().starts_with('<');
    match resp.status {
        200 => {}
        203 | 401 | 403 => {
            return Err(Error::credential(format!(
                "{what} refused the job's token (HTTP {}{})",
                resp.status,
                if looks_html { ", a sign-in page" } else { "" }
            ))
            .with_remedy(fix.to_string()));
        }
        404 => {
            return Err(Error::credential(format!("{what} answered HTTP 404"))
                .with_remedy("check the service connection ID and that the job may use it"));
        }
        status => return Err(Error::unavailable(format!("{what} answered HTTP {status}"))),
    }
    let value: Value = serde_json::from_str(&body).map_err(|_| {
        Error::unavailable(format!(
            "{what} answered 200 with something that is not JSON{}",
            if looks_html { " (an HTML page)" } else { "" }
        ))
    })?;
    match value[field].as_str().filter(|t| t.split('.').count() == 3) {
        Some(t) => Ok(Zeroizing::new(t.to_string())),
        None => Err(Error::unavailable(format!("{what} answered without a token in \"{field}\""))),
    }
}
