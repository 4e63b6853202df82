//! The token source: the cache first, then the profile's credential (Entra ID
//! or a managed identity endpoint), and for ACR the registry's exchange. It
//! knows nothing about the tools that asked.

pub mod acr;
pub mod cache;

use crate::credential::{self, AuthContext, Credential, Fetch, Grant, InnerTokens, SecretPrompt, TriedCertificate};
use crate::error::{Error, Result};
use crate::pop::{PopClaims, PopKey};
use crate::profile::Profile;
use cache::{Cache, Entry, EntryKind, Key, Want};

/// Reuse a token until this many seconds before it expires (MSAL's margin).
pub const DEFAULT_MIN_VALIDITY: i64 = 300;
/// Tokens living longer than this are renewed from half their lifetime on.
pub const LONG_LIVED: i64 = 2 * 3600;

/// What kind of token is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token for the scope.
    Access,
    /// An ACR refresh token for this registry (`host` or `host:port`),
    /// traded for an access token of the scope.
    AcrRefresh { registry: String },
}

pub struct TokenRequest<'a> {
    pub profile: &'a Profile,
    pub scope: &'a str,
    pub kind: TokenKind,
    pub force_refresh: bool,
    pub min_validity: i64,
    /// Try this certificate instead of the profile's; bypasses the cache.
    pub certificate_override: Option<TriedCertificate<'a>>,
    /// Who may be asked for a missing secret (the plain CLI on a terminal).
    pub prompt: Option<&'a dyn SecretPrompt>,
    /// A proof-of-possession token for these claims (Azure Arc): bound to the
    /// PoP key, cached apart from bearer tokens, handed out as a fresh signed
    /// request; certificate and secret profiles only.
    pub pop: Option<&'a PopClaims>,
}

impl<'a> TokenRequest<'a> {
    /// What a helper asks: cached when fresh, never a prompt.
    pub fn for_helper(profile: &'a Profile, scope: &'a str, kind: TokenKind) -> Self {
        TokenRequest {
            profile,
            scope,
            kind,
            force_refresh: false,
            min_validity: DEFAULT_MIN_VALIDITY,
            certificate_override: None,
            prompt: None,
            pop: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: String,
    pub expires_on: i64,
    /// A signed HTTP request carrying a PoP token, not a bearer token.
    pub pop: bool,
}

impl From<Entry> for Token {
    fn from(e: Entry) -> Self {
        Token { access_token: e.access_token, expires_on: e.expires_on, pop: false }
    }
}

impl Token {
    /// What a PoP token is handed out as: a fresh signed HTTP request (every
    /// call, cache hits too), valid until the access token expires or
    /// [`SHR_LIFETIME`](crate::pop::SHR_LIFETIME) has passed, whichever comes first.
    fn signed_for(self, key: &PopKey, claims: &PopClaims, now: i64) -> Result<Token> {
        let shr = key.signed_request(&self.access_token, claims, now)?;
        let expires_on = self.expires_on.min(now.saturating_add(crate::pop::SHR_LIFETIME));
        Ok(Token { access_token: shr, expires_on, pop: true })
    }
}

use crate::clock::now;

/// A profile's credential, the PoP key when a PoP token is wanted, and the
/// cache key of its access tokens for a scope.
struct Source {
    key: Key,
    credential: Box<dyn Credential>,
    pop: Option<PopKey>,
}

impl Source {
    fn new(req: &TokenRequest) -> Result<Source> {
        let (profile, scope) = (req.profile, req.scope);
        let credential = credential::for_profile(profile, req.certificate_override)?;
        let identity = credential.identity()?;
        if req.pop.is_none() {
            let key = Key::new(&profile.name, &["access", scope, &identity]);
            return Ok(Source { key, credential, pop: None });
        }
        // Refused before the key is read or made: a profile that cannot use it leaves no key behind.
        if !credential.supports_pop() {
            return Err(no_pop(profile));
        }
        let pop = PopKey::load_or_create()?;
        let key = Key::new(&profile.name, &["access", scope, &identity, "pop", pop.kid()]);
        Ok(Source { key, credential, pop: Some(pop) })
    }

    /// The token as it is handed out: an access token, or for PoP a fresh signed request carrying it.
    fn hand_out(&self, req: &TokenRequest, entry: Entry) -> Result<Token> {
        let token = Token::from(entry);
        match (&self.pop, req.pop) {
            (Some(key), Some(claims)) => token.signed_for(key, claims, now()),
            _ => Ok(token),
        }
    }

    fn acr_key(&self, profile: &Profile, registry: &str) -> Key {
        Key::new(&profile.name, &["acr", registry, &self.key.hash])
    }
}

/// The token for the request, from the cache when it is fresh.
/// `warnings` collects what the user should hear on stderr.
pub fn acquire(req: &TokenRequest, warnings: &mut Vec<String>) -> Result<Token> {
    match &req.kind {
        TokenKind::Access => crate::trace!("scope {}", req.scope),
        TokenKind::AcrRefresh { registry } => {
            crate::trace!("scope {}, for an ACR refresh token of {registry}", req.scope)
        }
    }
    let source = Source::new(req)?;
    if req.certificate_override.is_some() {
        let entry = fetch_access(req, &source, None, warnings)?;
        return source.hand_out(req, entry);
    }
    let cache = Cache::open()?;
    let want = Want { now: now(), min_validity: req.min_validity, force: req.force_refresh };
    let inner = Inner { cache: &cache, profile: &req.profile.name, now: want.now };
    let fetch = |w: &mut Vec<String>| fetch_access(req, &source, Some(&inner), w);
    let entry = match &req.kind {
        TokenKind::Access => cache.get_or_fetch(&source.key, want, warnings, fetch)?,
        TokenKind::AcrRefresh { registry } => {
            let key = source.acr_key(req.profile, registry);
            cache.get_or_fetch(&key, want, warnings, |w| {
                let access = cache.get_or_fetch(&source.key, want, w, fetch)?;
                let started = now();
                checked(acr::exchange(registry, req.profile, &key, &access.access_token)?, started)
            })?
        }
    };
    source.hand_out(req, entry)
}

/// Drops what is cached for the request (and, for ACR, the access token it
/// was traded for), so the next request fetches anew.
pub fn forget(req: &TokenRequest) -> Result<()> {
    let source = Source::new(req)?;
    let cache = Cache::open()?;
    if let TokenKind::AcrRefresh { registry } = &req.kind {
        cache.remove(&source.acr_key(req.profile, registry))?;
    }
    cache.remove(&source.key)
}

fn fetch_access(
    req: &TokenRequest,
    source: &Source,
    inner: Option<&dyn InnerTokens>,
    warnings: &mut Vec<String>,
) -> Result<Entry> {
    let pop = source.pop.as_ref().map(PopKey::req_cnf);
    let mut ctx = AuthContext { prompt: req.prompt, warnings: Vec::new(), inner, pop };
    let started = now();
    let grant = source.credential.get_token(req.scope, &mut ctx);
    warnings.append(&mut ctx.warnings);
    let grant = grant?;
    checked(entra_entry(&source.key, &req.profile.name, req.scope, grant, started), started)
}

/// A PoP token was asked of a profile whose credential cannot ask for one.
fn no_pop(profile: &Profile) -> Error {
    Error::usage(format!(
        "profile '{}' uses {}: proof-of-possession tokens (Azure Arc, --pop-claims) come only from certificate and \
         secret profiles",
        profile.name,
        profile.auth_method().label()
    ))
    .with_remedy(
        "use a profile with a certificate or a client secret for the Arc cluster (as kubelogin's --pop-enabled), or \
         drop --pop-claims (and the profile's popClaims) for clusters that take bearer tokens (docs/kubectl.md)",
    )
}

/// The cache lent to a credential for a token of its own (a managed
/// identity's, the assertion of its app's request): its own key under the
/// profile, the same single flight and checks as every token.
struct Inner<'a> {
    cache: &'a Cache,
    profile: &'a str,
    now: i64,
}

impl InnerTokens for Inner<'_> {
    fn get_or_fetch(&self, [identity, scope]: [&str; 2], warnings: &mut Vec<String>, fetch: Fetch) -> Result<Grant> {
        let key = Key::new(self.profile, &["inner", scope, identity]);
        let want = Want { now: self.now, min_validity: DEFAULT_MIN_VALIDITY, force: false };
        let entry = self.cache.get_or_fetch(&key, want, warnings, |_| {
            let started = now();
            let grant = fetch()?;
            checked(entra_entry(&key, self.profile, scope, grant, started), started)
        })?;
        Ok(Grant {
            expires_in: entry.expires_on.saturating_sub(self.now),
            refresh_in: entry.refresh_on.map(|r| r.saturating_sub(self.now)),
            label: entry.credential,
            access_token: entry.access_token,
        })
    }
}

/// What a token service answered, before it is cached or reaches a tool: one
/// line of token characters (a line break would add lines to git's answer or
/// an HTTP header), not expired already. An endpoint under someone else's
/// control (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, a proxy) gets no further.
fn checked(entry: Entry, now: i64) -> Result<Entry> {
    let service = || match entry.kind {
        EntryKind::Acr => format!("the registry {}", entry.resource),
        EntryKind::Entra => format!("the token service ({})", entry.credential),
    };
    let remedy = "check the authority, managed identity endpoint or registry the profile uses \
                  (authorityHost, AZURE_POD_IDENTITY_AUTHORITY_HOST, IDENTITY_ENDPOINT) and any proxy in between";
    if !crate::codec::is_token_text(&entry.access_token) {
        return Err(Error::rejected(format!(
            "{} answered with something that is not a token (characters other than token characters, or a line \
             break)",
            service()
        ))
        .with_remedy(remedy));
    }
    if entry.expires_on <= now {
        return Err(Error::rejected(format!(
            "{} answered with a token that had already expired (at {})",
            service(),
            crate::output::rfc3339_utc(entry.expires_on)
        ))
        .with_remedy(remedy));
    }
    Ok(entry)
}

/// The cache entry of a token a credential obtained, fetched from `started` on.
fn entra_entry(key: &Key, profile: &str, scope: &str, grant: Grant, started: i64) -> Entry {
    Entry {
        key: key.hash.clone(),
        profile: profile.to_string(),
        kind: EntryKind::Entra,
        resource: scope.to_string(),
        credential: grant.label,
        access_token: grant.access_token,
        expires_on: started.saturating_add(grant.expires_in),
        refresh_on: refresh_on(started, grant.expires_in, grant.refresh_in),
        obtained_on: started,
    }
}

/// When to renew: Entra's `refresh_in` when given; otherwise, for a token
/// living longer than 2 hours (managed identities' live 24), half its life.
fn refresh_on(started: i64, expires_in: i64, refresh_in: Option<i64>) -> Option<i64> {
    match refresh_in {
        Some(r) => Some(started.saturating_add(r)),
        None if expires_in > LONG_LIVED => Some(started.saturating_add(expires_in / 2)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lived_tokens_renew_from_half_their_life() {
        assert_eq!(refresh_on(1000, 3599, None), None);
        assert_eq!(refresh_on(1000, 86400, None), Some(1000 + 43200));
        assert_eq!(refresh_on(1000, 86400, Some(600)), Some(1600));
    }

    fn entry(token: &str, expires_on: i64) -> Entry {
        Entry {
            key: "k".into(),
            profile: "p".into(),
            kind: EntryKind::Entra,
            resource: "r".into(),
            credential: "managed identity (system-assigned)".into(),
            access_token: token.into(),
            expires_on,
            refresh_on: None,
            obtained_on: 0,
        }
    }

    #[test]
    fn answers_that_are_not_tokens_or_expired_are_refused() {
        assert!(checked(entry("eyJ.eyJ.sig", 2000), 1000).is_ok());
        let e = checked(entry("tok\nusername=injected", 2000), 1000).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Rejected);
        assert!(!e.to_string().contains("injected"), "the answer is never echoed: {e}");
        let e = checked(entry("eyJ.eyJ.sig", 999), 1000).unwrap_err();
        assert!(e.to_string().contains("already expired"), "{e}");
        assert!(checked(entry("eyJ.eyJ.sig", 1000), 1000).is_err());
    }
}
