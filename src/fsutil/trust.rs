//! The ownership and mode rules entratool trusts its files by, as ssh's
//! StrictModes does: owned by the user (or root, for folders) and writable by
//! nobody else (docs/reference.md#files). The platform child says what is
//! wrong; here it becomes the user's error with the command that fixes it.

use std::fs::File;
use std::path::Path;

use super::platform;
use crate::error::{Error, Result};

/// A folder of ours that others could write (or that another user owns) is
/// refused: files in it could be swapped under us. A missing folder is fine:
/// it will be created private.
pub fn check_trusted_folder(dir: &Path) -> Result<()> {
    match platform::untrusted_folder(dir) {
        Some((what, fix)) => Err(Error::config(format!("refusing {what}")).with_remedy(fix)),
        None => Ok(()),
    }
}

/// A file of ours, checked on its open handle: a cache entry failing this is a miss.
pub fn trusted_file(file: &File, path: &Path) -> Result<()> {
    match platform::untrusted(file, path, false) {
        Some((what, fix)) => Err(Error::config(format!("refusing {what}")).with_remedy(fix)),
        None => Ok(()),
    }
}

/// Whether `path` is owned by this user (a missing file is not).
pub fn is_mine(path: &Path) -> bool {
    platform::is_mine(path)
}
