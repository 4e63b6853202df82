//! The token sources on CI runners and Azure hosts: the managed identity
//! endpoints (IMDS and App Service's `IDENTITY_ENDPOINT`), GitHub Actions'
//! and Azure Pipelines' OIDC services, and a Kubernetes-like issuer that
//! mints service account tokens for token files. Their tokens are signed with
//! the emulator's key, so it trusts its own issuers without configuration.

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response};

use crate::state::ManagedIdentitySpec;
use crate::{Emulator, lock, reply, sign};

/// The issuer paths of the emulator's own OIDC services.
pub const GITHUB: &str = "_github";
pub const PIPELINES: &str = "_pipelines";
pub const KUBERNETES: &str = "_k8s";

pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub fn header(request: &Request, name: &'static str) -> Option<String> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
}

/// What a client sent, for the tests to check to the byte: method, path and
/// query, and the headers these endpoints care about.
fn seen(request: &Request, endpoint: &str) -> Value {
    let mut headers = serde_json::Map::new();
    for name in ["Authorization", "Accept", "Content-Type", "X-TFS-FedAuthRedirect", "Metadata", "X-IDENTITY-HEADER"] {
        if let Some(v) = header(request, name) {
            headers.insert(name.to_string(), v.into());
        }
    }
    json!({"endpoint": endpoint, "method": request.method().as_str(), "url": request.url(), "headers": headers})
}

/// A signed token from one of the emulator's own issuers.
pub fn mint(emu: &Emulator, issuer_path: &str, sub: &str, aud: &str, now: i64, lifetime: i64) -> String {
    let exp = now + lifetime;
    let iat = exp.min(now) - 60;
    let claims = json!({
        "iss": format!("{}/{issuer_path}", emu.base_url), "sub": sub, "aud": aud,
        "iat": iat, "nbf": iat, "exp": exp, "jti": uuid::Uuid::new_v4().to_string(),
    });
    sign(emu, &json!({"typ": "JWT", "alg": "RS256", "kid": emu.kid}), &claims)
}

/// `GET …/idtoken?…&audience=AUD` with `Authorization: bearer TOKEN`, as
/// GitHub's `ACTIONS_ID_TOKEN_REQUEST_URL`.
pub fn github(emu: &Emulator, request: Request, now: i64) {
    let q = query(request.url());
    let (expected, subject) = {
        let mut st = lock(emu);
        st.oidc_requests += 1;
        st.record(seen(&request, "github"));
        (st.settings.github_request_token.clone(), st.settings.github_subject.clone())
    };
    let auth = header(&request, "Authorization").unwrap_or_default();
    let presented = auth.split_once(' ').filter(|(s, _)| s.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim());
    if presented != Some(expected.as_str()) {
        return reply(request, 401, &json!({"message": "Unable to validate the ID token request token."}));
    }
    let aud = q.get("audience").cloned().unwrap_or_else(|| "https://github.com/contoso".into());
    let token = mint(emu, GITHUB, &subject, &aud, now, 300);
    reply(request, 200, &json!({"count": 1, "value": token}));
}

/// `POST …/oidctoken?api-version=7.1&serviceConnectionId=ID` with
/// `Authorization: Bearer SYSTEM_ACCESSTOKEN`, as Azure Pipelines' `SYSTEM_OIDCREQUESTURI`.
/// A wrong token gets what Azure DevOps sends: 203 and a sign-in page.
pub fn pipelines(emu: &Emulator, request: Request, now: i64) {
    let q = query(request.url());
    let expected = {
        let mut st = lock(emu);
        st.oidc_requests += 1;
        st.record(seen(&request, "pipelines"));
        st.settings.pipelines_access_token.clone()
    };
    let auth = header(&request, "Authorization").unwrap_or_default();
    if auth.strip_prefix("Bearer ").map(str::trim) != Some(expected.as_str()) {
        let page = "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>\
                    Sign in to your account</body></html>";
        let html = Header::from_bytes("Content-Type", "text/html; charset=utf-8").expect("static header");
        let _ = request.respond(Response::from_string(page).with_status_code(203).with_header(html));
        return;
    }
    let Some(connection) = q.get("serviceConnectionId").filter(|c| !c.is_empty()) else {
        return reply(
            request,
            400,
            &json!({"message": "serviceConnectionId is required", "typeKey": "ArgumentException"}),
        );
    };
    if q.get("api-version").map(String::as_str) != Some("7.1") {
        return reply(request, 400, &json!({"message": "api-version 7.1 is required"}));
    }
    let sub = format!("sc://contoso/project/{connection}");
    let token = mint(emu, PIPELINES, &sub, "api://AzureADTokenExchange", now, 600);
    reply(request, 200, &json!({"oidcToken": token}));
}

/// Which managed identity a request names; None names none that exists.
fn pick<'a>(
    ids: &'a [ManagedIdentitySpec],
    q: &std::collections::HashMap<String, String>,
    object_param: &str,
    resource_param: &str,
) -> Option<&'a ManagedIdentitySpec> {
    if let Some(c) = q.get("client_id") {
        return ids.iter().find(|i| i.client_id.eq_ignore_ascii_case(c));
    }
    if let Some(o) = q.get(object_param) {
        return ids.iter().find(|i| i.object_id.eq_ignore_ascii_case(o));
    }
    if let Some(r) = q.get(resource_param) {
        return ids.iter().find(|i| i.resource_id.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(r)));
    }
    ids.iter().find(|i| i.system)
}

/// IMDS (`/metadata/identity/oauth2/token`) and App Service (`IDENTITY_ENDPOINT`).
pub fn managed_identity(emu: &Emulator, request: Request, app_service: bool, now: i64) {
    let q = query(request.url());
    let (ids, lifetime, identity_header, resources) = {
        let mut st = lock(emu);
        st.identity_requests += 1;
        st.record(seen(&request, if app_service { "appservice" } else { "imds" }));
        let s = &st.settings;
        (st.managed_identities.clone(), s.identity_token_lifetime, s.identity_header.clone(), s.resources.clone())
    };
    let bad = |request: Request, status: u16, error: &str, description: &str| {
        reply(request, status, &json!({"error": error, "error_description": description}))
    };
    if app_service {
        if header(&request, "X-IDENTITY-HEADER").as_deref() != Some(identity_header.as_str()) {
            return bad(request, 401, "unauthorized", "The X-IDENTITY-HEADER is missing or invalid.");
        }
        if q.get("api-version").map(String::as_str) != Some("2019-08-01") {
            return bad(request, 400, "invalid_request", "api-version 2019-08-01 is required");
        }
    } else {
        if header(&request, "Metadata").as_deref() != Some("true") {
            return bad(request, 400, "invalid_request", "Required metadata header not specified");
        }
        if !q.contains_key("api-version") {
            return bad(request, 400, "invalid_request", "Required query variable 'api-version' is missing");
        }
    }
    let Some(resource) = q.get("resource").filter(|r| !r.is_empty()) else {
        return bad(request, 400, "invalid_request", "Required query variable 'resource' is missing");
    };
    let known = resources.iter().any(|r| r.eq_ignore_ascii_case(resource.trim_end_matches('/')));
    if !known {
        return bad(
            request,
            400,
            "invalid_resource",
            &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."),
        );
    }
    let (object_param, resource_param) =
        if app_service { ("principal_id", "mi_res_id") } else { ("object_id", "msi_res_id") };
    let Some(id) = pick(&ids, &q, object_param, resource_param) else {
        return bad(request, 400, "invalid_request", "Identity not found");
    };
    let token = identity_token(emu, id, resource.trim_end_matches('/'), now, lifetime);
    let expires_on = (now + lifetime).to_string();
    let body = if app_service {
        json!({"access_token": token, "expires_on": expires_on, "resource": resource, "token_type": "Bearer",
               "client_id": id.client_id})
    } else {
        json!({"access_token": token, "client_id": id.client_id, "expires_in": lifetime.to_string(),
               "expires_on": expires_on, "ext_expires_in": lifetime.to_string(), "not_before": now.to_string(),
               "resource": resource, "token_type": "Bearer"})
    };
    reply(request, 200, &body);
}

/// The issuer of a managed identity's tokens for a token exchange audience:
/// Entra's v2 issuer of the identity's tenant (what an app's federated
/// identity credential names, with the identity's object id as subject).
pub const ENTRA_V2_ISSUER: (&str, &str) = ("https://login.microsoftonline.com/", "/v2.0");

/// An access token for a managed identity, shaped like Entra's: `xms_mirid`
/// names the identity's resource. For a token exchange audience it is a v2
/// token whose issuer and subject an app's federated credential can name.
fn identity_token(emu: &Emulator, id: &ManagedIdentitySpec, resource: &str, now: i64, lifetime: i64) -> String {
    let tid = id.tenant.clone().unwrap_or_else(|| "87654321-4321-4321-4321-cba987654321".into());
    let mirid = id.resource_id.clone().unwrap_or_else(|| {
        format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm-{}", &id.client_id[..8.min(id.client_id.len())])
    });
    if resource.starts_with("api://AzureADTokenExchange") {
        let (before, after) = ENTRA_V2_ISSUER;
        let claims = json!({
            "aud": resource, "iss": format!("{before}{tid}{after}"),
            "iat": now, "nbf": now, "exp": now + lifetime,
            "azp": id.client_id, "azpacr": "2", "oid": id.object_id, "sub": id.object_id, "tid": tid,
            "xms_mirid": mirid, "uti": uuid::Uuid::new_v4().simple().to_string(), "ver": "2.0",
        });
        return sign(emu, &json!({"typ": "JWT", "alg": "RS256", "kid": emu.kid}), &claims);
    }
    let claims: Value = json!({
        "aud": resource, "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": id.client_id, "appidacr": "2", "idp": format!("https://sts.windows.net/{tid}/"),
        "idtyp": "app", "oid": id.object_id, "sub": id.object_id, "tid": tid, "xms_mirid": mirid,
        "uti": uuid::Uuid::new_v4().simple().to_string(), "ver": "1.0",
    });
    sign(emu, &json!({"typ": "JWT", "alg": "RS256", "kid": emu.kid, "x5t": emu.kid}), &claims)
}
