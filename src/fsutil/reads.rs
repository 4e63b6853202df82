//! Bounded reads of regular files: a FIFO, device or socket named by a
//! variable or a profile is an error, never a hang; a file larger than its
//! kind ever is, an error, never read whole.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

use super::{platform, trusted_file};
use crate::error::Error;

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A FIFO, device, socket or folder: never read (it could block or never end).
    NotRegular,
    /// Larger than the limit.
    TooLarge(u64),
    /// Owned by another user, or writable by others.
    Untrusted(Error),
}

/// Whether the last component of a path may be a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    Follow,
    /// Cache entries: a symlink is never read (a miss, then replaced).
    Refuse,
}

/// Reads a regular file of at most `limit` bytes. The file is opened
/// non-blocking and checked after opening, so a FIFO or device named by a
/// variable or a profile is an error, not a hang.
pub fn read_regular(path: &Path, limit: u64, links: Links) -> std::result::Result<Vec<u8>, ReadError> {
    read_checked(path, limit, links, false)
}

/// `read_regular` of a file of ours: it must also pass the ownership and mode rules.
pub fn read_trusted(path: &Path, limit: u64, links: Links) -> std::result::Result<Vec<u8>, ReadError> {
    read_checked(path, limit, links, true)
}

fn read_checked(path: &Path, limit: u64, links: Links, trust: bool) -> std::result::Result<Vec<u8>, ReadError> {
    let mut options = OpenOptions::new();
    options.read(true);
    // Non-blocking (a FIFO opens at once), and a refused link is opened itself, then refused below.
    platform::open_flags(&mut options, links);
    let file = options.open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.file_type().is_symlink() {
        return Err(ReadError::Io(std::io::Error::other("a link, which is never read here")));
    }
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if trust {
        trusted_file(&file, path).map_err(ReadError::Untrusted)?;
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A bounded read as the user's error, the file named by `what` (`the
/// kubeconfig`): its bytes, or `Ok(None)` when it does not exist. `trust`
/// also applies the ownership and mode rules of a file of ours.
pub fn read_named(
    path: &Path,
    limit: u64,
    links: Links,
    trust: bool,
    what: &str,
) -> crate::error::Result<Option<Vec<u8>>> {
    match read_checked(path, limit, links, trust) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(ReadError::Io(e)) => Err(Error::io("read", path, e)),
        Err(ReadError::NotRegular) => Err(Error::config(format!("{what} {} is not a regular file", path.display()))
            .with_remedy("a FIFO, device or folder is never read or written: replace it with the file itself")),
        Err(ReadError::TooLarge(n)) => Err(Error::config(format!(
            "{what} {} is {n} bytes, larger than any {what} ({limit} at most)",
            path.display()
        ))
        .with_remedy("check what the path names")),
        Err(ReadError::Untrusted(e)) => Err(e),
    }
}
