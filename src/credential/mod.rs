//! How a profile proves who it is. Each kind of credential sits behind one
//! small trait, so a federated or managed identity can join later without
//! touching the token source or the protocol adapters.

pub mod assertion;
pub mod certificate;
pub mod secrets;

use std::path::{Path, PathBuf};

use chrono::Utc;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::profile::{AuthMethod, Profile};
use assertion::AssertionAlgorithm;
use certificate::{LoadError, LoadedCertificate};
use secrets::SecretKind;

/// Form fields that authenticate the client, plus what to tell the user.
pub struct ClientAuth {
    pub fields: Vec<(&'static str, Zeroizing<String>)>,
    /// For the cache listing: e.g. `certificate 3FA1…`. Never a secret.
    pub label: String,
    /// The profile whose `client_secret` field was typed at a prompt: only
    /// Entra ID can check it, so it is stored once accepted.
    pub remember_secret_of: Option<String>,
}

impl ClientAuth {
    /// Called after Entra ID accepted the request.
    pub fn accepted(&self, warnings: &mut Vec<String>) {
        let Some(profile) = &self.remember_secret_of else { return };
        let typed = self.fields.iter().find(|(name, _)| *name == "client_secret");
        if let Some((_, secret)) = typed
            && let Err(e) = secrets::save(profile, SecretKind::ClientSecret, secret)
        {
            warnings.push(format!("the client secret was not stored: {e}"));
        }
    }
}

/// What the caller allows and wants to hear about.
#[derive(Default)]
pub struct AuthContext {
    /// A hidden prompt on the terminal is allowed (plain CLI only).
    pub allow_prompt: bool,
    pub warnings: Vec<String>,
}

pub trait Credential {
    /// A cheap, stable identity for the cache key: no decryption, no keyring,
    /// nothing secret in the clear. A new certificate gives a new identity.
    fn identity(&self) -> Result<String>;

    /// Fields for the token request at `token_endpoint` (its URL is the assertion's `aud`).
    fn authenticate(&self, token_endpoint: &str, ctx: &mut AuthContext) -> Result<ClientAuth>;
}

/// Warn this many days before a certificate expires.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The credential a profile describes; `certificate_override` tries another
/// certificate file without saving it.
pub fn for_profile(profile: &Profile, certificate_override: Option<&Path>) -> Result<Box<dyn Credential>> {
    if let Some(path) = certificate_override {
        return Ok(Box::new(CertificateCredential::from_path(profile, path.to_path_buf(), None)));
    }
    Ok(match profile.auth_method() {
        AuthMethod::Certificate => Box::new(CertificateCredential::new(profile)?),
        AuthMethod::Secret => Box::new(SecretCredential { profile: profile.name.clone() }),
    })
}

/// Where the certificate is.
#[derive(Debug, Clone)]
pub enum CertLocation {
    File { cert: PathBuf, key: Option<PathBuf> },
    Thumbprint(String),
}

pub struct CertificateCredential {
    pub profile: String,
    pub client_id: String,
    pub location: CertLocation,
    pub algorithm: AssertionAlgorithm,
    pub send_chain: bool,
}

impl CertificateCredential {
    pub fn new(profile: &Profile) -> Result<Self> {
        if let Some(path) = &profile.certificate_path {
            let key = profile.certificate_key_path.as_ref().map(PathBuf::from);
            return Ok(Self::from_path(profile, PathBuf::from(path), key));
        }
        if let Some(thumb) = &profile.certificate_thumbprint {
            return Ok(Self::with_location(profile, CertLocation::Thumbprint(thumb.clone())));
        }
        Err(Error::config(format!(
            "profile '{}' uses a certificate but has neither certificatePath nor certificateThumbprint: set one with \
             `entratool config edit -p {} --certificate PATH`",
            profile.name, profile.name
        )))
    }

    fn from_path(profile: &Profile, cert: PathBuf, key: Option<PathBuf>) -> Self {
        Self::with_location(profile, CertLocation::File { cert, key })
    }

    fn with_location(profile: &Profile, location: CertLocation) -> Self {
        CertificateCredential {
            profile: profile.name.clone(),
            client_id: profile.client_id.clone(),
            location,
            algorithm: AssertionAlgorithm::from_profile(profile.assertion_algorithm.as_deref()),
            send_chain: profile.send_certificate_chain.unwrap_or(false),
        }
    }

    fn path(&self) -> Option<&Path> {
        match &self.location {
            CertLocation::File { cert, .. } => Some(cert),
            CertLocation::Thumbprint(_) => None,
        }
    }

    fn try_open(&self, password: Option<&str>) -> std::result::Result<LoadedCertificate, LoadError> {
        match &self.location {
            CertLocation::File { cert, key } => certificate::load(cert, key.as_deref(), password),
            CertLocation::Thumbprint(thumb) => {
                let dir = fsutil::config_dir().map_err(|e| LoadError::Invalid(e.message))?.join("certs");
                certificate::find_by_thumbprint(&dir, thumb, password).map_err(|e| LoadError::Invalid(e.message))
            }
        }
    }

    fn load_error(&self, e: LoadError) -> Error {
        match (&self.location, e) {
            (CertLocation::Thumbprint(_), LoadError::Invalid(msg)) => Error::credential(msg),
            (location, e) => {
                let shown = match location {
                    CertLocation::File { cert, .. } => cert.clone(),
                    CertLocation::Thumbprint(t) => PathBuf::from(format!("thumbprint {t}")),
                };
                let mut err = e.into_error(&shown);
                err.message = err.message.replace("-p NAME", &format!("-p {}", self.profile));
                err
            }
        }
    }

    /// Opens the certificate with exactly this password (or none).
    pub fn open_with(&self, password: Option<&str>) -> Result<LoadedCertificate> {
        self.try_open(password).map_err(|e| self.load_error(e))
    }

    /// Opens the certificate, finding its password in the environment, the
    /// keyring or (when allowed) a prompt whose answer is checked, then stored.
    pub fn load(&self, ctx: &mut AuthContext) -> Result<LoadedCertificate> {
        if let Some(pw) = secrets::from_env(SecretKind::CertificatePassword) {
            return self.open_with(Some(&pw));
        }
        match self.try_open(None) {
            Ok(c) => return Ok(c),
            Err(LoadError::NeedsPassword | LoadError::WrongPassword) => {}
            Err(LoadError::Invalid(msg)) if matches!(self.location, CertLocation::Thumbprint(_)) => {
                // The files may be encrypted: look again with the stored password.
                if let Some(pw) = secrets::load(&self.profile, SecretKind::CertificatePassword)? {
                    return self.open_with(Some(&pw));
                }
                return Err(Error::credential(msg));
            }
            Err(e) => return Err(self.load_error(e)),
        }
        if let Some(pw) = secrets::load(&self.profile, SecretKind::CertificatePassword)? {
            return self.try_open(Some(&pw)).map_err(|e| match e {
                LoadError::WrongPassword => Error::credential(format!(
                    "Invalid certificate password for {}: the password stored in the keyring for profile '{}' does \
                     not open it. Store the right one with `entratool config edit -p {} --password-stdin`",
                    self.path().unwrap_or(Path::new("?")).display(),
                    self.profile,
                    self.profile
                )),
                other => self.load_error(other),
            });
        }
        if ctx.allow_prompt {
            return self.prompt_and_store(ctx);
        }
        Err(self.load_error(LoadError::NeedsPassword))
    }

    fn prompt_and_store(&self, ctx: &mut AuthContext) -> Result<LoadedCertificate> {
        for _ in 0..3 {
            let pw = prompt_hidden("Certificate password: ")?;
            match self.try_open(Some(&pw)) {
                Ok(cert) => {
                    if let Err(e) = secrets::save(&self.profile, SecretKind::CertificatePassword, &pw) {
                        ctx.warnings.push(format!("the password was not stored: {e}"));
                    }
                    return Ok(cert);
                }
                Err(LoadError::WrongPassword | LoadError::NeedsPassword) => {
                    eprintln!("Invalid certificate password, try again.");
                }
                Err(e) => return Err(self.load_error(e)),
            }
        }
        Err(self.load_error(LoadError::WrongPassword))
    }
}

/// A hidden prompt on the terminal.
pub fn prompt_hidden(prompt: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| Error::usage(format!("cannot read the answer from the terminal: {e}")))
}

/// Size, inode and times of a file: changes whenever the file is replaced or rewritten.
fn file_stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                format!("{}:{}:{}.{}:{}.{}", m.ino(), m.len(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
            }
            #[cfg(not(unix))]
            {
                format!("{}:{:?}", m.len(), m.modified().ok())
            }
        }
        Err(_) => "missing".to_string(),
    }
}

impl Credential for CertificateCredential {
    fn identity(&self) -> Result<String> {
        Ok(match &self.location {
            CertLocation::File { cert, key } => {
                let key_stamp = key.as_deref().map(file_stamp).unwrap_or_default();
                format!("certificate:{}:{}:{key_stamp}", cert.display(), file_stamp(cert))
            }
            CertLocation::Thumbprint(t) => format!("thumbprint:{}", t.to_ascii_uppercase()),
        })
    }

    fn authenticate(&self, token_endpoint: &str, ctx: &mut AuthContext) -> Result<ClientAuth> {
        let cert = self.load(ctx)?;
        let now = Utc::now();
        cert.check_validity(now)?;
        let days = cert.days_left(now);
        if days < EXPIRY_WARNING_DAYS {
            ctx.warnings.push(format!(
                "certificate {} expires in {days} days ({}): rotate it soon (docs/certificates.md)",
                cert.thumbprint_hex(),
                cert.not_after().format("%Y-%m-%d")
            ));
        }
        let jwt =
            assertion::build(&cert, &self.client_id, token_endpoint, self.algorithm, self.send_chain, now.timestamp())?;
        Ok(ClientAuth {
            fields: vec![
                (
                    "client_assertion_type",
                    Zeroizing::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
                ),
                ("client_assertion", Zeroizing::new(jwt)),
            ],
            label: format!("certificate {}", cert.thumbprint_hex()),
            remember_secret_of: None,
        })
    }
}

pub struct SecretCredential {
    pub profile: String,
}

impl Credential for SecretCredential {
    fn identity(&self) -> Result<String> {
        // A secret from the environment is part of the key (hashed, never
        // stored); a stored one is identified by the profile, whose cache is
        // cleared whenever its secret changes.
        Ok(match secrets::from_env(SecretKind::ClientSecret) {
            Some(s) => format!("secret-env:{}", crate::token::cache::hex(&Sha256::digest(s.as_bytes()))),
            None => "secret:keyring".to_string(),
        })
    }

    fn authenticate(&self, _token_endpoint: &str, ctx: &mut AuthContext) -> Result<ClientAuth> {
        let mut typed = false;
        let secret = match secrets::from_env(SecretKind::ClientSecret) {
            Some(s) => s,
            None => match secrets::load(&self.profile, SecretKind::ClientSecret)? {
                Some(s) => s,
                None if ctx.allow_prompt => {
                    typed = true;
                    prompt_hidden("Client secret: ")?
                }
                None => {
                    return Err(Error::credential(format!(
                        "no client secret for profile '{p}': set ENTRATOOL_CLIENT_SECRET for this run, or store it \
                         with `entratool config edit -p {p} --secret-stdin`",
                        p = self.profile
                    )));
                }
            },
        };
        Ok(ClientAuth {
            fields: vec![("client_secret", secret)],
            label: "secret".to_string(),
            remember_secret_of: typed.then(|| self.profile.clone()),
        })
    }
}
