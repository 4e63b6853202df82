//! The Azure host's managed identity: the token comes from an endpoint on the
//! host, never from Entra ID directly. App Service, Functions and Container
//! Apps set `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`; elsewhere (VMs, scale
//! sets, AKS nodes) it is IMDS at `http://169.254.169.254`, or
//! `$AZURE_POD_IDENTITY_AUTHORITY_HOST` as in the Azure SDKs.

use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use super::{AuthContext, Credential, Grant};
use crate::error::{Error, Result};
use crate::http::{self, Route};
use crate::profile::Profile;

pub const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// A user-assigned identity, or the system-assigned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    System,
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

impl Selector {
    pub fn of(profile: &Profile) -> Selector {
        if let Some(id) = &profile.managed_identity_client_id {
            Selector::ClientId(id.clone())
        } else if let Some(id) = &profile.managed_identity_object_id {
            Selector::ObjectId(id.clone())
        } else if let Some(id) = &profile.managed_identity_resource_id {
            Selector::ResourceId(id.clone())
        } else {
            Selector::System
        }
    }

    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            Selector::System => "the system-assigned identity".to_string(),
            Selector::ClientId(id) => format!("the user-assigned identity with client ID {id}"),
            Selector::ObjectId(id) => format!("the user-assigned identity with object ID {id}"),
            Selector::ResourceId(id) => format!("the user-assigned identity {id}"),
        }
    }

    /// The query parameter that names it: IMDS and App Service spell them differently.
    fn param(&self, endpoint: &Endpoint) -> Option<(&'static str, &str)> {
        let app_service = matches!(endpoint, Endpoint::AppService { .. });
        match self {
            Selector::System => None,
            Selector::ClientId(id) => Some(("client_id", id)),
            Selector::ObjectId(id) => Some((if app_service { "principal_id" } else { "object_id" }, id)),
            Selector::ResourceId(id) => Some((if app_service { "mi_res_id" } else { "msi_res_id" }, id)),
        }
    }
}

/// Which endpoint this host offers.
#[derive(Debug, Clone)]
pub enum Endpoint {
    AppService { url: String, header: Zeroizing<String> },
    Imds { host: String },
}

impl Endpoint {
    /// From the environment, as the Azure SDKs decide.
    pub fn from_env() -> Endpoint {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            (Some(url), Some(header)) => Endpoint::AppService { url, header: Zeroizing::new(header) },
            _ => Endpoint::Imds {
                host: var("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                    .map(|h| h.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| IMDS_HOST.to_string()),
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::AppService { .. } => "the App Service managed identity endpoint",
            Endpoint::Imds { .. } => "the Azure Instance Metadata Service (IMDS)",
        }
    }

    /// The request URL for `resource`, without the header.
    pub fn url(&self, resource: &str, selector: &Selector) -> Result<Url> {
        let (base, api) = match self {
            Endpoint::AppService { url, .. } => (url.clone(), "2019-08-01"),
            Endpoint::Imds { host } => (format!("{host}{IMDS_PATH}"), "2018-02-01"),
        };
        let mut url = Url::parse(&base).map_err(|e| {
            Error::config(format!("invalid managed identity endpoint '{base}'"))
                .with_source(e)
                .with_remedy("check IDENTITY_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST")
        })?;
        check_local(&url)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", api).append_pair("resource", resource);
            if let Some((k, v)) = selector.param(self) {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }
}

/// Managed identity endpoints live on the host: plain http is allowed only
/// to loopback and link-local addresses; anything else must be https.
fn check_local(url: &Url) -> Result<()> {
    if url.scheme() == "https" || (url.scheme() == "http" && crate::net::is_on_this_host(url)) {
        return Ok(());
    }
    Err(Error::config(format!("refusing managed identity endpoint {url}: plain http leaves this host"))
        .with_remedy("managed identity endpoints are on the host itself (loopback or 169.254.169.254)"))
}

#[derive(Debug, Clone)]
pub struct ManagedIdentityCredential {
    pub selector: Selector,
    pub endpoint: Endpoint,
}

impl ManagedIdentityCredential {
    pub fn new(profile: &Profile) -> ManagedIdentityCredential {
        ManagedIdentityCredential { selector: Selector::of(profile), endpoint: Endpoint::from_env() }
    }
}

impl Credential for ManagedIdentityCredential {
    fn identity(&self) -> Result<String> {
        let endpoint = match &self.endpoint {
            Endpoint::AppService { url, .. } => format!("appservice:{url}"),
            Endpoint::Imds { host } => format!("imds:{host}"),
        };
        Ok(format!("managedIdentity|{endpoint}|{:?}", self.selector))
    }

    fn get_token(&self, scope: &str, _ctx: &mut AuthContext) -> Result<Grant> {
        // The endpoints take a resource, not a scope.
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let url = self.endpoint.url(resource, &self.selector)?;
        let what = self.endpoint.name();
        let resp = http::send(Route::ManagedIdentity, &url, what, |c| match &self.endpoint {
            Endpoint::AppService { header, .. } => c.get(url.clone()).header("X-IDENTITY-HEADER", header.as_str()),
            Endpoint::Imds { .. } => c.get(url.clone()).header("Metadata", "true"),
        })?;
        interpret(resp.status, &resp.body, crate::clock::now(), what, &self.selector)
    }
}

/// What a managed identity endpoint's answer means: a grant (its token still
/// to be checked by the token source), or the user's error. Never panics,
/// whatever the endpoint sends (fuzzed: fuzz/fuzz_targets/managed_identity.rs).
pub fn interpret(status: u16, body: &str, now: i64, what: &str, selector: &Selector) -> Result<Grant> {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if status != 200 {
        return Err(refusal(status, &body, what, selector));
    }
    let granted = parse(&body, now)
        .ok_or_else(|| Error::unavailable(format!("{what} answered 200 without access_token and expiry")))?;
    Ok(Grant { label: format!("managed identity ({})", selector.describe()), ..granted })
}

/// `access_token` and `expires_on` (epoch seconds, string or number), else `expires_in`.
fn parse(body: &Value, now: i64) -> Option<Grant> {
    let number = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    let token = body["access_token"].as_str().filter(|t| !t.is_empty())?;
    let expires_in = match number(&body["expires_on"]) {
        Some(on) => on.saturating_sub(now),
        None => number(&body["expires_in"])?,
    };
    Some(Grant { access_token: token.to_string(), expires_in, refresh_in: None, label: String::new() })
}

/// A 4xx answer: `Identity not found` names the identity asked for.
fn refusal(status: u16, body: &Value, what: &str, selector: &Selector) -> Error {
    let detail = body["error_description"].as_str().or(body["message"].as_str()).or(body["error"].as_str());
    let detail = detail.unwrap_or("no description").lines().next().unwrap_or("").to_string();
    if detail.to_ascii_lowercase().contains("identity not found") {
        return Error::rejected(format!(
            "{what}: Identity not found: {} (HTTP {status}: {detail})",
            selector.describe()
        ))
        .with_remedy(
            "assign that identity to this VM, scale set, node pool or app, or correct managedIdentityClientId \
                 / managedIdentityObjectId / managedIdentityResourceId",
        );
    }
    Error::rejected(format!("{what} refused the request (HTTP {status}: {detail})"))
        .with_remedy("check that a managed identity is assigned to this host and that the scope's resource exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expires_on_as_string_or_number_else_expires_in() {
        let b = serde_json::json!({"access_token": "t", "expires_on": "1100", "expires_in": "5"});
        assert_eq!(parse(&b, 1000).unwrap().expires_in, 100);
        let b = serde_json::json!({"access_token": "t", "expires_on": 1200});
        assert_eq!(parse(&b, 1000).unwrap().expires_in, 200);
        let b = serde_json::json!({"access_token": "t", "expires_in": 3599});
        assert_eq!(parse(&b, 1000).unwrap().expires_in, 3599);
        assert!(parse(&serde_json::json!({"expires_in": 1}), 0).is_none());
    }

    #[test]
    fn selector_parameters_per_endpoint() {
        let imds = Endpoint::Imds { host: IMDS_HOST.into() };
        let app =
            Endpoint::AppService { url: "http://127.0.0.1:8081/msi/token".into(), header: Zeroizing::new("h".into()) };
        let obj = Selector::ObjectId("o".into());
        assert!(imds.url("https://vault.azure.net", &obj).unwrap().as_str().ends_with(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&object_id=o"
        ));
        assert!(app.url("r", &obj).unwrap().as_str().ends_with("?api-version=2019-08-01&resource=r&principal_id=o"));
        let res = Selector::ResourceId("/sub/x".into());
        assert!(app.url("r", &res).unwrap().as_str().contains("mi_res_id="));
        assert!(imds.url("r", &res).unwrap().as_str().contains("msi_res_id="));
        let remote = Endpoint::Imds { host: "http://example.com".into() };
        assert!(remote.url("r", &Selector::System).is_err(), "plain http off the host is refused");
    }
}
