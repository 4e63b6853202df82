//! The certificate a rotation starts from (a valid file), and the one it
//! moves to (made beside it, protected as it is, or given).

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Options;
use crate::credential::certificate::create::{self, Made, Spec};
use crate::credential::certificate::key::CertKey;
use crate::credential::certificate::{Certificate, LoadError, LoadedCertificate, file};
use crate::credential::secrets::{self, SecretKind};
use crate::credential::{AuthContext, CertificateCredential, SecretPrompt};
use crate::error::{Error, Result};
use crate::profile::{AuthMethod, Profile};

/// Where the current file's password came from, which decides how the new
/// file is protected.
pub enum Password {
    /// None needed: the new file gets none either (and is kept `0600`).
    None,
    /// `$ENTRATOOL_CERTIFICATE_PASSWORD` for this run: the new file gets the
    /// same one, so the variable keeps working (it cannot be changed from here).
    Environment(Zeroizing<String>),
    /// The secret store: the new file gets a fresh random one, stored there.
    Store,
}

/// The profile's certificate now.
pub struct Current {
    pub cert: LoadedCertificate,
    pub path: PathBuf,
    pub password: Password,
}

impl Current {
    /// The profile's certificate file, valid now; anything else stops the
    /// rotation before a request is sent.
    pub fn open(profile: &Profile, prompt: Option<&dyn SecretPrompt>) -> Result<Current> {
        let n = &profile.name;
        if profile.auth_method() != AuthMethod::Certificate {
            return Err(Error::config(format!(
                "profile '{n}' uses {}, not a certificate: only certificates rotate themselves",
                profile.auth_method().label()
            ))
            .with_remedy(
                "a client secret cannot: Graph's addPassword needs Application.ReadWrite.OwnedBy; move the profile \
                 to a certificate once (docs/rotation.md)",
            ));
        }
        let mut ctx = AuthContext { prompt, ..Default::default() };
        let cert = CertificateCredential::new(profile)?.load(&mut ctx)?;
        if !cert.path.is_file() {
            return Err(Error::config(format!(
                "the certificate of profile '{n}' is in {}, not in a file",
                cert.path.display()
            ))
            .with_remedy(
                "certificates in the Windows store or the macOS Keychain are rotated by hand (docs/rotation.md, \
                 System stores)",
            ));
        }
        let now = chrono::Utc::now();
        cert.check_validity(now).map_err(|e| {
            e.with_remedy(
                "Graph needs a valid certificate to sign the proof with: make one (`entratool cert create`), upload \
                 its .pem in the portal once, point the profile at it (`entratool config edit -p NAME --certificate \
                 FILE`); later rotations need no portal",
            )
        })?;
        let path = cert.path.clone();
        let key = profile.certificate_key_path.as_deref().map(Path::new);
        let password = match secrets::from_env(SecretKind::CertificatePassword) {
            Some(pw) => Password::Environment(pw),
            None if file::load(&path, key, None).is_ok() => Password::None,
            None => Password::Store,
        };
        Ok(Current { cert, path, password })
    }
}

/// The certificate a rotation moves to.
pub struct New {
    pub path: PathBuf,
    pub cert: LoadedCertificate,
    /// Its password, when it has one (what the wait and the profile's store use).
    pub password: Option<Zeroizing<String>>,
    /// The password goes to the secret store under the file's own name.
    pub store_password: bool,
    /// Made here, still to be written.
    made: Option<Made>,
}

impl New {
    /// The new certificate: the one given (it must open, hold its key, be
    /// valid and differ from the current one), or one to make with the
    /// current one's subject, beside it as `<stem>-<UTC time>[-N].pfx`.
    pub fn plan(o: &Options, current: &Current) -> Result<New> {
        match &o.new_certificate {
            Some(path) => given(path, o.new_password.clone(), current),
            None => made(o, current),
        }
    }

    /// What it is, for the dry run.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {} to {}{})",
            self.path.display(),
            self.cert.subject(),
            self.cert.not_before().format("%Y-%m-%d"),
            self.cert.not_after().format("%Y-%m-%d"),
            if self.made.is_some() { ", made now" } else { ", given" }
        )
    }

    /// Writes a made certificate (never over a file), its password first
    /// stored under the file's own name; a given one's password stored.
    pub fn write(mut self, profile: &Profile) -> Result<New> {
        if self.store_password
            && let Some(pw) = &self.password
        {
            let store = secrets::save_for_file(&profile.name, &self.path, pw)?;
            crate::output::note(&format!("the new certificate's password is stored in the {store}"));
        }
        if let Some(made) = self.made.take() {
            let bytes = create::pkcs12(&made, self.password.as_deref().map(String::as_str))?;
            create::write_new(&self.path, &bytes, true)?;
            crate::output::note(&format!("made {} ({})", self.path.display(), self.cert.thumbprint_hex()));
        }
        Ok(self)
    }
}

fn given(path: &Path, stdin: Option<Zeroizing<String>>, current: &Current) -> Result<New> {
    let shown = path.display().to_string();
    let from_stdin = stdin.is_some();
    let password = stdin.or_else(|| secrets::from_env(SecretKind::CertificatePassword));
    let cert = file::load(path, None, password.as_deref().map(String::as_str)).map_err(|e| match e {
        LoadError::NeedsPassword | LoadError::WrongPassword => {
            Error::credential(format!("the new certificate {shown} does not open"))
                .with_remedy("give its password with --password-stdin (or ENTRATOOL_CERTIFICATE_PASSWORD)")
        }
        other => other.into_error(&shown, None),
    })?;
    cert.check_validity(chrono::Utc::now())?;
    if cert.thumbprint_hex() == current.cert.thumbprint_hex() {
        return Err(Error::usage(format!("{shown} is the current certificate ({})", cert.thumbprint_hex()))
            .with_remedy("give a new certificate, or leave --new-certificate out to have one made"));
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let needs = file::load(&path, None, None).is_err();
    Ok(New { path, cert, store_password: from_stdin && needs, password: password.filter(|_| needs), made: None })
}

fn made(o: &Options, current: &Current) -> Result<New> {
    let spec = Spec { subject: current.cert.subject(), days: o.days, key_size: o.key_size };
    let made = create::make(&spec)?;
    let (password, store_password) = match &current.password {
        Password::None => (None, false),
        Password::Environment(pw) => (Some(pw.clone()), false),
        Password::Store => (Some(create::random_password()?), true),
    };
    let path = beside(&current.path)?;
    let cert = LoadedCertificate {
        cert: Certificate { chain: vec![made.cert.clone()], path: path.clone() },
        key: CertKey::File(made.key.clone()),
    };
    Ok(New { path, cert, password, store_password, made: Some(made) })
}

/// `<dir>/<current stem>-<UTC YYYYmmddTHHMMSSZ>[-N].pfx`, never an existing file's name.
fn beside(current: &Path) -> Result<PathBuf> {
    let dir = current.parent().unwrap_or(Path::new("."));
    let stem = current.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "certificate".into());
    // A name made by an earlier rotation loses its time, so names do not grow with each rotation.
    let base = match stem.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 16 && tail.ends_with('Z') && tail.contains('T') => head.to_string(),
        _ => stem,
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    (1..1000)
        .map(|n| if n == 1 { format!("{base}-{stamp}.pfx") } else { format!("{base}-{stamp}-{n}.pfx") })
        .map(|name| dir.join(name))
        .find(|p| !p.exists())
        .ok_or_else(|| {
            Error::config(format!("no free name for the new certificate in {}", dir.display()))
                .with_remedy("remove old certificate files there")
        })
}
