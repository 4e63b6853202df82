//! The token source: cache first, then the profile's credential at Entra ID.
//! It knows nothing about the tools that asked.

pub mod cache;
pub mod entra;

use std::path::Path;

use crate::credential::{self, AuthContext};
use crate::error::{Kind, Result};
use crate::profile::Profile;
use cache::{Cache, Entry, Key};

/// Reuse a token until this many seconds before it expires (MSAL's margin).
pub const DEFAULT_MIN_VALIDITY: i64 = 300;

pub struct TokenRequest<'a> {
    pub profile: &'a Profile,
    pub scope: &'a str,
    pub force_refresh: bool,
    pub min_validity: i64,
    /// Try this certificate instead of the profile's; bypasses the cache.
    pub certificate_override: Option<&'a Path>,
    pub allow_prompt: bool,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: String,
    pub expires_on: i64,
}

impl From<&Entry> for Token {
    fn from(e: &Entry) -> Self {
        Token { access_token: e.access_token.clone(), expires_on: e.expires_on }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Where a profile's tokens come from and how they are keyed.
pub struct Source {
    pub authority: String,
    pub key: Key,
    credential: Box<dyn credential::Credential>,
}

impl Source {
    pub fn new(profile: &Profile, scope: &str, certificate_override: Option<&Path>) -> Result<Source> {
        let authority = entra::authority_host(profile)?;
        let credential = credential::for_profile(profile, certificate_override)?;
        let identity = credential.identity()?;
        let key =
            Key::new(&profile.name, &["entra", &authority, &profile.tenant_id, &profile.client_id, scope, &identity]);
        Ok(Source { authority, key, credential })
    }
}

/// An Entra ID access token for the request, from the cache when it is fresh.
/// `warnings` collects what the user should hear on stderr (not in helper stdout).
pub fn acquire(req: &TokenRequest, warnings: &mut Vec<String>) -> Result<Token> {
    let source = Source::new(req.profile, req.scope, req.certificate_override)?;
    if req.certificate_override.is_some() {
        let entry = fetch(req, &source, warnings)?;
        return Ok(Token::from(&entry));
    }
    let cache = Cache::open()?;
    let entry =
        through_cache(&cache, &source.key, req.min_validity, req.force_refresh, warnings, |w| fetch(req, &source, w))?;
    Ok(Token::from(&entry))
}

/// Cache first, with single flight: a fresh entry is returned at once;
/// otherwise the process holding the key's lock runs `fetch` while the
/// others wait and then find its result. When `fetch` cannot reach the
/// service, a cached entry that has not expired is served with a warning
/// (unless a refresh was forced: then there is no fallback to the old one).
pub fn through_cache(
    cache: &Cache,
    key: &Key,
    min_validity: i64,
    force: bool,
    warnings: &mut Vec<String>,
    fetch: impl FnOnce(&mut Vec<String>) -> Result<Entry>,
) -> Result<Entry> {
    let fresh = |e: &Entry| !force && e.is_fresh(now(), min_validity);
    if let Some(hit) = cache.read(key).filter(fresh) {
        return Ok(hit);
    }
    let _lock = cache.lock(key)?;
    let cached = cache.read(key);
    if let Some(hit) = cached.as_ref().filter(|e| fresh(e)) {
        return Ok(hit.clone());
    }
    match fetch(warnings) {
        Ok(entry) => {
            if let Err(e) = cache.write(key, &entry) {
                warnings.push(format!("the token was not cached: {e}"));
            }
            Ok(entry)
        }
        Err(e) if e.kind == Kind::Unavailable && !force => match cached.filter(|c| c.is_unexpired(now())) {
            Some(c) => {
                warnings.push(format!(
                    "{e}\nserving the cached token, valid until {}",
                    chrono::DateTime::from_timestamp(c.expires_on, 0).unwrap_or_default().to_rfc3339()
                ));
                Ok(c)
            }
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn fetch(req: &TokenRequest, source: &Source, warnings: &mut Vec<String>) -> Result<Entry> {
    let profile = req.profile;
    let endpoint = entra::token_endpoint(&source.authority, &profile.tenant_id);
    let mut ctx = AuthContext { allow_prompt: req.allow_prompt, warnings: Vec::new() };
    let timer = std::time::Instant::now();
    let auth = source.credential.authenticate(&endpoint, &mut ctx)?;
    let credential_time = timer.elapsed();
    warnings.append(&mut ctx.warnings);
    let mut form: Vec<(&str, &str)> =
        vec![("client_id", &profile.client_id), ("scope", req.scope), ("grant_type", "client_credentials")];
    form.extend(auth.fields.iter().map(|(k, v)| (*k, v.as_str())));
    let started = now();
    let timer = std::time::Instant::now();
    let granted = entra::request(&endpoint, &form, &profile.client_id)?;
    if std::env::var_os("ENTRATOOL_TIMING").is_some() {
        // For benchmarks: where a cold fetch spends its time.
        eprintln!(
            "timing: credential {:.2} ms, entra {:.2} ms",
            credential_time.as_secs_f64() * 1e3,
            timer.elapsed().as_secs_f64() * 1e3
        );
    }
    auth.accepted(warnings);
    Ok(Entry {
        key: source.key.hash.clone(),
        profile: profile.name.clone(),
        kind: "entra".into(),
        resource: req.scope.to_string(),
        credential: auth.label,
        access_token: granted.access_token,
        expires_on: started + granted.expires_in,
        refresh_on: granted.refresh_in.map(|r| started + r),
        obtained_on: started,
    })
}
