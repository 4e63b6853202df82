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

/// Whether the config folder is the platform's default one (no
/// `$ENTRATOOL_CONFIG_DIR`, or one naming that same folder).
pub fn is_default_config_dir() -> bool {
    let default = directories::BaseDirs::new().map(|b| b.config_dir().join("entratool"));
    match (std::env::var_os("ENTRATOOL_CONFIG_DIR").filter(|v| !v.is_empty()), default) {
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

/// The ownership and mode rules entratool trusts its files by (as ssh's
/// StrictModes): owned by the user (or root, for folders), and writable by
/// nobody else. What is wrong, with the command that fixes it.
#[cfg(unix)]
fn untrusted(meta: &std::fs::Metadata, path: &Path, folder: bool) -> Option<(String, String)> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner_ok = meta.uid() == me || (folder && meta.uid() == 0);
    let shown = path.display();
    if !owner_ok {
        return Some((format!("{shown} is owned by another user (uid {})", meta.uid()), format!("chown {me} {shown}")));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        let fix = if folder { format!("chmod 700 {shown}") } else { format!("chmod 600 {shown}") };
        return Some((format!("{shown} can be written by other users (mode {mode:o})"), fix));
    }
    None
}

/// A folder of ours that others could write (or that another user owns) is
/// refused: files in it could be swapped under us (docs/reference.md#files). A missing
/// folder is fine: it will be created 0700.
pub fn check_trusted_folder(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(dir)
        && let Some((what, fix)) = untrusted(&meta, dir, true)
    {
        return Err(Error::config(format!("refusing {what}")).with_remedy(fix));
    }
    #[cfg(windows)]
    if let Ok(folder) = open_for_security(dir) {
        windows_verdict(&folder, dir, true)?;
    }
    Ok(())
}

/// A file or folder opened only to read its owner and access list (a
/// folder needs backup semantics; a link is opened itself, never followed).
#[cfg(windows)]
fn open_for_security(path: &Path) -> std::io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    OpenOptions::new().read(true).custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT).open(path)
}

/// `untrusted` of Windows: owner SIDs and access lists (src/winsec.rs).
/// A descriptor that cannot be read is refused: nothing says who may write.
#[cfg(windows)]
fn windows_verdict(file: &File, path: &Path, folder: bool) -> Result<()> {
    let what = match crate::winsec::untrusted(file, folder) {
        Ok(None) => return Ok(()),
        Ok(Some(what)) => what.to_string(),
        Err(e) => format!("cannot be checked (its owner and access list do not read: {e})"),
    };
    Err(Error::config(format!("refusing {}: it {what}", path.display())).with_remedy(crate::winsec::remedy(path)))
}

/// A file of ours, checked on its open handle: a cache entry failing this is a miss.
pub fn trusted_file(file: &File, path: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Ok(meta) = file.metadata()
        && let Some((what, fix)) = untrusted(&meta, path, false)
    {
        return Err(Error::config(format!("refusing {what}")).with_remedy(fix));
    }
    #[cfg(windows)]
    windows_verdict(file, path, false)?;
    #[cfg(not(any(unix, windows)))]
    let _ = (file, path);
    Ok(())
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
    builder.create(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    // Windows: an owner-only list, inherited by every file created in the folder (0700/0600).
    #[cfg(windows)]
    crate::winsec::make_private(dir, true).map_err(|e| Error::io("make private", dir, e))?;
    Ok(())
}

/// An exclusive advisory lock, held until the value is dropped.
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; an unlock error changes nothing.
        drop(FileExt::unlock(&self.file));
    }
}

/// How long a caller waits for a lock before it says who holds it: the
/// holder's fetch ends within the request budget (30 s), so a lock held
/// longer belongs to a process that is stopped (SIGSTOP, a debugger) or hung.
/// `$ENTRATOOL_LOCK_WAIT` (seconds) changes it.
fn lock_wait() -> std::time::Duration {
    let secs = std::env::var("ENTRATOOL_LOCK_WAIT").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(35);
    std::time::Duration::from_secs(secs)
}

/// Takes the exclusive lock on `lock_path`, creating the (empty, 0600) lock
/// file. A lock file is never opened through a symlink: one found there is
/// removed (our folders are private, so it was planted) and replaced, as is
/// one of another user's, which could not even be opened. A lock held longer
/// than `lock_wait` is an error naming the process that holds it.
pub fn lock(lock_path: &Path) -> Result<Lock> {
    if let Some(parent) = lock_path.parent() {
        ensure_private_dir(parent)?;
    }
    let open = || {
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        // Windows: a link is opened itself (then refused as not a regular file), never followed.
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            options.custom_flags(0x0020_0000); // FILE_FLAG_OPEN_REPARSE_POINT
        }
        options.open(lock_path)
    };
    let file = match open() {
        Err(e)
            if is_symlink(lock_path) || (e.kind() == std::io::ErrorKind::PermissionDenied && !is_mine(lock_path)) =>
        {
            std::fs::remove_file(lock_path).map_err(|_| Error::io("open the lock file", lock_path, e))?;
            open()
        }
        other => other,
    }
    .map_err(|e| Error::io("open the lock file", lock_path, e))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::config(format!("the lock file {} is not a regular file", lock_path.display()))
            .with_remedy(format!("remove it: rm {}", lock_path.display())));
    }
    // A lock file of another user's in our folder: replaced by one of ours.
    let file = match trusted_file(&file, lock_path) {
        Ok(()) => file,
        Err(e) => {
            std::fs::remove_file(lock_path).map_err(|_| e)?;
            open().map_err(|e| Error::io("open the lock file", lock_path, e))?
        }
    };
    wait_for_lock(&file, lock_path)?;
    Ok(Lock { file })
}

/// Polls for the lock (a blocking `flock` could wait forever on a stopped
/// holder): every few milliseconds at first, then every 50 ms.
fn wait_for_lock(file: &File, lock_path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let limit = lock_wait();
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        match FileExt::try_lock_exclusive(file) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() != fs2::lock_contended_error().raw_os_error() => {
                return Err(Error::io("lock", lock_path, e));
            }
            Err(_) if started.elapsed() >= limit => {
                let holder =
                    lock_holder(file).map_or_else(|| "another process".to_string(), |p| format!("process {p}"));
                return Err(Error::unavailable(format!(
                    "{holder} has held the lock {} for {} s",
                    lock_path.display(),
                    started.elapsed().as_secs()
                ))
                .with_remedy(
                    "a fetch ends within 30 s, so that process is stopped (resume it: kill -CONT PID) or hung (end \
                     it); then try again",
                ));
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
        }
    }
}

/// The PID holding a `flock` on `file`, from `/proc/locks` (Linux).
fn lock_holder(file: &File) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().ok()?;
        let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
        let id = format!("{major:02x}:{minor:02x}:{}", meta.ino());
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // `1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF`; waiters have a `->` field.
            (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&id.as_str())).then(|| fields[4].parse().ok())?
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// Whether `path` is owned by this user (a missing file is not).
fn is_mine(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == unsafe { libc::geteuid() })
    }
    #[cfg(windows)]
    {
        use crate::winsec::{Untrusted, untrusted};
        open_for_security(path).is_ok_and(|f| !matches!(untrusted(&f, false), Ok(Some(Untrusted::OtherOwner))))
    }
    #[cfg(not(any(unix, windows)))]
    {
        std::fs::symlink_metadata(path).is_ok()
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

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

/// Replaces `path` with `bytes` atomically: a 0600 temporary file in the same
/// folder, fsync, rename, fsync of the folder. A reader sees the old or the
/// new content, never a mix; a killed write leaves a temporary file that the
/// next write in that folder removes. A `path` that is a symlink (dotfile
/// managers link profiles.json, kubeconfigs, docker's config) stays one: its
/// target is replaced. Cache files use `replace_unsynced`, which never follows.
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

fn write_replacing(path: &Path, bytes: &[u8], links: Links, durability: Durability) -> Result<()> {
    let target;
    let path = if links == Links::Follow && is_symlink(path) {
        target = std::fs::canonicalize(path).map_err(|e| Error::io("follow the link", path, e))?;
        target.as_path()
    } else {
        path
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    remove_stale_temporaries(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(".entratool-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    let synced = durability == Durability::Synced;
    tmp.write_all(bytes)
        .and_then(|_| if synced { tmp.as_file().sync_all() } else { Ok(()) })
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io("replace", path, e.error))?;
    // The rename is durable once the folder is synced; a failure here loses
    // nothing that the rename has not already made visible.
    if synced && let Ok(d) = File::open(dir) {
        drop(d.sync_all());
    }
    Ok(())
}

/// Keeps the exact bytes of another tool's file before entratool changes it:
/// `<file>.entratool-backup-<UTC time>` (then `-2`, `-3`, … within one
/// second), `0600`, created exclusively (`O_EXCL`: never through a symlink,
/// never over an earlier backup), synced. Returns the backup's path.
pub fn backup(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for n in 1..1000 {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let candidate = path.with_file_name(format!("{name}.entratool-backup-{stamp}{suffix}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&candidate) {
            Ok(mut f) => {
                // Windows: the folder is another tool's, so the backup gets its own owner-only list.
                #[cfg(windows)]
                crate::winsec::make_private(&candidate, false).map_err(|e| Error::io("make private", &candidate, e))?;
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| Error::io("write the backup", &candidate, e))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create the backup", &candidate, e)),
        }
    }
    Err(Error::config(format!("cannot find a free backup name beside {}", path.display()))
        .with_remedy("remove old .entratool-backup-* files there"))
}

/// Another tool's file (kubeconfig, docker's config.json) read before it is
/// changed: a regular file of at most `limit` bytes (a FIFO or device is an
/// error, not a hang), following a link as the tool would. `Ok(None)` when
/// it does not exist.
pub fn read_their_file(path: &Path, limit: u64, what: &str) -> Result<Option<Vec<u8>>> {
    match read_regular(path, limit, Links::Follow) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(ReadError::Io(e)) => Err(Error::io("read", path, e)),
        Err(ReadError::NotRegular) => Err(Error::config(format!("{what} {} is not a regular file", path.display()))
            .with_remedy("a FIFO, device or folder is never read or written: point at the file itself")),
        Err(ReadError::TooLarge(n)) => Err(Error::config(format!(
            "{what} {} is {n} bytes, larger than any {what} ({limit} at most)",
            path.display()
        ))
        .with_remedy("check what the path names")),
        Err(ReadError::Untrusted(e)) => Err(e),
    }
}

/// The lock kubectl (client-go) takes on a kubeconfig: `<file>.lock`,
/// created exclusively, removed when done. Held only for a re-read and a
/// write, so a `kubectl config` command waits at most that long.
pub struct TheirLock {
    path: PathBuf,
}

impl Drop for TheirLock {
    fn drop(&mut self) {
        // A lock file left behind would block kubectl: nothing else can be done if removal fails.
        drop(std::fs::remove_file(&self.path));
    }
}

/// Takes `<file>.lock` as client-go does, waiting up to 10 s for another
/// holder (kubectl, another entratool) to finish.
pub fn lock_their_file(file: &Path) -> Result<TheirLock> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = file.with_file_name(format!("{name}.lock"));
    let started = std::time::Instant::now();
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(TheirLock { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if started.elapsed() > std::time::Duration::from_secs(10) {
                    return Err(Error::config(format!("{} has been locked for 10 s", file.display())).with_remedy(
                        format!("another kubectl or entratool is changing it; if none runs, remove {}", path.display()),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(Error::io("lock", &path, e)),
        }
    }
}

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
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if links == Links::Refuse { libc::O_NOFOLLOW } else { 0 };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    // Windows: a link (reparse point) is opened itself, then refused below, as O_NOFOLLOW refuses it.
    #[cfg(windows)]
    if links == Links::Refuse {
        use std::os::windows::fs::OpenOptionsExt;
        options.custom_flags(0x0020_0000); // FILE_FLAG_OPEN_REPARSE_POINT
    }
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
