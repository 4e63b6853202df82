//! How a profile proves who it is. Each kind of credential is one
//! implementation of [`Credential`], in a file of its own; the token source
//! asks it for a token and keys the cache by its [`Credential::identity`].
//! Adding a credential type means one file here and one arm in [`for_profile`].

pub mod certificate;
pub mod client_secret;
pub mod federated;
pub mod managed_identity;
pub mod secrets;

use std::path::Path;

use zeroize::Zeroizing;

use crate::entra::Granted;
use crate::error::Result;
use crate::profile::{AuthMethod, Profile};
pub use certificate::{CertificateCredential, open_asking};
pub use client_secret::SecretCredential;
pub use federated::FederatedCredential;
pub use managed_identity::ManagedIdentityCredential;

/// What the caller allows, and what the credential wants the user to hear.
#[derive(Default)]
pub struct AuthContext<'a> {
    /// Who to ask for a missing secret: the plain CLI's hidden prompt on a
    /// terminal; none for helpers and scripts.
    pub prompt: Option<&'a dyn SecretPrompt>,
    pub warnings: Vec<String>,
    /// The token source's cache, for a credential that needs a token of its
    /// own first (none: fetch it every time).
    pub inner: Option<&'a dyn InnerTokens>,
    /// A proof-of-possession token is wanted: the PoP key's `req_cnf`
    /// (only for credentials whose [`Credential::supports_pop`] is true).
    pub pop: Option<String>,
}

/// The token source's cache, lent to a credential whose assertion is itself
/// a token (a managed identity's, for its app): that token is cached under
/// its own key, with the same single flight, so the identity endpoint is
/// asked once for many app tokens. The token source implements it.
pub trait InnerTokens {
    /// The token `identity` has for `scope` (`[identity, scope]`), cached or from `fetch`.
    fn get_or_fetch(&self, of: [&str; 2], warnings: &mut Vec<String>, fetch: Fetch) -> Result<Grant>;
}

/// How a credential fetches the token it lends the cache.
pub type Fetch<'a> = &'a mut dyn FnMut() -> Result<Grant>;

/// Asks a person for a secret. The library never touches a terminal itself:
/// the command line implements this.
pub trait SecretPrompt {
    /// The answer to `question` (e.g. `Certificate password: `), typed without echo.
    fn ask(&self, question: &str) -> Result<Zeroizing<String>>;
    /// Tells the person that the last answer was wrong (`what` says for what).
    fn wrong(&self, what: &str);
}

/// A token as a credential obtained it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub access_token: String,
    pub expires_in: i64,
    /// Renew after this many seconds (Entra's `refresh_in`), when given.
    pub refresh_in: Option<i64>,
    /// What authenticated, for `cache list`: e.g. `certificate 3FA1…`. Never a secret.
    pub label: String,
}

impl Grant {
    /// Entra's grant, with what authenticated it (for `cache list`).
    pub fn labelled(granted: Granted, label: impl Into<String>) -> Grant {
        Grant {
            access_token: granted.access_token,
            expires_in: granted.expires_in,
            refresh_in: granted.refresh_in,
            label: label.into(),
        }
    }
}

pub trait Credential {
    /// A cheap, stable identity for the cache key: no decryption, no keyring,
    /// no network, nothing secret in the clear. A new certificate, another
    /// token file or another identity gives another identity.
    fn identity(&self) -> Result<String>;

    /// A token for `scope` (`<resource>/.default`).
    fn get_token(&self, scope: &str, ctx: &mut AuthContext) -> Result<Grant>;

    /// Whether it can ask for a proof-of-possession token (`ctx.pop`): the
    /// client credentials of an app (a certificate or a secret), as kubelogin.
    fn supports_pop(&self) -> bool {
        false
    }
}

/// Warn this many days before a certificate expires.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Another certificate file to try for a profile (`get-token --certificate`),
/// with the password given for it: never the profile's stored one.
#[derive(Clone, Copy)]
pub struct TriedCertificate<'a> {
    pub path: &'a Path,
    pub password: Option<&'a Zeroizing<String>>,
}

/// The credential a profile describes; `tried` tries another certificate
/// file without saving it.
pub fn for_profile(profile: &Profile, tried: Option<TriedCertificate>) -> Result<Box<dyn Credential>> {
    if let Some(t) = tried {
        return Ok(Box::new(CertificateCredential::tried(profile, t.path.to_path_buf(), t.password.cloned())?));
    }
    Ok(match profile.auth_method() {
        AuthMethod::Certificate => Box::new(CertificateCredential::new(profile)?),
        AuthMethod::Secret => Box::new(SecretCredential {
            profile: profile.name.clone(),
            app: profile.client_app()?,
            from_environment: profile.from_environment,
            secret_in: profile.secret_in.clone(),
        }),
        AuthMethod::WorkloadIdentity | AuthMethod::GithubActions | AuthMethod::AzurePipelines => {
            Box::new(FederatedCredential::for_profile(profile)?)
        }
        AuthMethod::ManagedIdentity => Box::new(ManagedIdentityCredential::new(profile)),
        AuthMethod::ManagedIdentityFederation => Box::new(FederatedCredential::for_profile(profile)?),
    })
}

/// The client assertion fields of RFC 7523, shared by certificates and federated tokens.
pub fn assertion_fields(jwt: Zeroizing<String>) -> Vec<(&'static str, Zeroizing<String>)> {
    vec![
        ("client_assertion_type", Zeroizing::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into())),
        ("client_assertion", jwt),
    ]
}
