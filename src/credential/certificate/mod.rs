//! A certificate: a signed client assertion (PS256 or RS256) at Entra ID.
//!
//! The folder holds everything about certificates, each file below the one
//! that uses it (docs/architecture.md): `key` (the key and algorithm types),
//! `x509` (an opened certificate and what the portal shows of it), `file`
//! (PKCS#12 and PEM files, thumbprint lookup in a folder), `store` (the
//! operating system's stores), `assertion` (the signed client assertion), and
//! here the credential itself.

pub mod assertion;
pub mod create;
pub mod file;
pub mod key;
pub mod store;
pub mod x509;

use std::path::{Path, PathBuf};

use chrono::Utc;
use zeroize::Zeroizing;

use super::secrets::{self, SecretKind};
use super::{AuthContext, Credential, EXPIRY_WARNING_DAYS, Grant, SecretPrompt, assertion_fields};
use crate::entra::{ClientApp, HintFacts};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::profile::Profile;
pub use key::AssertionAlgorithm;
use store::StoreLocation;
pub use x509::{Certificate, LoadError, LoadedCertificate};

/// Where the certificate is.
#[derive(Debug, Clone)]
pub enum CertLocation {
    File {
        cert: PathBuf,
        key: Option<PathBuf>,
    },
    /// `certificateThumbprint`: the operating system's store (Windows, with
    /// `certificateStoreLocation`; macOS), then `<config folder>/certs/`.
    Thumbprint {
        thumbprint: String,
        store: Option<String>,
    },
}

pub struct CertificateCredential {
    pub profile: String,
    pub app: ClientApp,
    pub location: CertLocation,
    pub algorithm: AssertionAlgorithm,
    pub send_chain: bool,
    /// The environment profile: the password is `$AZURE_CLIENT_CERTIFICATE_PASSWORD` or none.
    pub from_environment: bool,
    /// Another file tried for the profile (`get-token --certificate`): its
    /// password is the one given (or `$ENTRATOOL_CERTIFICATE_PASSWORD`, or a
    /// prompt), never the profile's stored one, and a prompted one is not stored.
    pub tried: Option<Option<Zeroizing<String>>>,
    /// Where the password is when no store holds it (the profile's `secretIn`).
    pub secret_in: Option<String>,
}

impl CertificateCredential {
    /// The profile's certificate, by path or thumbprint.
    pub fn new(profile: &Profile) -> Result<Self> {
        if let Some(path) = &profile.certificate_path {
            let key = profile.certificate_key_path.as_ref().map(PathBuf::from);
            return Self::from_path(profile, PathBuf::from(path), key);
        }
        if let Some(thumb) = &profile.certificate_thumbprint {
            let store = profile.certificate_store_location.clone();
            return Self::with_location(profile, CertLocation::Thumbprint { thumbprint: thumb.clone(), store });
        }
        Err(Error::config(format!(
            "profile '{}' uses a certificate but has neither certificatePath nor certificateThumbprint",
            profile.name
        ))
        .with_remedy(format!("set one with `entratool config edit -p {} --certificate PATH`", profile.name)))
    }

    /// The profile with another certificate file.
    pub fn from_path(profile: &Profile, cert: PathBuf, key: Option<PathBuf>) -> Result<Self> {
        Self::with_location(profile, CertLocation::File { cert, key })
    }

    /// Another certificate file tried for the profile, with the password given for it.
    pub fn tried(profile: &Profile, cert: PathBuf, password: Option<Zeroizing<String>>) -> Result<Self> {
        let mut c = Self::from_path(profile, cert, None)?;
        c.tried = Some(password);
        Ok(c)
    }

    fn with_location(profile: &Profile, location: CertLocation) -> Result<Self> {
        Ok(CertificateCredential {
            profile: profile.name.clone(),
            app: profile.client_app()?,
            location,
            algorithm: AssertionAlgorithm::from_profile(profile.assertion_algorithm.as_deref()),
            send_chain: profile.send_certificate_chain.unwrap_or(false),
            from_environment: profile.from_environment,
            tried: None,
            secret_in: profile.secret_in.clone(),
        })
    }

    /// Opening it needs a password (none given, or the empty one does not open it).
    pub fn needs_password(&self) -> bool {
        matches!(self.try_open(None), Err(LoadError::NeedsPassword | LoadError::WrongPassword))
    }

    /// The path, or `thumbprint HEX`, as messages show it.
    pub fn shown(&self) -> String {
        match &self.location {
            CertLocation::File { cert, .. } => cert.display().to_string(),
            CertLocation::Thumbprint { thumbprint, .. } => format!("thumbprint {thumbprint}"),
        }
    }

    fn try_open(&self, password: Option<&str>) -> std::result::Result<LoadedCertificate, LoadError> {
        match &self.location {
            CertLocation::File { cert, key } => file::load(cert, key.as_deref(), password),
            CertLocation::Thumbprint { thumbprint, store } => {
                // The system's store holds the key itself: no password, and it is looked in first.
                let location = StoreLocation::parse(store.as_deref()).map_err(LoadError::Failed)?;
                if let Some(found) = store::find(thumbprint, location).map_err(LoadError::Failed)? {
                    return Ok(found);
                }
                let dir = fsutil::config_dir().map_err(LoadError::Failed)?.join("certs");
                file::find_by_thumbprint(&dir, thumbprint, password).map_err(|e| {
                    LoadError::Failed(match store::place(location) {
                        Some(place) => e
                            .with_source(format!("it is neither in {place} nor in {}", dir.display()))
                            .with_remedy(format!(
                                "import it into {place} (docs/windows.md, docs/macos.md), or copy the .pfx to {}",
                                dir.display()
                            )),
                        None => e,
                    })
                })
            }
        }
    }

    fn load_error(&self, e: LoadError) -> Error {
        if self.from_environment {
            // Not in profiles.json: `config edit -p env` would find nothing to edit.
            return e.into_error(&self.shown(), None).with_remedy(
                "the environment profile's certificate is AZURE_CLIENT_CERTIFICATE_PATH (its password \
                 AZURE_CLIENT_CERTIFICATE_PASSWORD): correct those variables",
            );
        }
        e.into_error(&self.shown(), Some(&self.profile))
    }

    /// Opens the certificate with the password being saved (`--password-stdin`
    /// of `config create`/`edit`): a wrong one says so, never suggesting a
    /// command for a profile that may not exist yet.
    pub fn check_password(&self, password: &str) -> Result<LoadedCertificate> {
        self.try_open(Some(password)).map_err(|e| match e {
            LoadError::WrongPassword | LoadError::NeedsPassword => {
                Error::credential(format!("Invalid certificate password for {}", self.shown())).with_remedy(format!(
                    "the password came from --password-stdin: test it with `openssl pkcs12 -in {} -noout`, then \
                     give the right one",
                    self.shown()
                ))
            }
            other => self.load_error(other),
        })
    }

    /// Opens the certificate, finding its password in the environment, the
    /// keyring or (when allowed) a prompt whose answer is checked, then stored.
    pub fn load(&self, ctx: &mut AuthContext) -> Result<LoadedCertificate> {
        if let Some(given) = &self.tried {
            return self.load_tried(given.as_ref(), ctx);
        }
        if self.from_environment {
            let pw = std::env::var("AZURE_CLIENT_CERTIFICATE_PASSWORD").ok().filter(|p| !p.is_empty());
            let pw = pw.map(zeroize::Zeroizing::new);
            return self.try_open(pw.as_deref().map(String::as_str)).map_err(|e| match e {
                LoadError::NeedsPassword | LoadError::WrongPassword => {
                    Error::credential(format!("the certificate {} does not open", self.shown())).with_remedy(
                        "set AZURE_CLIENT_CERTIFICATE_PASSWORD to its password (the environment profile reads no \
                         keyring)",
                    )
                }
                other => self.load_error(other),
            });
        }
        if let Some(pw) = secrets::from_env(SecretKind::CertificatePassword) {
            return self.try_open(Some(&pw)).map_err(|e| match e {
                LoadError::WrongPassword | LoadError::NeedsPassword => {
                    Error::credential(format!("Invalid certificate password for {}", self.shown())).with_remedy(
                        "the password came from ENTRATOOL_CERTIFICATE_PASSWORD, which wins over the keyring: correct \
                         or unset it",
                    )
                }
                other => self.load_error(other),
            });
        }
        // A thumbprint search may fail only because the files are encrypted:
        // then it is tried again with the stored password.
        let mut search_failure = None;
        match self.try_open(None) {
            Ok(c) => return Ok(c),
            Err(LoadError::NeedsPassword | LoadError::WrongPassword) => {}
            Err(LoadError::Failed(e)) if matches!(self.location, CertLocation::Thumbprint { .. }) => {
                search_failure = Some(e)
            }
            Err(e) => return Err(self.load_error(e)),
        }
        // The file's own stored password (a rotated file's), then the profile's.
        let for_file = match &self.location {
            CertLocation::File { cert, .. } => secrets::load_for_file(&self.profile, cert)?,
            CertLocation::Thumbprint { .. } => None,
        };
        let stored = match for_file {
            Some(pw) => Some(pw),
            None => secrets::load(&self.profile, SecretKind::CertificatePassword, &mut ctx.warnings)?,
        };
        if let Some(pw) = stored {
            let store = secrets::store_name();
            return self.try_open(Some(&pw)).map_err(|e| match e {
                LoadError::WrongPassword => {
                    Error::credential(format!("Invalid certificate password for {}", self.shown())).with_remedy(
                        format!(
                            "the password came from the {store} (profile '{p}'): store the right one with `entratool \
                             config edit -p {p} --password-stdin`",
                            p = self.profile
                        ),
                    )
                }
                other => self.load_error(other),
            });
        }
        if let Some(e) = search_failure {
            return Err(e);
        }
        let looked = format!("looked in ENTRATOOL_CERTIFICATE_PASSWORD and the {}", secrets::store_name());
        match (ctx.prompt, &self.secret_in) {
            (Some(prompt), _) => self.prompt_and_store(prompt, &mut ctx.warnings),
            (None, Some(place)) => Err(self
                .load_error(LoadError::NeedsPassword)
                .with_source(format!("{looked}; it is kept in {place}, which only kubectl passes"))),
            (None, None) => Err(self.load_error(LoadError::NeedsPassword).with_source(looked)),
        }
    }

    /// A file tried for the profile: the password given for it (else the
    /// environment's, else a prompt on a terminal), never the profile's.
    fn load_tried(&self, given: Option<&Zeroizing<String>>, ctx: &mut AuthContext) -> Result<LoadedCertificate> {
        let never = "the profile's stored password is never tried on another file";
        let (password, from) = match given {
            Some(pw) => (Some(pw.clone()), "--password-stdin"),
            None => (secrets::from_env(SecretKind::CertificatePassword), "ENTRATOOL_CERTIFICATE_PASSWORD"),
        };
        match self.try_open(password.as_ref().map(|p| p.as_str())) {
            Ok(c) => Ok(c),
            Err(LoadError::NeedsPassword | LoadError::WrongPassword) if password.is_some() => {
                Err(Error::credential(format!("Invalid certificate password for {}", self.shown()))
                    .with_remedy(format!("the password came from {from}: give this file's own password ({never})")))
            }
            Err(LoadError::NeedsPassword | LoadError::WrongPassword) => match ctx.prompt {
                // Asked, checked, and not stored: the profile keeps its own file and password.
                Some(prompt) => open_asking(|pw| self.try_open(pw), &self.shown(), prompt, Some(3))
                    .map(|(c, _)| c)
                    .map_err(|e| e.into_error(&self.shown(), None)),
                None => Err(Error::credential(format!(
                    "the certificate {} is protected by a password and none was given for it",
                    self.shown()
                ))
                .with_remedy(format!("pass it with --password-stdin or ENTRATOOL_CERTIFICATE_PASSWORD ({never})"))),
            },
            Err(e) => Err(e.into_error(&self.shown(), None)),
        }
    }

    /// Three tries at the prompt; the password that opens it is stored.
    fn prompt_and_store(&self, prompt: &dyn SecretPrompt, warnings: &mut Vec<String>) -> Result<LoadedCertificate> {
        let (cert, pw) =
            open_asking(|pw| self.try_open(pw), &self.shown(), prompt, Some(3)).map_err(|e| self.load_error(e))?;
        if let Some(pw) = pw
            && let Err(e) = secrets::save(&self.profile, SecretKind::CertificatePassword, &pw)
        {
            warnings.push(format!("the password was not stored: {e}"));
        }
        Ok(cert)
    }
}

/// Size, inode and times of a file: they change whenever the file is replaced or rewritten.
pub fn file_stamp(path: &Path) -> String {
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
        let who = match &self.location {
            CertLocation::File { cert, key } => {
                let key_stamp = key.as_deref().map(file_stamp).unwrap_or_default();
                format!("certificate:{}:{}:{key_stamp}", cert.display(), file_stamp(cert))
            }
            CertLocation::Thumbprint { thumbprint, store } => match store {
                Some(place) => format!("thumbprint:{}@{place}", thumbprint.to_ascii_uppercase()),
                None => format!("thumbprint:{}", thumbprint.to_ascii_uppercase()),
            },
        };
        Ok(format!("{}|{who}", self.app.identity()))
    }

    fn get_token(&self, scope: &str, ctx: &mut AuthContext) -> Result<Grant> {
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
        let endpoint = self.app.endpoint();
        let jwt =
            assertion::build(&cert, &self.app.client_id, &endpoint, self.algorithm, self.send_chain, now.timestamp())?;
        let hints = HintFacts {
            profile: (!self.from_environment).then(|| self.profile.clone()),
            thumbprint: Some(cert.thumbprint_hex()),
            thumbprint_sha256: Some(cert.thumbprint_sha256_hex()),
            ..Default::default()
        };
        let fields = assertion_fields(zeroize::Zeroizing::new(jwt));
        let granted = self.app.request_token(scope, &fields, &hints, ctx.pop.as_deref())?;
        Ok(Grant::labelled(granted, format!("certificate {}", cert.thumbprint_hex())))
    }

    fn supports_pop(&self) -> bool {
        true
    }
}

/// Opens a certificate with `open`, asking `prompt` for its password until it
/// opens (`tries` answers at most, or until the person cancels when `None`):
/// the one password loop of `get-token`, `cert info` and the wizard. Returns
/// the certificate and the password that opened it, if one was needed.
pub fn open_asking<T>(
    open: impl Fn(Option<&str>) -> std::result::Result<T, LoadError>,
    shown: &str,
    prompt: &dyn SecretPrompt,
    tries: Option<u32>,
) -> std::result::Result<(T, Option<Zeroizing<String>>), LoadError> {
    use LoadError::{NeedsPassword, WrongPassword};
    match open(None) {
        Err(NeedsPassword | WrongPassword) => {}
        other => return other.map(|c| (c, None)),
    }
    let mut asked = 0;
    loop {
        let pw = prompt.ask("Certificate password: ").map_err(LoadError::Failed)?;
        asked += 1;
        match open(Some(&pw)) {
            Ok(c) => return Ok((c, Some(pw))),
            Err(NeedsPassword | WrongPassword) if tries.is_none_or(|t| asked < t) => {
                prompt.wrong(&format!("Invalid certificate password for {shown}"))
            }
            Err(e) => return Err(e),
        }
    }
}
