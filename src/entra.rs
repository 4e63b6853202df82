//! The Entra ID client: the v2.0 token endpoint, where it is (the cloud
//! table), what to send, and what its answers mean (AADSTS errors become
//! messages with a remedy). A leaf above HTTP: it takes plain values, never
//! a profile, so profiles and credentials build on it and it on nothing of
//! theirs (docs/architecture.md).

use serde_json::Value;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http;

pub const PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";

/// Azure Resource Manager's scope as `az` asks for it (its default resource
/// `https://management.core.windows.net/`): the az shim's default, and doctor's.
pub const RESOURCE_MANAGER_SCOPE: &str = "https://management.core.windows.net/.default";

/// Authority host: an explicit `authority_host` (a profile's `authorityHost`),
/// else `cloud`'s, else `$AZURE_AUTHORITY_HOST`, else the public cloud. No
/// trailing slash.
pub fn authority_host(authority_host: Option<&str>, cloud: Option<&str>) -> Result<String> {
    let host = if let Some(h) = authority_host.filter(|h| !h.is_empty()) {
        h.to_string()
    } else if let Some(cloud) = cloud.filter(|c| !c.is_empty()) {
        cloud_authority(cloud)?.to_string()
    } else if let Some(env) = std::env::var("AZURE_AUTHORITY_HOST").ok().filter(|h| !h.is_empty()) {
        env
    } else {
        PUBLIC_CLOUD.to_string()
    };
    let host = host.trim_end_matches('/').to_string();
    http::check_url(&host)?;
    Ok(host)
}

pub fn cloud_authority(cloud: &str) -> Result<&'static str> {
    match cloud.to_ascii_lowercase().as_str() {
        "azurepubliccloud" | "azurecloud" | "public" => Ok(PUBLIC_CLOUD),
        "azureusgovernment" | "azureusgovernmentcloud" | "usgov" => Ok("https://login.microsoftonline.us"),
        "azurechinacloud" | "china" => Ok("https://login.chinacloudapi.cn"),
        other => Err(Error::config(format!("unknown cloud '{other}'"))
            .with_remedy("use AzurePublicCloud, AzureUSGovernment or AzureChinaCloud, or set authorityHost")),
    }
}

pub fn token_endpoint(authority: &str, tenant: &str) -> String {
    format!("{authority}/{tenant}/oauth2/v2.0/token")
}

/// An app registration at an authority: where client credentials go.
#[derive(Debug, Clone)]
pub struct ClientApp {
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
}

impl ClientApp {
    pub fn endpoint(&self) -> String {
        token_endpoint(&self.authority, &self.tenant)
    }

    /// The part of a cache key that names the app.
    pub fn identity(&self) -> String {
        format!("entra|{}|{}|{}", self.authority, self.tenant, self.client_id)
    }

    /// The client-credentials grant: `client_id`, `scope`, `grant_type` and
    /// the fields that authenticate the client (a secret or an assertion);
    /// with `pop` (a `req_cnf`), a proof-of-possession token bound to that key.
    pub fn request_token(
        &self,
        scope: &str,
        auth: &[(&str, Zeroizing<String>)],
        hints: &HintFacts,
        pop: Option<&str>,
    ) -> Result<Granted> {
        let endpoint = self.endpoint();
        let mut form: Vec<(&str, &str)> =
            vec![("client_id", &self.client_id), ("scope", scope), ("grant_type", "client_credentials")];
        form.extend(auth.iter().map(|(k, v)| (*k, v.as_str())));
        if let Some(req_cnf) = pop {
            form.extend([("token_type", "pop"), ("req_cnf", req_cnf)]);
        }
        let granted = request(&endpoint, &form, &self.client_id, hints)?;
        if pop.is_some() && !granted.pop {
            // A bearer token in an SHR is refused by the cluster: say so here instead.
            return Err(Error::rejected(format!(
                "Entra ID at {endpoint} answered a PoP token request with a bearer token"
            ))
            .with_remedy("check authorityHost: PoP tokens come from Entra ID itself (login.microsoftonline.com or the national clouds)"));
        }
        Ok(granted)
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_in: Option<i64>,
    /// `token_type` is `pop`: the token is bound to the key of the request's `req_cnf`.
    pub pop: bool,
}

/// What a refusal's hint can show besides the code: the profile, the
/// certificate that was used (SHA-1, what the portal lists; SHA-256, what
/// Entra's own message shows for a PS256 assertion), or the claims of the
/// federated token presented.
#[derive(Debug, Clone, Default)]
pub struct HintFacts {
    pub profile: Option<String>,
    pub thumbprint: Option<String>,
    pub thumbprint_sha256: Option<String>,
    pub federated: Option<FederatedClaims>,
}

/// The claims of a federated token that its app's federated credential must match.
#[derive(Debug, Clone, Default)]
pub struct FederatedClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: Option<i64>,
}

impl FederatedClaims {
    /// Decoded from the token (never shown whole).
    pub fn of(jwt: &str) -> Option<FederatedClaims> {
        let c = crate::codec::jwt_claims(jwt)?;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
            _ => String::new(),
        };
        Some(FederatedClaims {
            iss: text(&c["iss"]),
            sub: text(&c["sub"]),
            aud: text(&c["aud"]),
            exp: seconds(&c["exp"]),
        })
    }
}

/// POSTs the client-credentials form and reads the answer.
/// Every attempt carries a fresh `client-request-id` and asks for it back
/// (`return-client-request-id`), as MSAL does: Entra ID logs it as the
/// request's correlation ID, which Microsoft support asks for.
pub fn request(endpoint: &str, form: &[(&str, &str)], client_id: &str, hints: &HintFacts) -> Result<Granted> {
    let url = http::check_url(endpoint)?;
    let resp = http::send(http::Route::Internet, &url, "Entra ID", |c| {
        let id = uuid::Uuid::new_v4().to_string();
        crate::trace!("client-request-id {id}");
        c.post(url.clone()).form(form).header("client-request-id", id).header("return-client-request-id", "true")
    })?;
    interpret(resp.status, &resp.body, endpoint, client_id, hints)
}

/// What an answer of the token endpoint means: a token, or the user's error.
pub fn interpret(status: u16, body: &str, endpoint: &str, client_id: &str, hints: &HintFacts) -> Result<Granted> {
    let body: Value = serde_json::from_str(body).map_err(|_| {
        Error::unavailable(format!("Entra ID at {endpoint} answered HTTP {status} with something that is not JSON"))
            .with_remedy("check authorityHost and any proxy in between")
    })?;
    if status == 200 {
        return parse_granted(&body, endpoint);
    }
    Err(rejection(&body, status, client_id, hints))
}

fn seconds(v: &Value) -> Option<i64> {
    // Some endpoints send numbers as strings, or as floats.
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn parse_granted(body: &Value, endpoint: &str) -> Result<Granted> {
    let token = body["access_token"].as_str().filter(|t| !t.is_empty());
    let expires_in = seconds(&body["expires_in"]);
    match (token, expires_in) {
        (Some(t), Some(e)) => {
            let pop = body["token_type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("pop"));
            Ok(Granted { access_token: t.to_string(), expires_in: e, refresh_in: seconds(&body["refresh_in"]), pop })
        }
        _ => Err(Error::unavailable(format!("Entra ID at {endpoint} answered 200 without access_token/expires_in"))
            .with_remedy("check authorityHost")),
    }
}

/// Turns an error answer into the user's error: code, Entra's own
/// description (first line, without trace ids), Entra's Trace ID and
/// Correlation ID, and a hint.
fn rejection(body: &Value, status: u16, client_id: &str, facts: &HintFacts) -> Error {
    let description = body["error_description"].as_str().unwrap_or("");
    let first_line = description.lines().next().unwrap_or("").trim();
    let code = body["error_codes"]
        .as_array()
        .and_then(|c| c.first())
        .and_then(Value::as_i64)
        .or_else(|| aadsts_code(first_line));
    let error = body["error"].as_str().unwrap_or("error");
    let mut message = match code {
        Some(_) if !first_line.is_empty() => format!("Entra ID rejected the request: {first_line}"),
        _ => format!("Entra ID rejected the request (HTTP {status}, {error}): {first_line}"),
    };
    let ids = support_ids(body);
    if !ids.is_empty() {
        message.push_str(&format!(" ({ids})"));
    }
    crate::trace!(
        "AADSTS{} from Entra ID (HTTP {status}){}",
        code.unwrap_or(0),
        if ids.is_empty() { String::new() } else { format!(", {ids}") }
    );
    let err = Error::rejected(message);
    match code.and_then(|c| hint(c, client_id, facts)) {
        Some(h) => err.with_remedy(h),
        None => err,
    }
}

/// `Trace ID …, Correlation ID …` of an error answer: what Microsoft support asks for.
fn support_ids(body: &Value) -> String {
    let id = |field: &str| body[field].as_str().filter(|v| !v.is_empty()).map(crate::output::one_line);
    match (id("trace_id"), id("correlation_id")) {
        (Some(t), Some(c)) => format!("Trace ID {t}, Correlation ID {c}"),
        (Some(t), None) => format!("Trace ID {t}"),
        (None, Some(c)) => format!("Correlation ID {c}"),
        (None, None) => String::new(),
    }
}

fn aadsts_code(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("AADSTS")?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn hint(code: i64, client_id: &str, facts: &HintFacts) -> Option<String> {
    if let Some(f) = &facts.federated
        && let Some(h) = federated_hint(code, client_id, f)
    {
        return Some(h);
    }
    Some(match code {
        700027 => match &facts.thumbprint {
            Some(t) => {
                let whose = facts.profile.as_deref().map_or_else(String::new, |p| format!("profile '{p}' "));
                let sha256 = facts.thumbprint_sha256.as_deref().map_or_else(String::new, |s| {
                    format!(" (its SHA-256 thumbprint, which Entra's message may show as the key used, is {s})")
                });
                format!(
                    "the certificate is not registered on the app, or has expired there: {whose}signed with the \
                     certificate whose SHA-1 thumbprint is {t}{sha256}; the app registration's Certificates & \
                     secrets page must list that SHA-1 thumbprint (`entratool cert rotate` registers a new one: \
                     docs/rotation.md)"
                )
            }
            None => "the certificate is not registered on the app, or has expired there. Compare the SHA-1 \
                     thumbprint from `entratool cert info -p NAME` with the app registration's Certificates & secrets \
                     page"
                .to_string(),
        },
        700016 => format!(
            "no application {client_id} in this tenant: check the profile's tenantId and clientId (the app's Overview \
             page in the portal)"
        ),
        7000215 => "the client secret is wrong or expired. Use the secret's Value, not its ID, and store it with \
                    `entratool config edit -p NAME --secret-stdin`"
            .to_string(),
        90002 => "tenant not found: check tenantId, and the cloud (AzureUSGovernment and AzureChinaCloud tenants are \
                  not in the public cloud)"
            .to_string(),
        700024 => "the assertion's time range was refused: this machine's clock is probably off; sync it (NTP) and \
                   retry"
            .to_string(),
        7000213 | 700030 => {
            "subject name/issuer authentication failed: the certificate chain or subject name does not \
                             match what the app trusts; check sendCertificateChain and the app's trusted subject"
                .to_string()
        }
        1002012 | 70011 => "client credentials need a scope of the form <resource>/.default, e.g. \
                            https://graph.microsoft.com/.default"
            .to_string(),
        500011 => "the resource is not known in this tenant: check the scope's resource, and that its service \
                   principal exists in the tenant"
            .to_string(),
        _ => return None,
    })
}

/// Hints for a refused federated token: what it said, to compare with the
/// app's federated credential.
fn federated_hint(code: i64, client_id: &str, f: &FederatedClaims) -> Option<String> {
    let presented = format!("issuer '{}', subject '{}', audience '{}'", f.iss, f.sub, f.aud);
    Some(match code {
        70021 | 700211 | 700212 | 700213 => format!(
            "no federated credential of app {client_id} matches the presented token ({presented}). Add one with \
             exactly this issuer, subject and audience (app registration → Certificates & secrets → Federated \
             credentials; docs/ci.md)"
        ),
        700024 => {
            let when = f.exp.map(crate::output::rfc3339_utc).unwrap_or_else(|| "an unknown time".into());
            format!(
                "the federated token has expired (exp {when}): a token file that is no longer refreshed (is the \
                 pod's projected service account token mounted?), or a CI token fetched too early"
            )
        }
        700027 => format!(
            "the federated token's signature did not verify against its issuer's keys ({presented}): check that the \
             issuer URL of the app's federated credential serves the keys that signed it"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_has_code_description_and_hint() {
        let body = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS700027: Client assertion contains an invalid signature.\r\nTrace ID: x\r\nCorrelation ID: y",
            "error_codes": [700027],
            "trace_id": "x",
            "correlation_id": "y"
        });
        let facts = HintFacts {
            thumbprint: Some("AB12".into()),
            thumbprint_sha256: Some("CD34".into()),
            profile: Some("prod".into()),
            ..Default::default()
        };
        let e = rejection(&body, 401, "c", &facts);
        assert!(e.message.contains("AADSTS700027: Client assertion contains an invalid signature."));
        assert!(e.message.ends_with("(Trace ID x, Correlation ID y)"), "{}", e.message);
        assert_eq!(e.message.matches("Trace ID").count(), 1, "the description's own lines are not repeated");
        let remedy = e.remedy.unwrap();
        assert!(
            remedy.contains("profile 'prod' signed with the certificate whose SHA-1 thumbprint is AB12"),
            "{remedy}"
        );
        assert!(
            remedy.contains("SHA-256 thumbprint, which Entra's message may show as the key used, is CD34"),
            "{remedy}"
        );
    }

    #[test]
    fn expires_in_as_string() {
        let body = serde_json::json!({"access_token": "a", "expires_in": "3599", "token_type": "Bearer"});
        assert_eq!(parse_granted(&body, "e").unwrap().expires_in, 3599);
    }

    #[test]
    fn authority_host_wins_over_cloud() {
        let china = Some("AzureChinaCloud");
        assert_eq!(authority_host(None, china).unwrap(), "https://login.chinacloudapi.cn");
        let us = Some("https://login.microsoftonline.us/");
        assert_eq!(authority_host(us, china).unwrap(), "https://login.microsoftonline.us");
        assert!(authority_host(Some("http://login.example.com"), china).is_err(), "plain http only to loopback");
    }

    #[test]
    fn clouds() {
        assert_eq!(cloud_authority("AzureUSGovernment").unwrap(), "https://login.microsoftonline.us");
        assert!(cloud_authority("Mars").is_err());
    }
}
