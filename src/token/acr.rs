//! Azure Container Registry's token exchange (Azure/acr docs/AAD-OAuth.md):
//! an Entra access token in, an ACR refresh token out.

use serde_json::Value;

use super::cache::{Entry, EntryKind, Key};
use crate::error::{Error, Result};
use crate::profile::Profile;

/// POST `https://<registry>/oauth2/exchange`.
pub fn exchange(registry: &str, profile: &Profile, key: &Key, entra_token: &str) -> Result<Entry> {
    let url = crate::http::check_url(&format!("https://{registry}/oauth2/exchange"))?;
    let form = [
        ("grant_type", "access_token"),
        ("service", registry),
        ("tenant", profile.tenant_id.as_str()),
        ("access_token", entra_token),
    ];
    let started = crate::clock::now();
    let resp = crate::http::post_form(&url, &form, "the registry")?;
    let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    let refresh = match (resp.status, body["refresh_token"].as_str()) {
        (200, Some(t)) if !t.is_empty() => t.to_string(),
        (status, _) => {
            let detail = body["errors"][0]["message"].as_str().or(body["error"].as_str()).unwrap_or("no refresh_token");
            return Err(Error::rejected(format!(
                "the registry {registry} refused the token exchange (HTTP {status}: {detail})"
            ))
            .with_remedy(
                "check that the identity has a role on the registry (e.g. AcrPull) and that the profile's tenant is \
                 the registry's",
            ));
        }
    };
    // ACR refresh tokens are JWTs; without a readable exp assume ACR's 3 hours.
    let expires_on = crate::codec::jwt_claims(&refresh).and_then(|c| c["exp"].as_i64()).unwrap_or(started + 3 * 3600);
    Ok(Entry {
        key: key.hash.clone(),
        profile: profile.name.clone(),
        kind: EntryKind::Acr,
        resource: registry.to_string(),
        credential: "acr refresh token".into(),
        access_token: refresh,
        expires_on,
        refresh_on: None,
        obtained_on: started,
    })
}
