//! Links on Unix: symlinks to the binary.

use std::path::Path;

use entratool::error::{Error, Result};

/// `dir/name` as a symlink to this binary; an older link is replaced, anything else kept.
pub fn install_one(exe: &Path, dir: &Path, name: &str) -> Result<()> {
    let link = dir.join(name);
    match std::fs::read_link(&link) {
        Ok(target) if target == exe => {
            entratool::outln!("✓ {} already points at {}", link.display(), exe.display());
            return Ok(());
        }
        Ok(_) => std::fs::remove_file(&link).map_err(|e| Error::io("replace", &link, e))?,
        Err(_) if link.exists() => {
            return Err(Error::config(format!("{} exists and is not a link", link.display()))
                .with_remedy("move it away first: entratool does not overwrite it"));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(exe, &link).map_err(|e| Error::io("create the link", &link, e))?;
    entratool::outln!("✓ {} -> {}", link.display(), exe.display());
    Ok(())
}
