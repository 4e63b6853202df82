//! entra-emulator: a local stand-in for the Entra ID v2.0 token endpoint, for
//! entratool's tests and offline demo. It verifies client assertions and
//! secrets like Entra ID, answers AADSTS errors in Entra's JSON shape, issues
//! RS256 access tokens with a JWKS endpoint, counts requests and injects
//! faults. Loopback only.
//!
//! Usage: entra-emulator [--port N] [--config FILE] [--tls-cert PEM --tls-key PEM]
//! It prints `entra-emulator listening on <URL>` as its first line.
// the emulator is a test server, not shipped (clippy.toml bars these macros in entratool itself).
#![allow(clippy::disallowed_macros)]

mod aadsts;
mod federation;
mod graph;
mod identity;
mod state;
mod verify;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde::Deserialize;
use serde_json::{Value, json};
use tiny_http::{Header, Method, Request, Response, Server};

use aadsts::Aadsts;
use state::{ClientSpec, Fault, State};

struct Emulator {
    state: Mutex<State>,
    signing_key: PKey<Private>,
    /// The public half, for tokens of the emulator's own issuers.
    public_key: PKey<openssl::pkey::Public>,
    kid: String,
    base_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    clients: Vec<ClientSpec>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    token_lifetime: Option<i64>,
    #[serde(default)]
    issuers: Vec<state::IssuerSpec>,
    #[serde(default)]
    managed_identities: Vec<state::ManagedIdentitySpec>,
}

struct Options {
    port: u16,
    config: Option<String>,
    tls: Option<(String, String)>,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut opts = Options { port: 0, config: None, tls: None };
    let (mut cert, mut key) = (None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--port" => opts.port = value()?.parse().map_err(|_| "--port takes a number".to_string())?,
            "--config" => opts.config = Some(value()?),
            "--tls-cert" => cert = Some(value()?),
            "--tls-key" => key = Some(value()?),
            "-h" | "--help" => {
                println!("usage: entra-emulator [--port N] [--config FILE] [--tls-cert PEM --tls-key PEM]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let (Some(c), Some(k)) = (cert, key) {
        opts.tls = Some((c, k));
    }
    Ok(opts)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("entra-emulator: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let opts = parse_args()?;
    let addr = ("127.0.0.1", opts.port);
    let ssl = match &opts.tls {
        Some((cert, key)) => Some(tiny_http::SslConfig {
            certificate: std::fs::read(cert).map_err(|e| format!("{cert}: {e}"))?,
            private_key: std::fs::read(key).map_err(|e| format!("{key}: {e}"))?,
        }),
        None => None,
    };
    let scheme = if ssl.is_some() { "https" } else { "http" };
    let server = Server::from_listener(listener_without_nagle(addr)?, ssl).map_err(|e| e.to_string())?;
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let host = if scheme == "https" { "localhost" } else { "127.0.0.1" };
    let base_url = format!("{scheme}://{host}:{port}");
    let mut state = State::default();
    if let Some(path) = &opts.config {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let cfg: ConfigFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        for c in &cfg.clients {
            state.register(c)?;
        }
        state.settings.resources.extend(cfg.resources);
        if let Some(l) = cfg.token_lifetime {
            state.settings.token_lifetime = l;
        }
        state.issuers.extend(cfg.issuers);
        state.managed_identities.extend(cfg.managed_identities);
    }
    let rsa = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let signing_key = PKey::from_rsa(rsa).map_err(|e| e.to_string())?;
    let public_key = PKey::public_key_from_der(&signing_key.public_key_to_der().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let emulator = Arc::new(Emulator {
        state: Mutex::new(state),
        signing_key,
        public_key,
        kid: uuid::Uuid::new_v4().simple().to_string(),
        base_url: base_url.clone(),
    });
    println!("entra-emulator listening on {base_url}");
    let _ = std::io::stdout().flush();
    for request in server.incoming_requests() {
        let emu = emulator.clone();
        std::thread::spawn(move || handle(&emu, request));
    }
    Ok(())
}

/// tiny_http writes a response through a 1 KiB buffer, so a token answer
/// leaves in several small writes; with Nagle's algorithm the later ones wait
/// for the client's delayed ACK (40 ms on loopback), which would hide the
/// client's own cost in every measurement. Accepted sockets inherit
/// TCP_NODELAY from the listener on Linux.
fn listener_without_nagle(addr: (&str, u16)) -> Result<std::net::TcpListener, String> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(format!("setsockopt TCP_NODELAY: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(listener)
}

fn json_response(status: u16, body: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = Header::from_bytes("Content-Type", "application/json; charset=utf-8").expect("static header");
    Response::from_data(serde_json::to_vec(body).unwrap_or_default()).with_status_code(status).with_header(header)
}

fn reply(request: Request, status: u16, body: &Value) {
    let _ = request.respond(json_response(status, body));
}

fn handle(emu: &Emulator, mut request: Request) {
    let mut body = String::new();
    if request.as_reader().take(1 << 20).read_to_string(&mut body).is_err() {
        return reply(request, 400, &json!({"error": "invalid_request"}));
    }
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::Post, [tenant, "oauth2", "v2.0", "token"]) => token_endpoint(emu, request, tenant, &body),
        (Method::Get, [tenant, "v2.0", ".well-known", "openid-configuration"]) => discovery(emu, request, tenant),
        (Method::Get, [_, "discovery", "v2.0", "keys"]) => reply(request, 200, &jwks(emu)),
        (Method::Post, ["oauth2", "exchange"]) => acr_exchange(emu, request, &body),
        (Method::Get, ["metadata", "identity", "oauth2", "token"]) => {
            if let Some(r) = faulted(emu, "identity", request) {
                identity::managed_identity(emu, r, false, now(emu));
            }
        }
        (Method::Get, ["msi", "token"]) => {
            if let Some(r) = faulted(emu, "identity", request) {
                identity::managed_identity(emu, r, true, now(emu));
            }
        }
        (Method::Get, [identity::GITHUB, "idtoken"]) => {
            if let Some(r) = faulted(emu, "oidc", request) {
                identity::github(emu, r, now(emu));
            }
        }
        (Method::Post, [identity::PIPELINES, "oidctoken"]) => {
            if let Some(r) = faulted(emu, "oidc", request) {
                identity::pipelines(emu, r, now(emu));
            }
        }
        (Method::Post, ["_emulator", "federated-token"]) => federated_token(emu, request, &body),
        (Method::Get, ["_emulator", "stats"]) => {
            let stats = lock(emu).stats();
            reply(request, 200, &stats)
        }
        (Method::Get, ["_emulator", "clients", client_id, "certificates"]) => {
            let listed = lock(emu).client_mut(client_id).map(|c| c.certificates.iter().map(|k| k.view()).collect());
            match listed {
                Some(keys) => reply(request, 200, &Value::Array(keys)),
                None => reply(request, 404, &json!({"ok": false, "error": "no such client"})),
            }
        }
        (Method::Post, ["_emulator", rest @ ..]) => admin(emu, request, rest, &body),
        (ref m, [version, ..]) if *version == "v1.0" || *version == "beta" => {
            // Graph addresses an app as `applications(appId='…')`, which a client may percent-encode.
            let decoded: Vec<String> =
                segments.iter().map(|s| s.replace("%27", "'").replace("%28", "(").replace("%29", ")")).collect();
            graph::handle(emu, request, m, &decoded, &body)
        }
        _ => reply(request, 404, &json!({"error": "not_found", "path": path})),
    }
}

/// The emulator's clock (with its offset).
fn now(emu: &Emulator) -> i64 {
    chrono::Utc::now().timestamp() + lock(emu).settings.clock_offset
}

/// Applies the next fault queued for `target`; the request when it is still to be answered.
fn faulted(emu: &Emulator, target: &str, request: Request) -> Option<Request> {
    let fault = lock(emu).next_fault(target);
    match fault {
        Some(f) => {
            let r = inject(&f, request);
            if r.is_none() {
                lock(emu).record(json!({"fault": f.kind, "target": target}));
            }
            r
        }
        None => Some(request),
    }
}

/// `POST /_emulator/federated-token {"sub", "aud"?, "lifetime"?, "issuer"?}`: a
/// token of the emulator's Kubernetes-like issuer (or `_github`, `_pipelines`),
/// as a kubelet writes into a pod's projected token file.
fn federated_token(emu: &Emulator, request: Request, body: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let issuer = v["issuer"].as_str().unwrap_or(identity::KUBERNETES);
    let sub = v["sub"].as_str().unwrap_or("system:serviceaccount:default:workload");
    let aud = v["aud"].as_str().unwrap_or("api://AzureADTokenExchange");
    let lifetime = v["lifetime"].as_i64().unwrap_or(3600);
    let token = identity::mint(emu, issuer, sub, aud, now(emu), lifetime);
    reply(request, 200, &json!({"token": token, "issuer": format!("{}/{issuer}", emu.base_url)}));
}

fn lock(emu: &Emulator) -> std::sync::MutexGuard<'_, State> {
    emu.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn admin(emu: &Emulator, request: Request, rest: &[&str], body: &str) {
    let result: Result<(), String> = (|| {
        let mut st = lock(emu);
        match rest {
            ["clients"] => {
                let spec: ClientSpec = serde_json::from_str(body).map_err(|e| e.to_string())?;
                st.register(&spec)
            }
            // `{"thumbprint": HEX}` or `{"keyId": GUID}`: as deleting it in the portal.
            ["clients", client_id, "certificates", "remove"] => {
                let v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
                let client = st.client_mut(client_id).ok_or("no such client")?;
                let before = client.certificates.len();
                let thumb = v["thumbprint"].as_str().map(|t| t.replace(':', "").to_ascii_uppercase());
                let key_id = v["keyId"].as_str();
                client
                    .certificates
                    .retain(|k| !(thumb.as_deref() == Some(&k.thumbprint()) || key_id == Some(&k.key_id)));
                if client.certificates.len() == before {
                    return Err("no such certificate".into());
                }
                Ok(())
            }
            ["issuers"] => {
                let spec: state::IssuerSpec = serde_json::from_str(body).map_err(|e| e.to_string())?;
                st.issuers.retain(|i| i.issuer != spec.issuer);
                st.issuers.push(spec);
                Ok(())
            }
            ["identities"] => {
                let spec: state::ManagedIdentitySpec = serde_json::from_str(body).map_err(|e| e.to_string())?;
                st.managed_identities.retain(|i| i.client_id != spec.client_id);
                st.managed_identities.push(spec);
                Ok(())
            }
            ["faults"] => {
                let fault: Fault = serde_json::from_str(body).map_err(|e| e.to_string())?;
                st.faults.push_back(fault);
                Ok(())
            }
            ["settings"] => {
                let v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
                if let Some(l) = v["tokenLifetime"].as_i64() {
                    st.settings.token_lifetime = l;
                }
                if v.get("refreshIn").is_some() {
                    st.settings.refresh_in = v["refreshIn"].as_i64();
                }
                if let Some(b) = v["rejectReplayedJti"].as_bool() {
                    st.settings.reject_replayed_jti = b;
                }
                if let Some(o) = v["clockOffset"].as_i64() {
                    st.settings.clock_offset = o;
                }
                if let Some(d) = v["keyReplicationDelay"].as_i64() {
                    st.settings.key_replication_delay = d;
                }
                if v.get("maxKeyLifetimeDays").is_some() {
                    st.settings.max_key_lifetime_days = v["maxKeyLifetimeDays"].as_i64();
                }
                let text = |k: &str| v[k].as_str().map(String::from);
                if let Some(l) = v["identityTokenLifetime"].as_i64() {
                    st.settings.identity_token_lifetime = l;
                }
                if let Some(t) = text("identityHeader") {
                    st.settings.identity_header = t;
                }
                if let Some(t) = text("githubRequestToken") {
                    st.settings.github_request_token = t;
                }
                if let Some(t) = text("githubSubject") {
                    st.settings.github_subject = t;
                }
                if let Some(t) = text("pipelinesAccessToken") {
                    st.settings.pipelines_access_token = t;
                }
                if let Some(r) = v["resources"].as_array() {
                    st.settings.resources.extend(r.iter().filter_map(|x| x.as_str().map(String::from)));
                }
                Ok(())
            }
            ["reset"] => {
                st.token_requests = 0;
                st.identity_requests = 0;
                st.oidc_requests = 0;
                st.issued = 0;
                st.rejected = 0;
                st.events.clear();
                st.faults.clear();
                Ok(())
            }
            _ => Err("unknown admin endpoint".into()),
        }
    })();
    match result {
        Ok(()) => reply(request, 200, &json!({"ok": true})),
        Err(e) => reply(request, 400, &json!({"ok": false, "error": e})),
    }
}

fn discovery(emu: &Emulator, request: Request, tenant: &str) {
    let tid = lock(emu).tenant(tenant).map(|t| t.id.clone());
    let Some(tid) = tid else {
        let err = aadsts::tenant_not_found(tenant);
        return reply(request, err.status, &err.body());
    };
    let base = &emu.base_url;
    reply(
        request,
        200,
        &json!({
            "issuer": format!("{base}/{tid}/v2.0"),
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": "NA",
        }),
    );
}

fn jwks(emu: &Emulator) -> Value {
    let rsa = emu.signing_key.rsa().expect("RSA key");
    json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": emu.kid,
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
    }]})
}

/// Applies a queued fault; true when the request was answered by it.
fn inject(fault: &Fault, request: Request) -> Option<Request> {
    match fault.kind.as_str() {
        kind if kind.parse::<u16>().is_ok() => {
            let status: u16 = kind.parse().unwrap_or(503);
            let mut resp = json_response(status, &json!({"error": "temporarily_unavailable"}));
            if let Some(secs) = fault.retry_after {
                resp = resp.with_header(Header::from_bytes("Retry-After", secs.to_string()).expect("header"));
            }
            if (300..400).contains(&status) {
                // Back to the same URL: a client that follows it is seen twice.
                resp = resp.with_header(Header::from_bytes("Location", request.url()).expect("header"));
            }
            let _ = request.respond(resp);
            None
        }
        "garbage" => {
            let _ = request.respond(Response::from_string("<html>\u{1}\u{2} not json").with_status_code(200));
            None
        }
        "reset" => {
            // Answer with bytes that are not HTTP: the client's connection
            // breaks at once, as with a reset by a middlebox.
            let mut w = request.into_writer();
            let _ = w.write_all(b"\x00\x15\x03 not an HTTP response\r\n\r\n");
            let _ = w.flush();
            None
        }
        "slow" => {
            std::thread::sleep(std::time::Duration::from_millis(fault.delay_ms.unwrap_or(2000)));
            Some(request)
        }
        _ => Some(request),
    }
}

fn form(body: &str) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

fn token_endpoint(emu: &Emulator, request: Request, tenant: &str, body: &str) {
    let fault = {
        let mut st = lock(emu);
        st.token_requests += 1;
        st.next_fault("token")
    };
    if let Some(f) = fault.as_ref().filter(|f| f.kind == "echo") {
        // An endpoint that shows the request in its error text: secrets a client sent included.
        lock(emu).record(json!({"fault": f.kind}));
        let description = format!("AADSTS900144: The request was: {body}");
        return reply(
            request,
            400,
            &json!({"error": "invalid_request", "error_description": description, "error_codes": [900144]}),
        );
    }
    let request = match fault {
        Some(f) => match inject(&f, request) {
            Some(r) => r,
            None => {
                lock(emu).record(json!({"fault": f.kind}));
                return;
            }
        },
        None => request,
    };
    let fields = form(body);
    let outcome = grant(emu, tenant, &fields);
    let header = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
    };
    let client_request_id = header("client-request-id");
    let mut st = lock(emu);
    let mut event = json!({
        "clientRequestId": client_request_id,
        "returnClientRequestId": header("return-client-request-id"),
        "tenant": tenant,
        "clientId": fields.get("client_id"),
        "scope": fields.get("scope"),
        "grantType": fields.get("grant_type"),
        "auth": if fields.contains_key("client_assertion") { "assertion" } else if fields.contains_key("client_secret") { "secret" } else { "none" },
        "tokenType": fields.get("token_type"),
        "reqCnf": fields.get("req_cnf"),
    });
    match outcome {
        Ok((resp, seen)) => {
            st.issued += 1;
            if let Some(seen) = seen {
                event["assertionHeader"] = seen.header;
                event["assertionClaims"] = seen.claims;
            }
            event["assertion"] = json!(fields.get("client_assertion"));
            event["status"] = json!(200);
            st.record(event);
            drop(st);
            reply(request, 200, &resp);
        }
        Err(err) => {
            st.rejected += 1;
            event["status"] = json!(err.status);
            event["code"] = json!(err.code);
            st.record(event);
            drop(st);
            reply(request, err.status, &err.body_for(client_request_id.as_deref()));
        }
    }
}

type Granted = (Value, Option<verify::Seen>);

/// The keys of the assertion's issuer: the emulator's own issuers use its
/// key; others are registered with their JWKS. None: an issuer it does not know.
fn issuer_keys(
    emu: &Emulator,
    st: &State,
    assertion: &str,
) -> Option<Vec<(Option<String>, PKey<openssl::pkey::Public>)>> {
    let iss = federation::claims(assertion)?["iss"].as_str()?.to_string();
    let own = [identity::GITHUB, identity::PIPELINES, identity::KUBERNETES];
    let (entra_before, entra_after) = identity::ENTRA_V2_ISSUER;
    // Entra's own v2 issuer: a managed identity's token for a token exchange audience.
    let entra = iss.strip_prefix(entra_before).and_then(|t| t.strip_suffix(entra_after)).is_some_and(|t| {
        st.tenant(t).is_some() || st.managed_identities.iter().any(|m| m.tenant.as_deref() == Some(t))
    });
    if entra || own.iter().any(|p| iss == format!("{}/{p}", emu.base_url)) {
        return Some(vec![(Some(emu.kid.clone()), emu.public_key.clone())]);
    }
    st.issuers.iter().find(|i| i.issuer == iss).map(federation::issuer_keys)
}

/// The client-credentials grant, checked in Entra's order.
fn grant(
    emu: &Emulator,
    tenant_in_path: &str,
    f: &std::collections::HashMap<String, String>,
) -> Result<Granted, Aadsts> {
    let st = lock(emu);
    let now = chrono::Utc::now().timestamp() + st.settings.clock_offset;
    // Federated tokens are reused while they live (the kubelet's file): no replay check.
    let mut federated = false;
    let tenant = st.tenant(tenant_in_path).ok_or_else(|| aadsts::tenant_not_found(tenant_in_path))?;
    match f.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        None => return Err(aadsts::missing_parameter("grant_type")),
        Some(other) => {
            return Err(Aadsts::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    }
    let client_id = f.get("client_id").ok_or_else(|| aadsts::missing_parameter("client_id"))?.to_ascii_lowercase();
    let client = tenant
        .clients
        .iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| aadsts::app_not_found(&client_id, tenant_in_path))?;
    let scope = f.get("scope").ok_or_else(|| aadsts::missing_parameter("scope"))?;
    let resource = match scope.strip_suffix("/.default") {
        Some(r) if !r.is_empty() && !scope.contains(' ') => r.to_string(),
        _ => return Err(aadsts::invalid_scope(scope)),
    };
    if !st.settings.resources.iter().any(|r| r.eq_ignore_ascii_case(&resource)) {
        return Err(aadsts::resource_not_found(&resource, tenant_in_path));
    }
    let seen = if let Some(assertion) = f.get("client_assertion") {
        if f.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(Aadsts::new(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed. client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            ));
        }
        if federation::is_federated(assertion, &client_id) {
            let keys = issuer_keys(emu, &st, assertion);
            federated = true;
            Some(federation::verify(assertion, client, keys, now)?)
        } else {
            let requested = format!("{}/{tenant_in_path}/oauth2/v2.0/token", emu.base_url);
            let by_id = format!("{}/{}/oauth2/v2.0/token", emu.base_url, tenant.id);
            let aud = verify::Audience { requested_endpoint: &requested, tenant_endpoint: &by_id };
            Some(verify::verify(assertion, client, &aud, now)?)
        }
    } else if let Some(secret) = f.get("client_secret") {
        if !client.secrets.iter().any(|s| s == secret) {
            return Err(aadsts::invalid_secret(&client_id));
        }
        None
    } else {
        return Err(aadsts::no_credential());
    };
    let tid = tenant.id.clone();
    let lifetime = st.settings.token_lifetime;
    let refresh_in = st.settings.refresh_in;
    let replay_check = st.settings.reject_replayed_jti;
    drop(st);
    if let Some(jti) = seen.as_ref().and_then(|s| s.claims["jti"].as_str())
        && replay_check
        && !federated
        && !lock(emu).seen_jti.insert(jti.to_string())
    {
        return Err(Aadsts::new(
            401,
            "invalid_client",
            50027,
            format!("JWT token is invalid or malformed. The client assertion jti '{jti}' has already been used."),
        ));
    }
    let cnf = pop_confirmation(f)?;
    let token_type = if cnf.is_some() { "pop" } else { "Bearer" };
    let token = access_token(emu, &resource, &tid, &client_id, now, lifetime, cnf);
    let mut resp = json!({
        "token_type": token_type,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    });
    if let Some(r) = refresh_in {
        resp["refresh_in"] = json!(r);
    }
    Ok((resp, seen))
}

/// A PoP request's key (`token_type=pop` with `req_cnf`, base64url of
/// `{"kid": …}`): the access token's `cnf` claim. None for a bearer request.
fn pop_confirmation(f: &std::collections::HashMap<String, String>) -> Result<Option<Value>, Aadsts> {
    match f.get("token_type").map(String::as_str) {
        None | Some("bearer" | "Bearer") => return Ok(None),
        Some("pop") => {}
        Some(other) => {
            return Err(Aadsts::new(400, "invalid_request", 900144, format!("token_type '{other}' is not supported.")));
        }
    }
    let req_cnf = f.get("req_cnf").ok_or_else(|| aadsts::missing_parameter("req_cnf"))?;
    let cnf: Value = URL_SAFE_NO_PAD
        .decode(req_cnf)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|v: &Value| v["kid"].as_str().is_some_and(|k| !k.is_empty()))
        .ok_or_else(|| {
            Aadsts::new(
                400,
                "invalid_request",
                5002738,
                "AADSTS5002738: Invalid req_cnf: it must be base64url JSON with a kid.",
            )
        })?;
    let mut claim = json!({"kid": cnf["kid"]});
    if let Some(ksl) = cnf.get("xms_ksl") {
        claim["xms_ksl"] = ksl.clone();
    }
    Ok(Some(claim))
}

/// ACR's `/oauth2/exchange`, so the offline demo and benchmark can run the
/// docker helper end to end: an emulator token for the registry audience in,
/// a refresh token (a JWT living 3 hours, as ACR's) out.
fn acr_exchange(emu: &Emulator, request: Request, body: &str) {
    let fault = lock(emu).next_fault("exchange");
    if let Some(f) = fault {
        if f.kind == "echo" {
            // A registry that shows the request in its error, terminal controls included.
            let message = format!("\u{1b}[31mbad request\u{1b}[0m: {body}");
            return reply(request, 400, &json!({"errors": [{"code": "DENIED", "message": message}]}));
        }
        let Some(request) = inject(&f, request) else { return };
        return acr_exchange_answer(emu, request, body);
    }
    acr_exchange_answer(emu, request, body)
}

fn acr_exchange_answer(emu: &Emulator, request: Request, body: &str) {
    let f = form(body);
    let now = chrono::Utc::now().timestamp();
    let token_ok = f
        .get("access_token")
        .is_some_and(|t| own_token_audience(emu, t, now).as_deref() == Some("https://containerregistry.azure.net"));
    if f.get("grant_type").map(String::as_str) != Some("access_token") || !token_ok {
        return reply(request, 401, &json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid access token"}]}));
    }
    lock(emu).exchanges += 1;
    let service = f.get("service").cloned().unwrap_or_default();
    let claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "sub": "acr-emulator", "nbf": now, "exp": now + 3 * 3600,
                        "iat": now, "iss": "Azure Container Registry", "aud": service, "grant_type": "refresh_token",
                        "tenant": f.get("tenant")});
    reply(request, 200, &json!({"refresh_token": sign(emu, &json!({"typ": "JWT", "alg": "RS256"}), &claims)}));
}

/// The `aud` of a token this emulator issued and that is still valid.
fn own_token_audience(emu: &Emulator, token: &str, now: i64) -> Option<String> {
    own_token_claims(emu, token, now).and_then(|c| c["aud"].as_str().map(String::from))
}

/// The claims of a token this emulator issued and that is still valid.
fn own_token_claims(emu: &Emulator, token: &str, now: i64) -> Option<Value> {
    let mut parts = token.split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
    let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &emu.signing_key).ok()?;
    v.update(format!("{h}.{c}").as_bytes()).ok()?;
    if !v.verify(&sig).ok()? {
        return None;
    }
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    (claims["exp"].as_i64()? > now).then_some(claims)
}

fn sign(emu: &Emulator, header: &Value, claims: &Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
    let signed = format!("{}.{}", enc(header), enc(claims));
    let signature = Signer::new(MessageDigest::sha256(), &emu.signing_key)
        .and_then(|mut s| {
            s.update(signed.as_bytes())?;
            s.sign_to_vec()
        })
        .unwrap_or_default();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An RS256 JWT shaped like Entra's app-only v1 access tokens; a PoP token
/// carries the key it is bound to in `cnf`.
fn access_token(
    emu: &Emulator,
    resource: &str,
    tid: &str,
    appid: &str,
    now: i64,
    lifetime: i64,
    cnf: Option<Value>,
) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": emu.kid, "x5t": emu.kid});
    let oid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{tid}/{appid}").as_bytes()).to_string();
    let claims = json!({
        "aud": resource,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": appid, "appidacr": "2", "idp": format!("https://sts.windows.net/{tid}/"),
        "idtyp": "app", "oid": oid, "sub": oid, "tid": tid,
        "uti": uuid::Uuid::new_v4().simple().to_string(), "ver": "1.0",
    });
    let mut claims = claims;
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    sign(emu, &header, &claims)
}
