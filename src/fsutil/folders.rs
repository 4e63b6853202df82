//! The config and cache folders, and private folders (`0700`, or an
//! owner-only access list on Windows) created on first use.

use std::path::{Path, PathBuf};

use super::platform;
use crate::error::{Error, Result};

/// `$ENTRATOOL_CONFIG_DIR`, else the platform config folder + `entratool`.
pub fn config_dir() -> Result<PathBuf> {
    dir_from_env("ENTRATOOL_CONFIG_DIR", |b| b.config_dir().join("entratool"))
}

/// The platform's config folder + `entratool`, whatever `$ENTRATOOL_CONFIG_DIR` says.
fn default_config_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.config_dir().join("entratool"))
}

/// Whether the config folder is the platform's default one (no
/// `$ENTRATOOL_CONFIG_DIR`, or one naming that same folder).
pub fn is_default_config_dir() -> bool {
    match (std::env::var_os("ENTRATOOL_CONFIG_DIR").filter(|v| !v.is_empty()), default_config_dir()) {
        (None, _) => true,
        (Some(dir), Some(default)) => {
            let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
            absolute(PathBuf::from(dir)) == absolute(default)
        }
        (Some(_), None) => false,
    }
}

/// `$ENTRATOOL_CACHE_DIR`, else the platform cache folder + `entratool`.
pub fn cache_dir() -> Result<PathBuf> {
    dir_from_env("ENTRATOOL_CACHE_DIR", |b| b.cache_dir().join("entratool"))
}

fn dir_from_env(var: &str, default: impl Fn(&directories::BaseDirs) -> PathBuf) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::BaseDirs::new().map(|b| default(&b)).ok_or_else(|| {
        Error::config("cannot find your home folder").with_remedy(format!("set {var} to a folder entratool may use"))
    })
}

/// Creates `dir` (and parents) private to the user when it does not exist yet.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    platform::private_dir(&mut builder);
    builder.create(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    // Windows: an owner-only list, inherited by every file created in the folder (0700/0600).
    platform::make_private(dir, true).map_err(|e| Error::io("make private", dir, e))
}
