//! `get-token`'s own output formats: token, json, azd, header.

use serde_json::json;

use crate::output::{pretty, rfc3339_utc};
use crate::profile::Profile;
use crate::token::Token;

pub fn token(t: &Token) -> String {
    format!("{}\n", t.access_token)
}

/// The header line: `Bearer`, or `PoP` for a signed HTTP request (kubectl
/// itself sends an SHR as `Bearer`, which Arc takes too).
pub fn header(t: &Token) -> String {
    format!("Authorization: {} {}\n", scheme(t), t.access_token)
}

fn scheme(t: &Token) -> &'static str {
    if t.pop { "PoP" } else { "Bearer" }
}

pub fn json(t: &Token, scope: &str, profile: &Profile) -> String {
    let v = json!({
        "accessToken": t.access_token,
        "tokenType": scheme(t),
        "expiresOn": rfc3339_utc(t.expires_on),
        "expires_on": t.expires_on,
        "scope": scope,
        "profile": profile.name,
        "tenantId": profile.tenant_id,
        "clientId": profile.client_id,
    });
    pretty(&v)
}

/// What `azd auth token --output json` prints (AzureDeveloperCliCredential).
pub fn azd(t: &Token) -> String {
    pretty(&json!({"token": t.access_token, "expiresOn": rfc3339_utc(t.expires_on)}))
}
