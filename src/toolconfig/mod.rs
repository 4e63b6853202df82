//! Other tools' files: kubeconfigs, git's config and docker's config.json.
//! They belong to their tools and often hold their only copy of a
//! credential, so every change follows one set of rules (contract section 4,
//! docs/reference.md#other-tools-files), kept here and nowhere else:
//! - a file is read bounded and only if it is a regular file (a FIFO or
//!   device is an error, not a hang); one that does not parse is never written;
//! - a change is planned in full first: the exact bytes after it, checked to
//!   read as intended (every other entry the same), shown as a unified diff
//!   with every secret value as `********` for `--dry-run`, which writes
//!   nothing anywhere;
//! - a change that changes nothing says so and writes nothing, not even a backup;
//! - before a file is changed, its exact bytes are backed up beside it
//!   (complete, or absent); then it is replaced keeping its owner, group,
//!   mode, symlink and hard links, under the tool's own lock where it has one.
//!
//! `kubeconfig`, `kubelogin`, `gitconfig` and `docker` say what each format
//! needs; the setup commands only wire them to profiles.

pub mod docker;
pub mod gitconfig;
pub mod kubeconfig;
pub mod kubelogin;
pub mod kuberc;
mod lockfile;
mod yaml_edit;
mod yaml_text;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::{self, Links, Replaced};
pub use lockfile::TheirLock;

/// What every secret value is shown as.
pub const HIDDEN: &str = "********";

/// Another tool's file read before it is changed: a regular file of at most
/// `limit` bytes (a FIFO or device is an error, not a hang), following a
/// link as the tool would. `Ok(None)` when it does not exist.
pub fn read(path: &Path, limit: u64, what: &str) -> Result<Option<Vec<u8>>> {
    fsutil::read_named(path, limit, Links::Follow, false, what)
}

/// A planned change of one file: its bytes now (none: it does not exist
/// yet) and after, and the secret values any view of either must hide.
pub struct Change {
    pub path: PathBuf,
    /// What the file is, for messages (`the kubeconfig`, `docker's config`).
    pub what: &'static str,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
    pub secrets: Vec<String>,
}

/// What `apply` did.
#[derive(Debug)]
pub struct Applied {
    pub backup: Option<PathBuf>,
    pub replaced: Replaced,
}

impl Change {
    /// Whether applying it would leave the file as it is.
    pub fn is_empty(&self) -> bool {
        self.before.as_deref() == Some(self.after.as_slice())
    }

    /// The change as `diff -u` shows it, every secret value `********`.
    pub fn diff(&self) -> String {
        let before = String::from_utf8_lossy(self.before.as_deref().unwrap_or_default());
        let after = String::from_utf8_lossy(&self.after);
        let shown = self.path.display().to_string();
        let old_header = if self.before.is_some() { shown.clone() } else { "/dev/null".to_string() };
        let text = similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
            .unified_diff()
            .context_radius(3)
            .header(&old_header, &format!("{shown} (after)"))
            .to_string();
        mask(&text, &self.secrets)
    }

    /// Writes the change: a read-only file is kept as it is; the exact bytes
    /// it had are backed up first; then it is replaced keeping its owner,
    /// group and mode (and its hard links, by a write in place).
    pub fn apply(&self) -> Result<Applied> {
        let backup = match &self.before {
            Some(bytes) => {
                check_writable(&self.path)?;
                Some(backup(&self.path, bytes)?)
            }
            None => None,
        };
        let replaced = fsutil::replace_keeping_owner(&self.path, &self.after)?;
        Ok(Applied { backup, replaced })
    }
}

/// `text` with every occurrence of each secret value replaced by `********`:
/// the longest first, so a value inside another is not half shown. Values of
/// fewer than four characters are hidden only where they stand alone, so a
/// one-letter secret does not blank every word.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut values: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    values.sort_by_key(|s| std::cmp::Reverse(s.len()));
    values.dedup();
    let mut out = text.to_string();
    for value in values {
        out = if value.chars().count() >= 4 { out.replace(value, HIDDEN) } else { replace_standalone(&out, value) };
    }
    out
}

/// Replaces `value` where neither neighbour is a letter, digit, `_` or `-`.
fn replace_standalone(text: &str, value: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(value) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + value.len()..].chars().next();
        out.push_str(&rest[..at]);
        out.push_str(if word(before) || word(after) { value } else { HIDDEN });
        rest = &rest[at + value.len()..];
    }
    out.push_str(rest);
    out
}

/// A file the user made read-only is never replaced.
fn check_writable(path: &Path) -> Result<()> {
    match fsutil::read_only(path)? {
        Some(why) => Err(Error::config(format!("{} is read-only ({why})", path.display())).with_remedy(format!(
            "it is kept as it is; make it writable (chmod u+w {}) if it is to change",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// Keeps the exact bytes of another tool's file before entratool changes it:
/// `<file>.entratool-backup-<UTC time>` (then `-2`, `-3`, … within one
/// second), private, created exclusively (never through a symlink, never
/// over an earlier backup), synced. A backup that cannot be written whole
/// (a full disk) is removed: it is complete or absent. Returns its path.
pub fn backup(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for n in 1..1000 {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let candidate = path.with_file_name(format!("{name}.entratool-backup-{stamp}{suffix}"));
        match fsutil::create_private_new(&candidate) {
            Ok(mut f) => {
                if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
                    drop(f);
                    // A partial backup would look like a good one: it goes, and the change does not happen.
                    drop(std::fs::remove_file(&candidate));
                    return Err(Error::io("write the backup", &candidate, e)
                        .with_remedy("free some space there; nothing was changed"));
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create the backup", &candidate, e)),
        }
    }
    Err(Error::config(format!("cannot find a free backup name beside {}", path.display()))
        .with_remedy("remove old .entratool-backup-* files there"))
}

/// What a person reads after a change: the backup, and how the file was replaced.
pub fn describe(applied: &Applied) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(b) = &applied.backup {
        lines.push(format!("backup of the file as it was: {} (copy it back to undo)", b.display()));
    }
    if let Replaced::InPlace { links } = applied.replaced {
        lines
            .push(format!("the file has {links} hard links: it was rewritten in place, so every link sees the change"));
    }
    lines
}

/// Removes the temporary files a killed write of ours left beside `file` (a
/// killed conversion's holds the kubeconfig, secrets included).
pub fn remove_our_leftovers(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::remove_stale_temporaries(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_long_ones_anywhere_short_ones_alone() {
        let secrets = vec!["S3cr3tValue".to_string(), "ab".to_string()];
        assert_eq!(mask("token: S3cr3tValue\n", &secrets), "token: ********\n");
        assert_eq!(mask("x=ab y=abc ab", &secrets), "x=******** y=abc ********");
    }

    #[test]
    fn a_diff_names_the_file_and_hides_secrets() {
        let change = Change {
            path: PathBuf::from("/k/config"),
            what: "the kubeconfig",
            before: Some(b"a: 1\ntoken: hunter22\n".to_vec()),
            after: b"a: 1\nexec: {}\n".to_vec(),
            secrets: vec!["hunter22".into()],
        };
        let d = change.diff();
        assert!(d.contains("--- /k/config") && d.contains("-token: ********") && d.contains("+exec: {}"), "{d}");
        assert!(!change.is_empty());
    }
}
