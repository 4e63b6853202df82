//! Links on Windows: hard links to the binary (symlinks need a privilege), or copies.

use std::path::Path;

use entratool::error::{Error, Result};

/// Bytes found in every entratool binary: an `.exe` holding them is an
/// earlier install (a hard link or copy of an older version), replaced; any
/// other file of that name is kept.
const INSTALL_MARKER: &[u8] = b"entratool install marker: 5b0c1e7a";

/// `dir/name.exe` as a hard link to this binary, or a copy when the folder is on another volume.
pub fn install_one(exe: &Path, dir: &Path, name: &str) -> Result<()> {
    let link = dir.join(format!("{name}.exe"));
    if link.exists() {
        let ours = std::fs::read(exe).map_err(|e| Error::io("read", exe, e))?;
        let theirs = std::fs::read(&link).map_err(|e| Error::io("read", &link, e))?;
        if ours == theirs {
            entratool::outln!("✓ {} is already this entratool", link.display());
            return Ok(());
        }
        if !theirs.windows(INSTALL_MARKER.len()).any(|w| w == INSTALL_MARKER) {
            return Err(Error::config(format!("{} exists and is not entratool", link.display()))
                .with_remedy("move it away first: entratool does not overwrite it"));
        }
        std::fs::remove_file(&link).map_err(|e| Error::io("replace", &link, e))?;
    }
    match std::fs::hard_link(exe, &link) {
        Ok(()) => entratool::outln!("✓ {} (hard link to {})", link.display(), exe.display()),
        Err(_) => {
            std::fs::copy(exe, &link).map_err(|e| Error::io("copy to", &link, e))?;
            entratool::outln!("✓ {} (copy of {}: run install again after an upgrade)", link.display(), exe.display());
        }
    }
    Ok(())
}
