//! Where entratool keeps its files, and the primitives every access to them
//! uses (docs/reference.md#files): the folders (`folders`), the trust rules
//! a file of ours must pass (`trust`), exclusive locks (`locks`), atomic
//! replaces (`writes`) and bounded reads that never block (`reads`).
//!
//! What differs between systems is in one private child per platform with the
//! same functions (`unix`, `windows`; docs/architecture.md, "Platform code"):
//! the Windows trust rules (owner SIDs and access lists) are visible to this
//! folder alone.

mod folders;
mod locks;
mod reads;
mod trust;
mod writes;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

/// Why the user may not write `path` (`mode 400`, the read-only attribute), if so.
pub fn read_only(path: &std::path::Path) -> crate::error::Result<Option<String>> {
    let meta = std::fs::metadata(path).map_err(|e| crate::error::Error::io("read", path, e))?;
    Ok(platform::read_only(&meta))
}

/// Who else may read `path` (`mode 644`), if anyone: for files holding a private key.
pub fn readable_by_others(path: &std::path::Path) -> Option<String> {
    std::fs::metadata(path).ok().as_ref().and_then(platform::readable_by_others)
}

pub use folders::{cache_dir, config_dir, ensure_private_dir, is_default_config_dir};
pub use locks::{Lock, lock};
pub use reads::{Links, ReadError, read_named, read_regular, read_trusted};
pub use trust::{check_trusted_folder, trusted_file};
pub use writes::{
    Replaced, create_private_new, open_append_private, remove_stale_temporaries, replace_file, replace_keeping_link,
    replace_keeping_owner, replace_unsynced,
};
