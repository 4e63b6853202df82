//! Windows: Credential Manager.

use std::sync::Arc;

use keyring_core::CredentialStore;

use super::{Backend, Keyring, SecretKind, unusable};
use crate::error::Result;

pub fn open(_: Backend) -> Result<Keyring> {
    windows_native_keyring_store::Store::new()
        .map(|s| Keyring::Core(s as Arc<CredentialStore>, "Credential Manager"))
        .map_err(|e| unusable("Credential Manager", e))
}

/// Credential Manager refuses blobs over its limit: said before the keyring is asked.
pub fn check_size(kind: SecretKind, secret: &str) -> Result<()> {
    if super::fits_credential_manager(secret) { Ok(()) } else { Err(super::too_long_for_credential_manager(kind)) }
}
