//! A small Microsoft Graph client, beside the Entra client and on the same
//! HTTP stack and rules (https, or http to loopback; no proxy for loopback;
//! bounded answers; a fresh `client-request-id`; traced without tokens or
//! proofs): reading an application object, and an application adding or
//! removing its own certificates (`addKey`, `removeKey`, docs/rotation.md).
//! Plain values in, plain values out: no profile, no certificate.

use serde_json::{Value, json};
use url::Url;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http::{self, Route};

/// Graph's resource (its token's audience) in each cloud, by the cloud's name.
pub fn resource(cloud: Option<&str>) -> &'static str {
    match cloud.map(str::to_ascii_lowercase).as_deref() {
        Some("azureusgovernment" | "azureusgovernmentcloud" | "usgov") => "https://graph.microsoft.us",
        Some("azurechinacloud" | "china") => "https://microsoftgraph.chinacloudapi.cn",
        _ => "https://graph.microsoft.com",
    }
}

/// Where Graph's requests go: `--graph-host`, else `$ENTRATOOL_GRAPH_HOST`,
/// else the cloud's Graph; https, or http to loopback.
pub fn host(cloud: Option<&str>, given: Option<&str>) -> Result<Url> {
    let env = std::env::var("ENTRATOOL_GRAPH_HOST").ok().filter(|v| !v.is_empty());
    let chosen = given.map(str::to_string).or(env).unwrap_or_else(|| resource(cloud).to_string());
    http::check_url(chosen.trim_end_matches('/'))
}

/// A key credential Graph adds to an application: a certificate's public part.
pub struct NewKey<'a> {
    /// Base64 of the certificate's DER (no PEM armour, never a private key).
    pub key: &'a str,
    pub display_name: &'a str,
    /// RFC 3339, inside the certificate's validity.
    pub start: &'a str,
    pub end: &'a str,
}

/// A certificate registered on the application, as Graph lists it.
#[derive(Debug, Clone)]
pub struct KeyCredential {
    pub key_id: String,
    /// Base64 of the SHA-1 thumbprint, when Graph shows it.
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    pub end: Option<String>,
}

/// Graph, for one application, with an app-only token for Graph.
pub struct Graph {
    pub host: Url,
    pub token: Zeroizing<String>,
}

impl Graph {
    /// The application object's id, read by its app (client) id. Needs a read
    /// permission an application seldom has: a 403 says to pass the id.
    pub fn application_id(&self, app_id: &str) -> Result<String> {
        let path = format!("/v1.0/applications(appId='{app_id}')");
        let v = self.get(&path, "id").map_err(|e| refused_read(e, "--application-object-id"))?;
        v["id"].as_str().filter(|id| uuid::Uuid::try_parse(id).is_ok()).map(str::to_string).ok_or_else(|| {
            Error::unavailable("Microsoft Graph answered without the application's id").with_remedy("try again")
        })
    }

    /// The application's key credentials (needs the same read permission).
    pub fn key_credentials(&self, object_id: &str) -> Result<Vec<KeyCredential>> {
        let v = self.get(&format!("/v1.0/applications/{object_id}"), "keyCredentials")?;
        let keys = v["keyCredentials"].as_array().cloned().unwrap_or_default();
        Ok(keys
            .iter()
            .filter_map(|k| {
                Some(KeyCredential {
                    key_id: k["keyId"].as_str()?.to_string(),
                    custom_key_identifier: k["customKeyIdentifier"].as_str().map(String::from),
                    display_name: k["displayName"].as_str().map(String::from),
                    end: k["endDateTime"].as_str().map(String::from),
                })
            })
            .collect())
    }

    /// `addKey`: the application adds a certificate, proving it holds one
    /// it has already. Returns the new key's id.
    pub fn add_key(&self, object_id: &str, key: &NewKey, proof: &str) -> Result<String> {
        let body = json!({
            "keyCredential": {
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": key.key,
                "displayName": key.display_name,
                "startDateTime": key.start,
                "endDateTime": key.end,
            },
            "passwordCredential": null,
            "proof": proof,
        });
        let v = self.post(&format!("/v1.0/applications/{object_id}/addKey"), &body)?;
        v["keyId"].as_str().map(str::to_string).ok_or_else(|| {
            Error::unavailable("Microsoft Graph's addKey answered without the new key's keyId")
                .with_remedy("look the key up in the portal (Certificates & secrets) before trying again")
        })
    }

    /// `removeKey`: the application removes one of its certificates.
    pub fn remove_key(&self, object_id: &str, key_id: &str, proof: &str) -> Result<()> {
        let body = json!({"keyId": key_id, "proof": proof});
        self.post(&format!("/v1.0/applications/{object_id}/removeKey"), &body).map(drop)
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.host.join(path).map_err(|e| Error::config("cannot make a Graph URL").with_source(e))
    }

    fn get(&self, path: &str, select: &str) -> Result<Value> {
        let mut url = self.url(path)?;
        url.query_pairs_mut().append_pair("$select", select);
        let resp = http::send(Route::Internet, &url, "Microsoft Graph", |c| self.authorised(c.get(url.clone())))?;
        answer(resp)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = self.url(path)?;
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::config("cannot write a Graph request").with_source(e))?;
        let resp = http::send(Route::Internet, &url, "Microsoft Graph", |c| {
            self.authorised(c.post(url.clone())).header("Content-Type", "application/json").body(bytes.clone())
        })?;
        answer(resp)
    }

    /// The bearer token and a fresh `client-request-id`, as every Graph SDK sends them.
    fn authorised(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let id = uuid::Uuid::new_v4().to_string();
        crate::trace!("Graph client-request-id {id}");
        r.header("Authorization", format!("Bearer {}", self.token.as_str())).header("client-request-id", id)
    }
}

/// A 2xx answer's JSON (`{}` for 204), or Graph's error as the user's.
fn answer(resp: http::Response) -> Result<Value> {
    let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    match resp.status {
        200..=299 => Ok(if body.is_null() { json!({}) } else { body }),
        status => Err(graph_error(status, &body)),
    }
}

/// Graph's error: its code and message, and `request-id`/`client-request-id`
/// (what Microsoft support asks for), with what to do for the codes a
/// rotation meets. All are refusals (exit 5).
pub fn graph_error(status: u16, body: &Value) -> Error {
    let error = &body["error"];
    let code = error["code"].as_str().unwrap_or("unknown");
    let message = crate::output::one_line(error["message"].as_str().unwrap_or("no message"));
    let inner = &error["innerError"];
    let ids: Vec<String> = [("request-id", "request-id"), ("client-request-id", "client-request-id")]
        .iter()
        .filter_map(|(field, shown)| inner[field].as_str().map(|v| format!("{shown} {}", crate::output::one_line(v))))
        .collect();
    let ids = if ids.is_empty() { String::new() } else { format!(" ({})", ids.join(", ")) };
    crate::trace!("Graph error {code} (HTTP {status}){ids}");
    let e = Error::rejected(format!("Microsoft Graph refused the request (HTTP {status}, {code}): {message}{ids}"));
    match code {
        "Authentication_MissingOrMalformed" => e.with_remedy(
            "the proof of possession was refused: the signing certificate must be registered on the app and valid, \
             and the application object id must be the app's (Overview → Object ID, not the client id)",
        ),
        "Authorization_RequestDenied" => e.with_remedy(
            "a permission is needed: an application can roll only its own application object's keys; check the \
             object id (not the service principal's), or grant Application.ReadWrite.OwnedBy and make the service \
             principal an owner of its registration",
        ),
        "CredentialInvalidLifetimeAsPerAppPolicy" => e.with_remedy(
            "a tenant policy caps certificate lifetimes: retry with a smaller --days (many tenants allow 365 at most)",
        ),
        _ => e,
    }
}

/// A refused read (403) names the flag that gives what could not be read.
fn refused_read(e: Error, flag: &str) -> Error {
    if !e.message.contains("HTTP 403") {
        return e;
    }
    Error::config(format!("Microsoft Graph does not let this app read its application object: {}", e.message))
        .with_remedy(format!(
            "pass {flag} GUID: the Object ID on the app registration's Overview page (not the client id); it is \
             saved in the profile for next time"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_carry_code_message_ids_and_a_hint() {
        let body = json!({"error": {"code": "CredentialInvalidLifetimeAsPerAppPolicy",
            "message": "Credential lifetime exceeds the max value allowed as per assigned policy 'x'.",
            "innerError": {"date": "2026-12-04T00:00:00", "request-id": "r-1", "client-request-id": "c-2"}}});
        let e = graph_error(400, &body);
        assert_eq!(e.kind, crate::error::Kind::Rejected);
        assert!(
            e.message.contains("CredentialInvalidLifetimeAsPerAppPolicy")
                && e.message.contains("(request-id r-1, client-request-id c-2)")
        );
        assert!(e.remedy.unwrap().contains("smaller --days"));
        let e = refused_read(
            graph_error(403, &json!({"error": {"code": "Authorization_RequestDenied"}})),
            "--application-object-id",
        );
        assert_eq!(e.kind, crate::error::Kind::Config);
        assert!(e.remedy.unwrap().contains("--application-object-id"));
    }

    #[test]
    fn graph_is_the_clouds() {
        assert_eq!(resource(None), "https://graph.microsoft.com");
        assert_eq!(resource(Some("AzureUSGovernment")), "https://graph.microsoft.us");
        assert_eq!(resource(Some("AzureChinaCloud")), "https://microsoftgraph.chinacloudapi.cn");
        assert!(host(None, Some("http://graph.example")).is_err(), "plain http only to loopback");
        assert_eq!(host(None, Some("http://127.0.0.1:9/")).unwrap().as_str(), "http://127.0.0.1:9/");
    }
}
