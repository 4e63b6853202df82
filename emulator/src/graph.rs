//! Microsoft Graph's application endpoints, as an app rolling its own keys
//! meets them (docs/rotation.md): reading the application object (only with a
//! read permission: `graphRead`), `addKey` and `removeKey` with the proof of
//! possession checked as Graph checks it (RS256 by a registered, valid key,
//! `aud` Azure AD Graph, `iss` the application object id, at most ten
//! minutes, no base64 padding), a replication delay before the token endpoint
//! accepts a new key, and a tenant policy on key lifetimes. Errors in Graph's
//! shape, with `request-id` and `client-request-id`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::{Value, json};
use tiny_http::Request;

use crate::state::{Client, KeyCredential, State};
use crate::{Emulator, lock, now, own_token_claims, reply};

/// The audience Graph's proofs must name: Azure AD Graph's app id.
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
const GRAPH_RESOURCES: [&str; 3] =
    ["https://graph.microsoft.com", "https://graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn"];

/// A Graph error: status, code and message.
struct GraphError(u16, &'static str, String);

fn denied() -> GraphError {
    GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.".into())
}

fn malformed(why: &str) -> GraphError {
    GraphError(401, "Authentication_MissingOrMalformed", format!("Access Token missing or malformed. {why}"))
}

/// Routes `/v1.0/...` (and `/beta/...`) requests.
pub fn handle(emu: &Emulator, request: Request, method: &tiny_http::Method, segments: &[String], body: &str) {
    let client_request_id =
        request.headers().iter().find(|h| h.field.equiv("client-request-id")).map(|h| h.value.as_str().to_string());
    let outcome = route(emu, &request, method, segments, body);
    let status = outcome.as_ref().map_or_else(|e| e.0, |(s, _)| *s);
    lock(emu).record(json!({"endpoint": "graph", "method": method.to_string(), "path": segments.join("/"),
                            "status": status, "clientRequestId": client_request_id}));
    match outcome {
        Ok((204, _)) => {
            let _ = request.respond(tiny_http::Response::empty(204));
        }
        Ok((status, v)) => reply(request, status, &v),
        Err(GraphError(status, code, message)) => reply(
            request,
            status,
            &json!({"error": {"code": code, "message": message, "innerError": {
                "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": uuid::Uuid::new_v4().to_string(),
                "client-request-id": client_request_id,
            }}}),
        ),
    }
}

fn route(
    emu: &Emulator,
    request: &Request,
    method: &tiny_http::Method,
    segments: &[String],
    body: &str,
) -> Result<(u16, Value), GraphError> {
    let caller = caller(emu, request)?;
    let now = now(emu);
    let mut st = lock(emu);
    let not_found = || GraphError(404, "Request_ResourceNotFound", "Resource does not exist.".into());
    match (method, segments) {
        (tiny_http::Method::Get, [_, app]) if app.starts_with("applications(appId=") => {
            let app_id = app.trim_start_matches("applications(appId=").trim_matches(|c| c == '\'' || c == ')');
            let client = st.client_mut(app_id).ok_or_else(not_found)?;
            readable(client, &caller)?;
            Ok((200, json!({"id": client.object_id, "keyCredentials": keys(client)})))
        }
        (tiny_http::Method::Get, [_, apps, id]) if apps == "applications" => {
            let client = by_object_id(&mut st, id).ok_or_else(not_found)?;
            readable(client, &caller)?;
            Ok((200, json!({"id": client.object_id, "keyCredentials": keys(client)})))
        }
        (tiny_http::Method::Post, [_, apps, id, action]) if apps == "applications" => {
            let delay = st.settings.key_replication_delay;
            let max_days = st.settings.max_key_lifetime_days;
            let client = by_object_id(&mut st, id).ok_or_else(not_found)?;
            // Without a permission, an app may roll only its own keys.
            if client.client_id != caller {
                return Err(denied());
            }
            let v: Value = serde_json::from_str(body)
                .map_err(|_| GraphError(400, "BadRequest", "The request body is not JSON.".into()))?;
            let (header, claims) = check_proof(v["proof"].as_str().unwrap_or(""), client, now)?;
            let seen = json!({"endpoint": "graph-proof", "action": action, "proof": v["proof"], "proofHeader": header,
                              "proofClaims": claims, "objectId": client.object_id});
            let answer = match action.as_str() {
                "addKey" => add_key(client, &v["keyCredential"], now, delay, max_days),
                "removeKey" => remove_key(client, v["keyId"].as_str().unwrap_or("")),
                _ => Err(not_found()),
            };
            st.record(seen);
            answer
        }
        _ => Err(not_found()),
    }
}

/// The app (client id) whose Graph token the request carries.
fn caller(emu: &Emulator, request: &Request) -> Result<String, GraphError> {
    let bearer = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_string))
        .ok_or_else(|| GraphError(401, "InvalidAuthenticationToken", "Access token is empty.".into()))?;
    let claims = own_token_claims(emu, &bearer, now(emu))
        .ok_or_else(|| GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.".into()))?;
    if !GRAPH_RESOURCES.contains(&claims["aud"].as_str().unwrap_or("")) {
        return Err(GraphError(401, "InvalidAuthenticationToken", "Invalid audience.".into()));
    }
    Ok(claims["appid"].as_str().unwrap_or("").to_ascii_lowercase())
}

fn by_object_id<'a>(st: &'a mut State, id: &str) -> Option<&'a mut Client> {
    st.tenants.iter_mut().flat_map(|t| t.clients.iter_mut()).find(|c| c.object_id.eq_ignore_ascii_case(id))
}

/// Reading the application object needs a permission (or ownership): `graphRead`.
fn readable(client: &Client, caller: &str) -> Result<(), GraphError> {
    if client.graph_read && client.client_id == caller { Ok(()) } else { Err(denied()) }
}

fn keys(client: &Client) -> Vec<Value> {
    client.certificates.iter().map(KeyCredential::view).collect()
}

/// The proof as Graph checks it; its header and claims, for the stats.
fn check_proof(proof: &str, client: &Client, now: i64) -> Result<(Value, Value), GraphError> {
    let parts: Vec<&str> = proof.split('.').collect();
    if parts.len() != 3 {
        return Err(malformed("The proof is not a JWT."));
    }
    if parts[0].contains('=') || parts[1].contains('=') {
        return Err(malformed("The proof's header and payload must not be padded."));
    }
    let decode = |p: &str| -> Result<Value, GraphError> {
        let bytes = URL_SAFE_NO_PAD.decode(p).map_err(|_| malformed("The proof is not base64url."))?;
        serde_json::from_slice(&bytes).map_err(|_| malformed("The proof is not JSON."))
    };
    let (header, claims) = (decode(parts[0])?, decode(parts[1])?);
    if header["alg"] != "RS256" {
        return Err(malformed("The proof must be signed RS256."));
    }
    let sha1 = |c: &X509| c.digest(MessageDigest::sha1()).map(|d| d.to_vec()).unwrap_or_default();
    let wanted_hex = header["kid"].as_str().map(str::to_ascii_uppercase);
    let wanted_x5t = header["x5t"].as_str().and_then(|t| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok());
    let key = client
        .certificates
        .iter()
        .filter(|k| k.accepted(now))
        .find(|k| wanted_hex.as_deref() == Some(&k.thumbprint()) || wanted_x5t.as_deref() == Some(&sha1(&k.cert)));
    let key = key.ok_or_else(|| malformed("The proof is not signed by a valid certificate of the application."))?;
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).map_err(|_| malformed("The signature is not base64url."))?;
    let public = key.cert.public_key().map_err(|_| malformed("The key is unusable."))?;
    let verified = Verifier::new(MessageDigest::sha256(), &public)
        .and_then(|mut v| {
            v.update(format!("{}.{}", parts[0], parts[1]).as_bytes())?;
            v.verify(&signature)
        })
        .unwrap_or(false);
    if !verified {
        return Err(malformed("The proof's signature does not verify."));
    }
    if claims["aud"] != PROOF_AUDIENCE {
        return Err(malformed("The proof's audience is wrong."));
    }
    if !claims["iss"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&client.object_id)) {
        return Err(malformed("The proof's issuer is not the application's object id."));
    }
    let (nbf, exp) = (claims["nbf"].as_i64().unwrap_or(i64::MIN), claims["exp"].as_i64().unwrap_or(i64::MIN));
    if exp - nbf > 600 || exp < now || nbf > now + 300 {
        return Err(malformed("The proof is not within its ten minutes."));
    }
    Ok((header, claims))
}

fn add_key(
    client: &mut Client,
    kc: &Value,
    now: i64,
    delay: i64,
    max_days: Option<i64>,
) -> Result<(u16, Value), GraphError> {
    let bad = |m: &str| GraphError(400, "BadRequest", m.to_string());
    if kc["type"] != "AsymmetricX509Cert" || kc["usage"] != "Verify" {
        return Err(bad("Supported key types are AsymmetricX509Cert with usage Verify."));
    }
    let der = STANDARD.decode(kc["key"].as_str().unwrap_or("")).map_err(|_| bad("The key is not base64."))?;
    let cert = X509::from_der(&der).map_err(|_| bad("The key is not a certificate."))?;
    let time =
        |k: &str| kc[k].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp());
    let mut key = KeyCredential::new(cert, kc["displayName"].as_str().map(String::from), now + delay);
    let (start, end) = (time("startDateTime").unwrap_or(key.start), time("endDateTime").unwrap_or(key.end));
    if let Some(days) = max_days
        && end - start > days * 86_400
    {
        return Err(GraphError(
            400,
            "CredentialInvalidLifetimeAsPerAppPolicy",
            "Credential lifetime exceeds the max value allowed as per assigned policy 'emulator-policy'.".into(),
        ));
    }
    if let Some(existing) = client.certificates.iter().find(|k| k.thumbprint() == key.thumbprint()) {
        return Ok((200, existing.view()));
    }
    (key.start, key.end) = (start, end);
    let view = key.view();
    client.certificates.push(key);
    Ok((200, view))
}

fn remove_key(client: &mut Client, key_id: &str) -> Result<(u16, Value), GraphError> {
    let before = client.certificates.len();
    client.certificates.retain(|k| !k.key_id.eq_ignore_ascii_case(key_id));
    if client.certificates.len() == before {
        return Err(GraphError(400, "Request_BadRequest", "No credentials found to be removed.".into()));
    }
    Ok((204, Value::Null))
}
