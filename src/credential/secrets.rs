//! Certificate passwords and client secrets: the environment for one run,
//! else the OS keyring (service `entratool`). Never a file of ours.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const SERVICE: &str = "entratool";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    CertificatePassword,
    ClientSecret,
}

impl SecretKind {
    pub fn env_var(self) -> &'static str {
        match self {
            SecretKind::CertificatePassword => "ENTRATOOL_CERTIFICATE_PASSWORD",
            SecretKind::ClientSecret => "ENTRATOOL_CLIENT_SECRET",
        }
    }
    fn user_suffix(self) -> &'static str {
        match self {
            SecretKind::CertificatePassword => "certificate-password",
            SecretKind::ClientSecret => "client-secret",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::CertificatePassword => "certificate password",
            SecretKind::ClientSecret => "client secret",
        }
    }
}

/// The keyring account name of a profile's secret.
fn account(profile: &str, kind: SecretKind) -> String {
    format!("{profile}/{}", kind.user_suffix())
}

/// The secret from the environment, when set and non-empty.
pub fn from_env(kind: SecretKind) -> Option<Zeroizing<String>> {
    std::env::var(kind.env_var()).ok().filter(|v| !v.is_empty()).map(Zeroizing::new)
}

/// Which keyring `$ENTRATOOL_KEYRING` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Auto,
    SecretService,
    Keyutils,
    None,
}

pub fn backend() -> Result<Backend> {
    match std::env::var("ENTRATOOL_KEYRING").unwrap_or_default().as_str() {
        "" | "auto" => Ok(Backend::Auto),
        "secret-service" => Ok(Backend::SecretService),
        "keyutils" => Ok(Backend::Keyutils),
        "none" => Ok(Backend::None),
        other => Err(Error::usage(format!(
            "ENTRATOOL_KEYRING='{other}' is not known: use auto, secret-service, keyutils or none"
        ))),
    }
}

/// Opens the store the environment asks for. `Ok(None)` means "no keyring" by choice.
pub fn open_store() -> Result<Option<(Arc<CredentialStore>, &'static str)>> {
    match backend()? {
        Backend::None => Ok(None),
        chosen => platform::open(chosen).map(Some),
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub fn open(chosen: Backend) -> Result<(Arc<CredentialStore>, &'static str)> {
        let secret_service = || {
            zbus_secret_service_keyring_store::Store::new()
                .map(|s| (s as Arc<CredentialStore>, "Secret Service"))
        };
        let keyutils = || {
            linux_keyutils_keyring_store::Store::new().map(|s| (s as Arc<CredentialStore>, "kernel keyring"))
        };
        let unusable = |name: &str, e: keyring_core::Error| {
            Error::credential(format!(
                "the {name} cannot be used: {e}. Set ENTRATOOL_KEYRING to another store (auto, secret-service, \
                 keyutils), or pass the secret in the environment for this run"
            ))
        };
        match chosen {
            Backend::SecretService => secret_service().map_err(|e| unusable("Secret Service", e)),
            Backend::Keyutils => keyutils().map_err(|e| unusable("kernel keyring", e)),
            // The Secret Service needs a session bus; without one, go straight to keyutils.
            _ if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() => {
                secret_service().or_else(|_| keyutils()).map_err(|e| unusable("kernel keyring", e))
            }
            _ => keyutils().map_err(|e| unusable("kernel keyring", e)),
        }
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;
    pub fn open(_: Backend) -> Result<(Arc<CredentialStore>, &'static str)> {
        apple_native_keyring_store::keychain::Store::new()
            .map(|s| (s as Arc<CredentialStore>, "Keychain"))
            .map_err(|e| Error::credential(format!("the Keychain cannot be used: {e}")))
    }
}

#[cfg(windows)]
mod platform {
    use super::*;
    pub fn open(_: Backend) -> Result<(Arc<CredentialStore>, &'static str)> {
        windows_native_keyring_store::Store::new()
            .map(|s| (s as Arc<CredentialStore>, "Credential Manager"))
            .map_err(|e| Error::credential(format!("the Credential Manager cannot be used: {e}")))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod platform {
    use super::*;
    pub fn open(_: Backend) -> Result<(Arc<CredentialStore>, &'static str)> {
        Err(Error::credential(
            "no OS keyring is supported on this platform: pass secrets in the environment (ENTRATOOL_CERTIFICATE_PASSWORD, ENTRATOOL_CLIENT_SECRET)",
        ))
    }
}

fn entry(store: &Arc<CredentialStore>, profile: &str, kind: SecretKind) -> Result<Entry> {
    Entry::new_in_store(store, SERVICE, &account(profile, kind))
        .map_err(|e| Error::credential(format!("cannot address the keyring entry for profile '{profile}': {e}")))
}

/// The stored secret; `Ok(None)` when there is none (or no keyring by choice).
pub fn load(profile: &str, kind: SecretKind) -> Result<Option<Zeroizing<String>>> {
    let Some((store, _)) = open_store()? else {
        return Ok(None);
    };
    match entry(&store, profile, kind)?.get_password() {
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(Error::credential(format!(
            "cannot read the {} of profile '{profile}' from the keyring: {e}. Set {} for this run instead",
            kind.label(),
            kind.env_var()
        ))),
    }
}

/// Stores a secret; returns the name of the store used.
pub fn save(profile: &str, kind: SecretKind, secret: &str) -> Result<&'static str> {
    let Some((store, name)) = open_store()? else {
        return Err(Error::credential(format!(
            "ENTRATOOL_KEYRING=none: the {} cannot be stored. Unset it to use the OS keyring, or pass {} on each run",
            kind.label(),
            kind.env_var()
        )));
    };
    entry(&store, profile, kind)?.set_password(secret).map_err(|e| {
        Error::credential(format!(
            "cannot store the {} in the {name}: {e}. Pass {} on each run instead",
            kind.label(),
            kind.env_var()
        ))
    })?;
    Ok(name)
}

/// Removes a stored secret; a missing one is fine.
pub fn delete(profile: &str, kind: SecretKind) -> Result<()> {
    let Some((store, name)) = open_store()? else {
        return Ok(());
    };
    match entry(&store, profile, kind)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(Error::credential(format!(
            "cannot remove the {} of profile '{profile}' from the {name}: {e}",
            kind.label()
        ))),
    }
}

/// Reads one secret from stdin (first line, without its line ending).
pub fn read_stdin_secret(what: &str) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let mut buf = Zeroizing::new(String::new());
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut buf)
        .map_err(|e| Error::usage(format!("cannot read the {what} from stdin: {e}")))?;
    let line = buf.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Error::usage(format!("no {what} on stdin: pipe it in, e.g. `printf %s \"$PASS\" | entratool ...`")));
    }
    Ok(Zeroizing::new(line.to_string()))
}
