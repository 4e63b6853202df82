//! The config and cache folders, and private folders (`0700`, or an
//! owner-only access list on Windows) created on first use.

use std::path::{Path, PathBuf};

use super::platform;
use crate::error::{Error, Result};

/// `$ENTRATOOL_CONFIG_DIR`, else the platform config folder + `entratool`.
pub fn config_dir() -> Result<PathBuf> {
    dir_from_env("ENTRATOOL_CONFIG_DIR", |b| b.config_dir().join("entratool"))
}

/// The folder earlier versions' name-only keyring entries belong to: the
/// platform's default config folder as it is without any variable (on Linux
/// `~/.config/entratool`, whatever `$XDG_CONFIG_HOME` says; elsewhere the
/// platform's, which no variable moves).
fn legacy_config_dir() -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    Some(if cfg!(target_os = "linux") {
        base.home_dir().join(".config").join("entratool")
    } else {
        base.config_dir().join("entratool")
    })
}

/// Whether the config folder in use is that folder (`$ENTRATOOL_CONFIG_DIR`
/// and `$XDG_CONFIG_HOME` unset, or naming it): only there are an earlier
/// version's keyring entries read (docs/reference.md#secrets).
pub fn is_default_config_dir() -> bool {
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    match (config_dir(), legacy_config_dir()) {
        (Ok(dir), Some(legacy)) => absolute(dir) == absolute(legacy),
        _ => false,
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
