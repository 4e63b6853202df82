//! Atomic replaces: a temporary file in the same folder, written, synced and
//! renamed over the target, so a reader sees the old or the new content and
//! a killed write leaves only a temporary file, removed by the next write in
//! that folder (it may hold tokens).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::locks::is_symlink;
use super::{Links, ensure_private_dir, platform};
use crate::error::{Error, Result};

/// Temporary files of writes that were killed: older than this, nobody is writing them.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes temporary files left in `dir` by killed writes (they may hold
/// tokens); returns how many went.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let stale = |e: &std::fs::DirEntry| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name.starts_with(".entratool-")
            && name.ends_with(".tmp")
            && e.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMPORARY)
    };
    entries.flatten().filter(|e| stale(e)).filter(|e| std::fs::remove_file(e.path()).is_ok()).count()
}

/// Replaces `path` with `bytes` atomically: a private temporary file in the
/// same folder, fsync, rename, fsync of the folder. A `path` that is a
/// symlink (dotfile managers link profiles.json, kubeconfigs, docker's
/// config) stays one: its target is replaced. Cache files use
/// `replace_unsynced`, which never follows.
pub fn replace_keeping_link(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, Links::Follow, Durability::Synced)
}

/// `replace_keeping_link` that replaces a symlink at `path` itself, never its target.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, Links::Refuse, Durability::Synced)
}

/// `replace_file` without the two fsyncs, for the token cache only: readers
/// still see the old or the new content, but after a power cut the file may
/// be empty or old, which the cache reads as a miss and fetches again. The
/// syncs cost a cold fetch about a millisecond of CPU here and far more wall
/// time on a slow disk (docs/performance.md); nothing is lost without them.
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, Links::Refuse, Durability::Unsynced)
}

/// Whether a replace waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    Synced,
    Unsynced,
}

/// The file a write through `path` lands in: a symlink's target when links are followed.
fn target(path: &Path, links: Links) -> Result<PathBuf> {
    if links == Links::Follow && is_symlink(path) {
        return std::fs::canonicalize(path).map_err(|e| Error::io("follow the link", path, e));
    }
    Ok(path.to_path_buf())
}

fn write_replacing(path: &Path, bytes: &[u8], links: Links, durability: Durability) -> Result<()> {
    let path = target(path, links)?;
    let dir = folder_of(&path);
    ensure_private_dir(dir)?;
    let tmp = temporary_with(dir, bytes, durability == Durability::Synced)?;
    persist(tmp, &path, durability)
}

fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A temporary file in `dir` holding `bytes` (synced when asked), after the
/// folder's stale temporaries are gone.
fn temporary_with(dir: &Path, bytes: &[u8], synced: bool) -> Result<tempfile::NamedTempFile> {
    remove_stale_temporaries(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(".entratool-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| if synced { tmp.as_file().sync_all() } else { Ok(()) })
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    Ok(tmp)
}

fn persist(tmp: tempfile::NamedTempFile, path: &Path, durability: Durability) -> Result<()> {
    tmp.persist(path).map_err(|e| Error::io("replace", path, e.error))?;
    // The rename is durable once the folder is synced; a failure here loses
    // nothing that the rename has not already made visible.
    if durability == Durability::Synced
        && let Ok(d) = File::open(folder_of(path))
    {
        drop(d.sync_all());
    }
    Ok(())
}

/// How another tool's file was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// A new file, renamed over the old one with the old one's owner, group and mode.
    Atomically,
    /// The file has `links` hard links: a rename would split them, so its
    /// content was rewritten in place (every link sees the change).
    InPlace { links: u64 },
}

/// Replaces another tool's file (kubeconfig, docker's config.json) as that
/// tool would: its owner, group and mode stay (root editing a user's 0640
/// kubeconfig leaves it the user's), a symlink stays a link to the replaced
/// target, and a file with several hard links is rewritten in place rather
/// than split from its other names. A new file is created private.
pub fn replace_keeping_owner(path: &Path, bytes: &[u8]) -> Result<Replaced> {
    let path = target(path, Links::Follow)?;
    let existing = std::fs::metadata(&path).ok();
    if let Some(links) = existing.as_ref().map(platform::hard_links).filter(|&n| n > 1) {
        write_in_place(&path, bytes)?;
        return Ok(Replaced::InPlace { links });
    }
    let dir = folder_of(&path);
    if !dir.is_dir() {
        ensure_private_dir(dir)?;
    }
    let tmp = temporary_with(dir, bytes, true)?;
    if let Some(meta) = &existing {
        platform::copy_owner_and_mode(tmp.as_file(), meta)
            .map_err(|e| Error::io("give the new file the owner and mode of", &path, e))?;
    }
    persist(tmp, &path, Durability::Synced)?;
    Ok(Replaced::Atomically)
}

/// Truncates and rewrites `path` through its existing inode, then syncs.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(path).map_err(|e| Error::io("open", path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io("write", path, e))
}

/// Creates `path` exclusively (`O_EXCL`: never through a symlink, never over
/// an existing file), private to the user: for backups of other tools' files.
pub fn create_private_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    platform::private_file(&mut options);
    let file = options.open(path)?;
    // Windows: the folder is another tool's, so the file gets its own owner-only list.
    platform::make_private(path, false)?;
    Ok(file)
}

/// Opens `path` to append, creating it private; a link is never followed and
/// a FIFO never blocks (the caller checks that it got a regular file of ours).
pub fn open_append_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    platform::private_file(&mut options);
    platform::open_flags(&mut options, Links::Refuse);
    options.open(path)
}
