//! docker's credential helper protocol (docker/docker-credential-helpers),
//! for Azure Container Registry: the Entra token is traded at the
//! registry's `/oauth2/exchange` for an ACR refresh token.

use std::io::Read;

use base64::Engine;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::profile::{self, Profile};
use crate::routing::{self, Target};
use crate::token::cache::{Cache, Entry, Key};
use crate::token::{self, DEFAULT_MIN_VALIDITY, TokenRequest};

pub const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";
/// The user name that marks the secret as an ACR refresh token.
pub const ACR_USERNAME: &str = "00000000-0000-0000-0000-000000000000";
pub const NOT_FOUND: &str = "credentials not found in native keychain";
const MAX_INPUT: u64 = 64 * 1024;

/// A failure in the protocol's shape: one line on stdout, details on stderr, exit 1.
fn fail(line: &str, detail: Option<&str>) -> i32 {
    println!("{line}");
    if let Some(d) = detail {
        eprintln!("entratool: {d}");
    }
    1
}

fn read_stdin() -> std::result::Result<String, String> {
    let mut buf = Vec::new();
    std::io::stdin().lock().take(MAX_INPUT).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    String::from_utf8(buf).map_err(|_| "the input is not UTF-8".to_string())
}

pub fn run(op: &str) -> i32 {
    match op {
        "get" => match read_stdin() {
            Ok(s) if s.trim().is_empty() => fail("no credentials server URL", None),
            Ok(server) => match get(server.trim()) {
                Ok(Some(answer)) => {
                    let _ = crate::cli::write_output(None, &answer);
                    0
                }
                Ok(None) => fail(NOT_FOUND, None),
                Err(e) => fail(&first_line(&e.message), Some(&e.message)),
            },
            Err(why) => fail("invalid credentials server URL", Some(&why)),
        },
        "store" => {
            let _ = read_stdin();
            0
        }
        "erase" => {
            let server = read_stdin().unwrap_or_default();
            if let Err(e) = erase(server.trim()) {
                eprintln!("entratool: {e}");
            }
            0
        }
        "list" => {
            let _ = read_stdin();
            match list() {
                Ok(v) => {
                    let _ = crate::cli::write_output(None, &format!("{v}\n"));
                    0
                }
                Err(e) => fail(&first_line(&e.message), Some(&e.message)),
            }
        }
        "version" => {
            println!("docker-credential-entratool (entratool) {}", env!("CARGO_PKG_VERSION"));
            0
        }
        other => fail(&format!("unknown operation '{other}': use get, store, erase, list or version"), None),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The bound profile and scope for a registry, or None.
fn bind(server: &str) -> Result<Option<(Target, Profile, String)>> {
    let Some(target) = Target::from_registry(server) else {
        return Ok(None);
    };
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let explicit = std::env::var("ENTRATOOL_PROFILE").ok().filter(|v| !v.is_empty());
    let found = match explicit {
        Some(name) => {
            let p = doc.get(&name, &store.path)?;
            routing::best_entry(p, &target).map(|(e, _)| (p, e))
        }
        None => routing::route(&doc.profiles, &target),
    };
    Ok(found.map(|(p, e)| (target.clone(), p.clone(), e.scope().unwrap_or(ACR_SCOPE).to_string())))
}

fn acr_key(profile: &Profile, registry: &str, entra_key: &Key) -> Key {
    Key::new(&profile.name, &["acr", registry, &entra_key.hash])
}

fn get(server: &str) -> Result<Option<String>> {
    let Some((target, profile, scope)) = bind(server)? else {
        return Ok(None);
    };
    let registry = target.host_port();
    let source = token::Source::new(&profile, &scope, None)?;
    let cache = Cache::open()?;
    let key = acr_key(&profile, &registry, &source.key);
    let mut warnings = Vec::new();
    let entry = token::through_cache(&cache, &key, DEFAULT_MIN_VALIDITY, false, &mut warnings, |w| {
        let request = TokenRequest {
            profile: &profile,
            scope: &scope,
            force_refresh: false,
            min_validity: DEFAULT_MIN_VALIDITY,
            certificate_override: None,
            allow_prompt: false,
        };
        let entra = token::acquire(&request, w)?;
        exchange(&registry, &profile, &key, &entra.access_token)
    })?;
    for w in warnings {
        eprintln!("entratool: warning: {w}");
    }
    let answer = json!({"ServerURL": server, "Username": ACR_USERNAME, "Secret": entry.access_token});
    Ok(Some(format!("{answer}\n")))
}

/// POST /oauth2/exchange: Entra access token in, ACR refresh token out.
fn exchange(registry: &str, profile: &Profile, key: &Key, entra_token: &str) -> Result<Entry> {
    let url = crate::http::check_url(&format!("https://{registry}/oauth2/exchange"))?;
    let form = [
        ("grant_type", "access_token"),
        ("service", registry),
        ("tenant", profile.tenant_id.as_str()),
        ("access_token", entra_token),
    ];
    let started = token::now();
    let resp = crate::http::post_form(&url, &form, "the registry")?;
    let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    let refresh = match (resp.status, body["refresh_token"].as_str()) {
        (200, Some(t)) if !t.is_empty() => t.to_string(),
        (status, _) => {
            let detail = body["errors"][0]["message"].as_str().or(body["error"].as_str()).unwrap_or("no refresh_token");
            return Err(Error::rejected(format!(
                "the registry {registry} refused the token exchange (HTTP {status}: {detail}). Check that the \
                 service principal has a role on the registry (e.g. AcrPull) and that the profile's tenant is the \
                 registry's"
            )));
        }
    };
    // ACR refresh tokens are JWTs; without a readable exp assume ACR's 3 hours.
    let expires_on = jwt_exp(&refresh).unwrap_or(started + 3 * 3600);
    Ok(Entry {
        key: key.hash.clone(),
        profile: profile.name.clone(),
        kind: "acr".into(),
        resource: registry.to_string(),
        credential: "acr refresh token".into(),
        access_token: refresh,
        expires_on,
        refresh_on: None,
        obtained_on: started,
    })
}

fn jwt_exp(jwt: &str) -> Option<i64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?["exp"].as_i64()
}

/// Drops the cached ACR and Entra tokens of the registry's profile.
fn erase(server: &str) -> Result<()> {
    let Some((target, profile, scope)) = bind(server)? else {
        return Ok(());
    };
    let cache = Cache::open()?;
    let source = token::Source::new(&profile, &scope, None)?;
    cache.remove(&acr_key(&profile, &target.host_port(), &source.key));
    cache.remove(&source.key);
    Ok(())
}

/// Every literal registry (a host entry, not a URL or a glob) of every profile.
fn list() -> Result<Value> {
    let doc = profile::Store::open()?.load()?;
    let mut out = serde_json::Map::new();
    for p in &doc.profiles {
        for e in &p.matches {
            let pattern = e.pattern();
            if !pattern.contains("://") && !pattern.contains('*') {
                out.insert(pattern.to_string(), ACR_USERNAME.into());
            }
        }
    }
    Ok(Value::Object(out))
}
