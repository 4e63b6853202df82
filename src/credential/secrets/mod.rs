//! Certificate passwords and client secrets: the environment for one run,
//! else the OS keyring (service `entratool`). Never a file of ours.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

// The platform halves (docs/architecture.md, "Platform code"): one private child per system with
// the same `open`, picked here.
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod platform {
    use super::{Backend, Keyring, SecretKind, unusable};
    use crate::error::Result;
    pub fn open(_: Backend) -> Result<Keyring> {
        Err(unusable("OS keyring", "none is supported on this platform"))
    }

    pub fn check_size(_: SecretKind, _: &str) -> Result<()> {
        Ok(())
    }
}

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

/// The keyring account of a profile's secret: the profile in its config
/// folder, so profiles of the same name in two folders (`ENTRATOOL_CONFIG_DIR`)
/// never read, overwrite or delete each other's secrets (docs/reference.md#secrets).
fn account(profile: &str, kind: SecretKind) -> Result<String> {
    let dir = crate::fsutil::config_dir()?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let folder = crate::codec::hex(&sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes())[..8]);
    Ok(format!("{}@{folder}", legacy_account(profile, kind)))
}

/// The account earlier versions used: the profile's name alone.
fn legacy_account(profile: &str, kind: SecretKind) -> String {
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
        other => Err(Error::usage(format!("ENTRATOOL_KEYRING='{other}' is not known"))
            .with_remedy("use auto, secret-service, keyutils or none")),
    }
}

/// A place secrets can live.
pub enum Keyring {
    /// A keyring-core store: Secret Service, Keychain or Credential Manager.
    Core(Arc<CredentialStore>, &'static str),
    /// The Linux kernel's per-user keyring (keyutils), used directly: the
    /// keyring-core keyutils store insists on linking into the persistent
    /// keyring, which containers often forbid.
    #[cfg(target_os = "linux")]
    Kernel,
}

/// The name of the store secrets go to (`kernel keyring`, `Secret Service`,
/// …), or what stands for none: for messages that say where a secret was
/// looked for.
pub fn store_name() -> &'static str {
    match open_keyring() {
        Ok(Some(k)) => k.name(),
        Ok(None) => "environment only (ENTRATOOL_KEYRING=none)",
        Err(_) => "OS keyring (unusable here)",
    }
}

/// The kernel keyring is lost at reboot: what to say whenever a secret is
/// stored there, or found there by `doctor` and `status`.
pub const VOLATILE_NOTE: &str = "the kernel keyring is lost at reboot; durable choices: a PFX without a password \
     kept 0600, ENTRATOOL_CLIENT_SECRET or ENTRATOOL_CERTIFICATE_PASSWORD from the service manager, a managed or \
     workload identity, or a Secret Service (gnome-keyring) session (docs/secrets.md)";

/// Whether a store of that name loses its secrets at reboot.
pub fn is_volatile(store: &str) -> bool {
    store == "kernel keyring"
}

/// The store holding this profile's secret of `kind`, when one holds it.
pub fn held_in(profile: &str, kind: SecretKind) -> Option<&'static str> {
    let keyring = open_keyring().ok()??;
    let held = keyring.get(&account(profile, kind).ok()?).ok()?.is_some();
    held.then(|| keyring.name())
}

impl Keyring {
    pub fn name(&self) -> &'static str {
        match self {
            Keyring::Core(_, name) => name,
            #[cfg(target_os = "linux")]
            Keyring::Kernel => "kernel keyring",
        }
    }

    fn get(&self, account: &str) -> std::result::Result<Option<Zeroizing<String>>, String> {
        match self {
            Keyring::Core(store, _) => match core_entry(store, account)?.get_password() {
                Ok(p) => Ok(Some(Zeroizing::new(p))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e.to_string()),
            },
            #[cfg(target_os = "linux")]
            Keyring::Kernel => linux::kernel::get(account),
        }
    }

    fn set(&self, account: &str, secret: &str) -> std::result::Result<(), String> {
        match self {
            Keyring::Core(store, _) => core_entry(store, account)?.set_password(secret).map_err(|e| e.to_string()),
            #[cfg(target_os = "linux")]
            Keyring::Kernel => linux::kernel::set(account, secret),
        }
    }

    fn delete(&self, account: &str) -> std::result::Result<(), String> {
        match self {
            Keyring::Core(store, _) => match core_entry(store, account)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
            #[cfg(target_os = "linux")]
            Keyring::Kernel => linux::kernel::delete(account),
        }
    }
}

fn core_entry(store: &Arc<CredentialStore>, account: &str) -> std::result::Result<Entry, String> {
    Entry::new_in_store(store, SERVICE, account).map_err(|e| e.to_string())
}

/// Opens the store the environment asks for. `Ok(None)` means "no keyring" by choice.
pub fn open_keyring() -> Result<Option<Keyring>> {
    match backend()? {
        Backend::None => Ok(None),
        chosen => platform::open(chosen).map(Some),
    }
}

fn unusable(name: &str, e: impl std::fmt::Display) -> Error {
    Error::credential(format!("the {name} cannot be used")).with_source(e).with_remedy(
        "set ENTRATOOL_KEYRING to another store (auto, secret-service, keyutils), or pass the secret in the \
         environment for this run",
    )
}

/// The stored secret; `Ok(None)` when there is none (or no keyring by choice).
/// What the user should hear (a copy that failed) goes to `warnings`.
pub fn load(profile: &str, kind: SecretKind, warnings: &mut Vec<String>) -> Result<Option<Zeroizing<String>>> {
    let Some(store) = open_keyring()? else {
        return Ok(None);
    };
    let unreadable = |e: String| {
        Error::credential(format!("cannot read the {} of profile '{profile}' from the {}", kind.label(), store.name()))
            .with_source(e)
            .with_remedy(format!("set {} for this run instead", kind.env_var()))
    };
    let ours = account(profile, kind)?;
    if let Some(secret) = store.get(&ours).map_err(unreadable)? {
        return Ok(Some(secret));
    }
    // Stored by an earlier version under the name alone, which knew no folder but the default
    // one: copied to that folder's account only. A profile of the same name in another folder
    // (`$ENTRATOOL_CONFIG_DIR`) never reads it.
    if !crate::fsutil::is_default_config_dir() {
        return Ok(None);
    }
    let Some(secret) = store.get(&legacy_account(profile, kind)).map_err(unreadable)? else {
        return Ok(None);
    };
    if let Err(e) = store.set(&ours, &secret) {
        warnings.push(format!("the {} was not copied to this folder's keyring entry: {e}", kind.label()));
    }
    Ok(Some(secret))
}

/// The account of the password of one certificate file of a profile: a
/// rotation stores the new file's password here before the profile points
/// at the file, so no moment pairs a file with another file's password.
fn file_account(profile: &str, file: &std::path::Path) -> Result<String> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let hash = crate::codec::hex(&sha2::Sha256::digest(file.as_os_str().as_encoded_bytes())[..8]);
    Ok(format!("{}:{hash}", account(profile, SecretKind::CertificatePassword)?))
}

/// The stored password of one certificate file of a profile (see `file_account`).
pub fn load_for_file(profile: &str, file: &std::path::Path) -> Result<Option<Zeroizing<String>>> {
    let Some(store) = open_keyring()? else { return Ok(None) };
    store.get(&file_account(profile, file)?).map_err(|e| {
        Error::credential(format!(
            "cannot read a certificate password of profile '{profile}' from the {}",
            store.name()
        ))
        .with_source(e)
        .with_remedy("set ENTRATOOL_CERTIFICATE_PASSWORD for this run instead")
    })
}

/// Stores the password of one certificate file of a profile; the store's name.
pub fn save_for_file(profile: &str, file: &std::path::Path, secret: &str) -> Result<&'static str> {
    save_account(SecretKind::CertificatePassword, &file_account(profile, file)?, secret)
}

/// Removes the stored password of one certificate file (a missing one is fine).
pub fn delete_for_file(profile: &str, file: &std::path::Path) -> Result<()> {
    let Some(store) = open_keyring()? else { return Ok(()) };
    store.delete(&file_account(profile, file)?).map_err(|e| {
        Error::credential(format!("cannot remove a certificate password of profile '{profile}'")).with_source(e)
    })
}

/// Stores a secret; returns the name of the store used.
pub fn save(profile: &str, kind: SecretKind, secret: &str) -> Result<&'static str> {
    save_account(kind, &account(profile, kind)?, secret)
}

fn save_account(kind: SecretKind, account: &str, secret: &str) -> Result<&'static str> {
    let Some(store) = open_keyring()? else {
        return Err(Error::credential(format!("ENTRATOOL_KEYRING=none: the {} cannot be stored", kind.label()))
            .with_remedy(format!(
                "unset ENTRATOOL_KEYRING to use the OS keyring, or pass {} on each run",
                kind.env_var()
            )));
    };
    platform::check_size(kind, secret)?;
    // Create-or-update is two calls in some stores (the Keychain answers "item already exists"
    // to the second of two concurrent creates): one writer at a time, across processes.
    let _lock = crate::fsutil::lock(&crate::fsutil::config_dir()?.join("secrets.lock"))?;
    store.set(account, secret).map_err(|e| {
        Error::credential(format!("cannot store the {} in the {}", kind.label(), store.name()))
            .with_source(e)
            .with_remedy(format!("pass {} on each run instead", kind.env_var()))
    })?;
    Ok(store.name())
}

/// A secret too long for Credential Manager: what to say (every platform's tests check the rule).
pub fn too_long_for_credential_manager(kind: SecretKind) -> Error {
    Error::credential(format!(
        "the {} is longer than Credential Manager keeps ({CREDENTIAL_MANAGER_MAX} bytes)",
        kind.label()
    ))
    .with_remedy(format!("pass {} on each run instead", kind.env_var()))
}

/// Credential Manager keeps at most this many bytes per credential (CRED_MAX_CREDENTIAL_BLOB_SIZE).
pub const CREDENTIAL_MANAGER_MAX: usize = 2560;

/// Whether `secret` fits a Credential Manager blob, stored as UTF-16 (two bytes a unit).
pub fn fits_credential_manager(secret: &str) -> bool {
    secret.encode_utf16().count() * 2 <= CREDENTIAL_MANAGER_MAX
}

/// Removes a stored secret; a missing one is fine. In the default folder, an
/// entry of an earlier version (the name alone) goes too when it holds the
/// same secret: it was this profile's, copied on first use. Other folders
/// never touch it.
pub fn delete(profile: &str, kind: SecretKind, warnings: &mut Vec<String>) -> Result<()> {
    let Some(store) = open_keyring()? else {
        return Ok(());
    };
    let ours = account(profile, kind)?;
    let legacy = legacy_account(profile, kind);
    if crate::fsutil::is_default_config_dir()
        && let (Ok(Some(mine)), Ok(Some(old))) = (store.get(&ours), store.get(&legacy))
        && *mine == *old
        && let Err(e) = store.delete(&legacy)
    {
        warnings.push(format!("the earlier version's keyring entry {legacy} was not removed: {e}"));
    }
    store.delete(&ours).map_err(|e| {
        Error::credential(format!(
            "cannot remove the {} of profile '{profile}' from the {}: {e}",
            kind.label(),
            store.name()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_manager_blobs_are_counted_in_utf16_bytes() {
        assert!(fits_credential_manager(&"s".repeat(1280)));
        assert!(!fits_credential_manager(&"s".repeat(1281)));
        // A client secret (40 characters) and a long certificate password fit.
        assert!(fits_credential_manager(&"Ab1~".repeat(10)));
        // A character outside the basic plane is two UTF-16 units.
        assert!(fits_credential_manager(&"😀".repeat(640)));
        assert!(!fits_credential_manager(&"😀".repeat(641)));
    }
}
