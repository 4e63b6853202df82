//! Where entratool keeps its files, and the two primitives every write uses:
//! a private folder and an atomic replace under an exclusive lock.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::error::{Error, Result};

/// `$ENTRATOOL_CONFIG_DIR`, else the platform config folder + `entratool`.
pub fn config_dir() -> Result<PathBuf> {
    dir_from_env("ENTRATOOL_CONFIG_DIR", |b| b.config_dir().join("entratool"))
}

/// `$ENTRATOOL_CACHE_DIR`, else the platform cache folder + `entratool`.
pub fn cache_dir() -> Result<PathBuf> {
    dir_from_env("ENTRATOOL_CACHE_DIR", |b| b.cache_dir().join("entratool"))
}

fn dir_from_env(var: &str, default: impl Fn(&directories::BaseDirs) -> PathBuf) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::BaseDirs::new()
        .map(|b| default(&b))
        .ok_or_else(|| Error::config(format!("cannot find your home folder: set {var} to a folder entratool may use")))
}

/// Creates `dir` (and parents) with mode 0700 when it does not exist yet.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| Error::io("create the folder", dir, e))
}

/// An exclusive advisory lock, held until the value is dropped.
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// Takes the exclusive lock on `lock_path`, creating the (empty, 0600) lock file.
pub fn lock(lock_path: &Path) -> Result<Lock> {
    if let Some(parent) = lock_path.parent() {
        ensure_private_dir(parent)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(lock_path).map_err(|e| Error::io("open the lock file", lock_path, e))?;
    file.lock_exclusive().map_err(|e| Error::io("lock", lock_path, e))?;
    Ok(Lock { file })
}

/// Replaces `path` with `bytes` atomically: a 0600 temporary file in the same
/// folder, fsync, rename, fsync of the folder. A reader sees the old or the
/// new content, never a mix; a crash leaves at most a stray temporary file.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".entratool-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes).and_then(|_| tmp.as_file().sync_all()).map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io("replace", path, e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A FIFO, device, socket or folder: never read (it could block or never end).
    NotRegular,
    /// Larger than the limit.
    TooLarge(u64),
}

/// Reads a regular file of at most `limit` bytes. The file is opened
/// non-blocking and checked after opening, so a FIFO or device named by a
/// variable or a profile is an error, not a hang.
pub fn read_regular(path: &Path, limit: u64) -> std::result::Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
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
