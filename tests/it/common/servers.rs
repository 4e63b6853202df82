//! The servers the real clients talk to in the tests: a git smart-HTTP
//! server (git's own http-backend behind a token check), a Kubernetes API
//! server stub and an ACR-like registry. Each accepts only tokens signed by
//! the emulator for its own audience.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

use super::{Emulator, TestCert};

/// Checks RS256 JWTs against one public key.
#[derive(Clone)]
pub struct Validator {
    key: PKey<Public>,
}

impl Validator {
    /// The emulator's signing key, from its JWKS endpoint.
    pub fn for_emulator(emu: &Emulator) -> Validator {
        let text = reqwest::blocking::get(format!("{}/common/discovery/v2.0/keys", emu.url)).unwrap().text().unwrap();
        let jwks: Value = serde_json::from_str(&text).unwrap();
        let (key, _) = jwk_key(&jwks["keys"][0]).expect("the emulator's RSA JWK");
        Validator { key }
    }

    /// The claims when the signature is good, `aud` matches and it has not expired.
    pub fn check(&self, token: &str, aud: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        let mut v = Verifier::new(MessageDigest::sha256(), &self.key).ok()?;
        v.update(format!("{h}.{c}").as_bytes()).ok()?;
        if !v.verify(&sig).ok()? {
            return None;
        }
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
        let now = chrono::Utc::now().timestamp();
        (claims["aud"] == aud && claims["exp"].as_i64()? > now).then_some(claims)
    }
}

fn header(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap()
}

fn request_header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

/// The token of `Authorization: Bearer …`, or the password of `Basic …`.
fn presented_token(req: &Request) -> Option<(String, &'static str)> {
    let auth = request_header(req, "Authorization")?;
    if let Some(t) = auth.strip_prefix("Bearer ") {
        return Some((t.trim().to_string(), "bearer"));
    }
    let b = auth.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(b.trim()).ok()?).ok()?;
    let (_, password) = decoded.split_once(':')?;
    Some((password.to_string(), "basic"))
}

fn spawn(server: Server, handler: impl Fn(Request) + Send + Sync + 'static) {
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let h = handler.clone();
            std::thread::spawn(move || h(req));
        }
    });
}

fn https_server(tls: &TestCert) -> Server {
    let ssl = tiny_http::SslConfig {
        certificate: std::fs::read(&tls.cert_pem).unwrap(),
        private_key: std::fs::read(&tls.key_pem).unwrap(),
    };
    Server::https("127.0.0.1:0", ssl).unwrap()
}

fn port(server: &Server) -> u16 {
    server.server_addr().to_ip().unwrap().port()
}

/// Counters a test reads back.
#[derive(Default)]
pub struct Counts {
    pub unauthorized: AtomicU64,
    pub authorized: AtomicU64,
    pub schemes: Mutex<Vec<&'static str>>,
    pub exchanges: AtomicU64,
    /// The signed HTTP requests an Arc cluster accepted: their payloads without `at`.
    pub shrs: Mutex<Vec<Value>>,
    /// Why the Arc cluster refused each request it refused.
    pub refusals: Mutex<Vec<String>>,
}

/// git smart HTTP: `http://127.0.0.1:PORT/org/_git/<repo>` served by `git http-backend`.
pub struct GitServer {
    pub url: String,
    pub counts: Arc<Counts>,
    pub root: PathBuf,
}

pub const DEVOPS_AUD: &str = "499b84ac-1321-427f-aa17-267ca6975798";

impl GitServer {
    pub fn start(validator: Validator, root: &Path) -> GitServer {
        let server = Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", port(&server));
        let counts = Arc::new(Counts::default());
        let (c, r) = (counts.clone(), root.to_path_buf());
        spawn(server, move |req| git_request(req, &validator, &c, &r));
        GitServer { url, counts, root: root.to_path_buf() }
    }
}

fn git_request(mut req: Request, validator: &Validator, counts: &Counts, root: &Path) {
    let authorized = presented_token(&req).and_then(|(t, scheme)| validator.check(&t, DEVOPS_AUD).map(|_| scheme));
    let Some(scheme) = authorized else {
        counts.unauthorized.fetch_add(1, Ordering::SeqCst);
        let resp = Response::from_string("unauthorized")
            .with_status_code(401)
            .with_header(header(
                "WWW-Authenticate",
                "Bearer authorization_uri=https://login.microsoftonline.com/common",
            ))
            .with_header(header("WWW-Authenticate", "Basic realm=\"test\""));
        let _ = req.respond(resp);
        return;
    };
    counts.authorized.fetch_add(1, Ordering::SeqCst);
    counts.schemes.lock().unwrap().push(scheme);
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let Some(rest) = path.strip_prefix("/org/_git/") else {
        let _ = req.respond(Response::from_string("not found").with_status_code(404));
        return;
    };
    let mut body = Vec::new();
    req.as_reader().read_to_end(&mut body).unwrap();
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{rest}"))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", req.method().as_str())
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string());
    for (h, var) in [
        ("Content-Type", "CONTENT_TYPE"),
        ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ("Git-Protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(v) = request_header(&req, h) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let out = child.wait_with_output().unwrap();
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout[..split.0]).to_string();
    let mut resp = Response::from_data(out.stdout[split.0 + split.1..].to_vec());
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.eq_ignore_ascii_case("Status") {
            resp = resp.with_status_code(v.trim().split(' ').next().unwrap().parse::<u16>().unwrap());
        } else {
            resp = resp.with_header(header(k.trim(), v.trim()));
        }
    }
    let _ = req.respond(resp);
}

pub const AKS_AUD: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// A Kubernetes API server stub over HTTPS that answers `/api` for an AKS token.
pub fn start_kube_api(validator: Validator, tls: &TestCert) -> (String, Arc<Counts>) {
    let server = https_server(tls);
    let url = format!("https://127.0.0.1:{}", port(&server));
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    spawn(server, move |req| {
        let ok = presented_token(&req).is_some_and(|(t, s)| s == "bearer" && validator.check(&t, AKS_AUD).is_some());
        let json_header = header("Content-Type", "application/json");
        let resp = if !ok {
            c.unauthorized.fetch_add(1, Ordering::SeqCst);
            Response::from_string(json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}).to_string())
                .with_status_code(401)
        } else if req.url().starts_with("/api") {
            c.authorized.fetch_add(1, Ordering::SeqCst);
            Response::from_string(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}).to_string())
        } else {
            Response::from_string("{}").with_status_code(404)
        };
        let _ = req.respond(resp.with_header(json_header));
    });
    (url, counts)
}

pub const ARC_AUD: &str = "6256c85f-0aad-4d50-b960-e6e9b21efe35";

/// An RSA public JWK's key and RFC 7638 thumbprint, computed here (not by entratool).
fn jwk_key(jwk: &Value) -> Option<(PKey<Public>, String)> {
    let (n, e) = (jwk["n"].as_str()?, jwk["e"].as_str()?);
    let key = Rsa::from_public_components(
        BigNum::from_slice(&URL_SAFE_NO_PAD.decode(n).ok()?).ok()?,
        BigNum::from_slice(&URL_SAFE_NO_PAD.decode(e).ok()?).ok()?,
    )
    .ok()?;
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let digest = openssl::hash::hash(MessageDigest::sha256(), canonical.as_bytes()).ok()?;
    Some((PKey::from_rsa(key).ok()?, URL_SAFE_NO_PAD.encode(digest)))
}

/// Checks a signed HTTP request as an Arc cluster's connect endpoint does:
/// an RS256 signature by the key in `cnf.jwk`, whose thumbprint is the `cnf`
/// of a valid access token for Arc; `u` the cluster's ARM ID; `ts` within 5
/// minutes. The payload (without `at`) when it passes, else why not.
pub fn check_shr(validator: &Validator, shr: &str, arm_id: &str) -> Result<Value, String> {
    let parts: Vec<&str> = shr.split('.').collect();
    let [h, p, s] = parts[..] else { return Err("not three parts".into()) };
    let decode = |x: &str| -> Option<Value> { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(x).ok()?).ok() };
    let (header, mut payload) = (decode(h).ok_or("header")?, decode(p).ok_or("payload")?);
    if header["typ"] != "pop" || header["alg"] != "RS256" {
        return Err(format!("not a PoP SHR: {header}"));
    }
    let (key, thumbprint) = jwk_key(&payload["cnf"]["jwk"]).ok_or("no cnf.jwk")?;
    if header["kid"] != thumbprint.as_str() {
        return Err("the header's kid is not the key's thumbprint".into());
    }
    let mut v = Verifier::new(MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
    v.update(format!("{h}.{p}").as_bytes()).map_err(|e| e.to_string())?;
    if !v.verify(&URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?).unwrap_or(false) {
        return Err("the signature is not by cnf.jwk".into());
    }
    let at = payload["at"].as_str().ok_or("no at")?.to_string();
    let claims = validator.check(&at, ARC_AUD).ok_or("at is not a valid access token for Arc")?;
    if claims["cnf"]["kid"] != thumbprint.as_str() {
        return Err("the access token is bound to another key".into());
    }
    if payload["u"] != arm_id {
        return Err(format!("u is {}, not this cluster", payload["u"]));
    }
    let ts = payload["ts"].as_i64().ok_or("no ts")?;
    if (chrono::Utc::now().timestamp() - ts).abs() > 300 {
        return Err(format!("ts {ts} is more than 5 minutes away"));
    }
    payload.as_object_mut().map(|o| o.remove("at"));
    Ok(payload)
}

/// A Kubernetes API server stub behind Azure Arc's cluster connect: it takes
/// only a signed HTTP request (as kubectl sends a plugin's token: `Bearer`)
/// that [`check_shr`] accepts for `arm_id`.
pub fn start_arc_api(validator: Validator, tls: &TestCert, arm_id: &str) -> (String, Arc<Counts>) {
    let server = https_server(tls);
    let url = format!("https://127.0.0.1:{}", port(&server));
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let arm_id = arm_id.to_string();
    spawn(server, move |req| {
        let checked = match presented_token(&req) {
            Some((t, "bearer")) => check_shr(&validator, &t, &arm_id),
            _ => Err("no bearer token".into()),
        };
        let json_header = header("Content-Type", "application/json");
        let resp = match checked {
            Err(why) => {
                c.unauthorized.fetch_add(1, Ordering::SeqCst);
                c.refusals.lock().unwrap().push(why);
                Response::from_string(json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}).to_string())
                    .with_status_code(401)
            }
            Ok(payload) if req.url().starts_with("/api") => {
                c.authorized.fetch_add(1, Ordering::SeqCst);
                c.shrs.lock().unwrap().push(payload);
                Response::from_string(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}).to_string())
            }
            Ok(_) => Response::from_string("{}").with_status_code(404),
        };
        let _ = req.respond(resp.with_header(json_header));
    });
    (url, counts)
}

pub const ACR_AUD: &str = "https://containerregistry.azure.net";

/// An ACR-like registry over HTTPS: the `/v2/` challenge, `/oauth2/exchange`
/// (Entra token → refresh token), `/oauth2/token` (refresh token → access
/// token, by Basic auth or form) and one small image `hello:latest`.
pub struct Registry {
    pub host: String,
    pub counts: Arc<Counts>,
}

struct RegistryState {
    key: PKey<Private>,
    validator: Validator,
    host: String,
    tenant: String,
    manifest: Vec<u8>,
    config: Vec<u8>,
    counts: Arc<Counts>,
    tokens: Mutex<HashMap<String, &'static str>>,
}

fn sign_jwt(key: &PKey<Private>, claims: &Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signed = format!("{}.{}", enc(&json!({"alg": "RS256", "typ": "JWT"})), enc(claims));
    let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
    s.update(signed.as_bytes()).unwrap();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(s.sign_to_vec().unwrap()))
}

fn sha256_hex(b: &[u8]) -> String {
    openssl::sha::sha256(b).iter().map(|x| format!("{x:02x}")).collect()
}

impl Registry {
    pub fn start(validator: Validator, tls: &TestCert, tenant: &str) -> Registry {
        let server = https_server(tls);
        let host = format!("127.0.0.1:{}", port(&server));
        let config = json!({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["/hello"]}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []})
        .to_string()
        .into_bytes();
        let layer = b"not really a layer";
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": format!("sha256:{}", sha256_hex(&config))},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": format!("sha256:{}", sha256_hex(layer))}]})
            .to_string().into_bytes();
        let counts = Arc::new(Counts::default());
        let state = Arc::new(RegistryState {
            key: PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
            validator,
            host: host.clone(),
            tenant: tenant.to_string(),
            manifest,
            config,
            counts: counts.clone(),
            tokens: Mutex::new(HashMap::new()),
        });
        spawn(server, move |req| registry_request(req, &state));
        Registry { host, counts }
    }
}

fn form_of(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

fn registry_request(mut req: Request, st: &RegistryState) {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    let json_resp = |status: u16, v: Value| {
        Response::from_string(v.to_string())
            .with_status_code(status)
            .with_header(header("Content-Type", "application/json"))
    };
    let now = chrono::Utc::now().timestamp();
    let resp = match path {
        "/oauth2/exchange" => {
            let f = form_of(&body);
            let ok = f.get("grant_type").map(String::as_str) == Some("access_token")
                && f.get("service") == Some(&st.host)
                && f.get("tenant") == Some(&st.tenant)
                && f.get("access_token").and_then(|t| st.validator.check(t, ACR_AUD)).is_some();
            if ok {
                st.counts.exchanges.fetch_add(1, Ordering::SeqCst);
                let refresh = sign_jwt(
                    &st.key,
                    &json!({"grant_type": "refresh_token", "service": st.host, "exp": now + 3 * 3600, "jti": uuid::Uuid::new_v4().to_string()}),
                );
                st.tokens.lock().unwrap().insert(refresh.clone(), "refresh");
                json_resp(200, json!({"refresh_token": refresh}))
            } else {
                st.counts.unauthorized.fetch_add(1, Ordering::SeqCst);
                json_resp(401, json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid Entra token"}]}))
            }
        }
        "/oauth2/token" => {
            let f = if req.method().as_str() == "POST" { form_of(&body) } else { form_of(query) };
            let refresh = f.get("refresh_token").cloned().or_else(|| presented_token(&req).map(|(t, _)| t));
            let valid = refresh.is_some_and(|r| st.tokens.lock().unwrap().get(&r) == Some(&"refresh"));
            if valid {
                let access = sign_jwt(
                    &st.key,
                    &json!({"access": f.get("scope"), "exp": now + 3600, "jti": uuid::Uuid::new_v4().to_string()}),
                );
                st.tokens.lock().unwrap().insert(access.clone(), "access");
                json_resp(200, json!({"access_token": access, "token": access}))
            } else {
                st.counts.unauthorized.fetch_add(1, Ordering::SeqCst);
                json_resp(401, json!({"errors": [{"code": "UNAUTHORIZED", "message": "bad refresh token"}]}))
            }
        }
        _ => {
            let bearer = presented_token(&req).filter(|(_, s)| *s == "bearer").map(|(t, _)| t);
            let allowed = bearer.is_some_and(|t| st.tokens.lock().unwrap().get(&t) == Some(&"access"));
            if !allowed {
                let challenge = format!("Bearer realm=\"https://{}/oauth2/token\",service=\"{}\"", st.host, st.host);
                json_resp(401, json!({"errors": [{"code": "UNAUTHORIZED"}]}))
                    .with_header(header("WWW-Authenticate", &challenge))
            } else if path == "/v2/" {
                json_resp(200, json!({}))
            } else if path.starts_with("/v2/hello/manifests/") {
                st.counts.authorized.fetch_add(1, Ordering::SeqCst);
                Response::from_data(st.manifest.clone())
                    .with_header(header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json"))
                    .with_header(header("Docker-Content-Digest", &format!("sha256:{}", sha256_hex(&st.manifest))))
            } else if path == "/v2/hello/tags/list" {
                json_resp(200, json!({"name": "hello", "tags": ["latest"]}))
            } else if path.starts_with("/v2/hello/blobs/") {
                Response::from_data(st.config.clone()).with_header(header("Content-Type", "application/octet-stream"))
            } else {
                json_resp(404, json!({"errors": [{"code": "NAME_UNKNOWN"}]}))
            }
        }
    };
    let _ = req.respond(resp);
}
