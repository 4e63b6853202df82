//! Linux: the Secret Service (a desktop session's keyring over D-Bus), else
//! the kernel's per-user keyring (keyutils), used directly: the keyring-core
//! keyutils store insists on linking into the persistent keyring, which
//! containers often forbid.

use std::sync::Arc;

use keyring_core::CredentialStore;

use super::{Backend, Keyring, SecretKind, unusable};
use crate::error::Result;

pub fn open(chosen: Backend) -> Result<Keyring> {
    let secret_service = || {
        zbus_secret_service_keyring_store::Store::new()
            .map(|s| Keyring::Core(s as Arc<CredentialStore>, "Secret Service"))
            .map_err(|e| unusable("Secret Service", e))
    };
    match chosen {
        Backend::SecretService => secret_service(),
        Backend::Keyutils => Ok(Keyring::Kernel),
        // The Secret Service needs a session bus; without one, use the kernel keyring.
        _ if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() => secret_service().or(Ok(Keyring::Kernel)),
        _ => Ok(Keyring::Kernel),
    }
}

/// The Secret Service and the kernel keyring take secrets of any length entratool reads.
pub fn check_size(_: SecretKind, _: &str) -> Result<()> {
    Ok(())
}

/// The kernel keyring, by description `entratool:<account>`.
pub mod kernel {
    use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
    use zeroize::Zeroizing;

    fn ring() -> Result<KeyRing, String> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| format!("{e:?}"))
    }

    fn description(account: &str) -> String {
        format!("{}:{account}", crate::credential::secrets::SERVICE)
    }

    pub fn get(account: &str) -> Result<Option<Zeroizing<String>>, String> {
        let key = match ring()?.search(&description(account)) {
            Ok(k) => k,
            Err(KeyError::KeyDoesNotExist) => return Ok(None),
            Err(e) => return Err(format!("{e:?}")),
        };
        let bytes = Zeroizing::new(key.read_to_vec().map_err(|e| format!("{e:?}"))?);
        let text = std::str::from_utf8(&bytes).map_err(|_| "the stored value is not UTF-8".to_string())?;
        Ok(Some(Zeroizing::new(text.to_string())))
    }

    pub fn set(account: &str, secret: &str) -> Result<(), String> {
        // add_key replaces the payload of a key with the same description.
        ring()?.add_key(&description(account), secret.as_bytes()).map(|_| ()).map_err(|e| format!("{e:?}"))
    }

    pub fn delete(account: &str) -> Result<(), String> {
        match ring()?.search(&description(account)) {
            Ok(key) => key.invalidate().map_err(|e| format!("{e:?}")),
            Err(KeyError::KeyDoesNotExist) => Ok(()),
            Err(e) => Err(format!("{e:?}")),
        }
    }
}
