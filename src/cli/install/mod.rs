//! `entratool install`: the names the tools look for, as links to this
//! binary, from the one table of helpers (`entratool::protocols::HELPERS`).
//! A symlink on Unix; a hard link (or a copy) on Windows, where symlinks
//! need a privilege.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

use std::path::{Path, PathBuf};

use clap::Args;

use entratool::error::{Error, Result};
use entratool::protocols::{HELPERS, Helper};

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Where to create the links (default: the folder of this binary)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Also create the `az` shim (shadows a real Azure CLI on PATH)
    #[arg(long)]
    pub az: bool,
    /// Also create the `azd` shim (shadows a real Azure Developer CLI on PATH)
    #[arg(long)]
    pub azd: bool,
}

/// The helpers `install` links: those linked by default, and the shims asked for.
pub fn chosen(a: &InstallArgs) -> Vec<&'static Helper> {
    HELPERS.iter().filter(|h| h.linked_by_default || (a.az && h.name == "az") || (a.azd && h.name == "azd")).collect()
}

pub fn run(a: InstallArgs) -> Result<()> {
    let exe = super::args::current_exe()?;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => exe.parent().map(Path::to_path_buf).ok_or_else(|| Error::config("cannot find the binary's folder"))?,
    };
    // Docs suggest ~/.local/bin, which a fresh account often lacks.
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create the folder", &dir, e))?;
    for helper in chosen(&a) {
        platform::install_one(&exe, &dir, helper.name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The link names in the .deb's assets (`dest = "usr/bin/NAME"` of a symlink source).
    fn deb_links(manifest: &str) -> Vec<&str> {
        manifest
            .lines()
            .filter(|l| l.contains("preserve-symlinks = true"))
            .filter_map(|l| l.split("dest = \"usr/bin/").nth(1)?.split('"').next())
            .collect()
    }

    /// The .deb ships a link for exactly the helpers `install` makes by
    /// default (Cargo.toml's `package.metadata.deb` assets).
    #[test]
    fn the_deb_links_the_helpers_install_makes() {
        let defaults = InstallArgs { dir: None, az: false, azd: false };
        let mut wanted: Vec<&str> = chosen(&defaults).iter().map(|h| h.name).collect();
        let mut shipped = deb_links(include_str!("../../../Cargo.toml"));
        wanted.sort_unstable();
        shipped.sort_unstable();
        assert_eq!(shipped, wanted, "Cargo.toml's .deb links and protocols::HELPERS differ");
    }
}
