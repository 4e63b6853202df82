//! Exclusive advisory locks on lock files of ours, with bounded waits that
//! name the process holding the lock.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use fs2::FileExt;

use super::{Links, ensure_private_dir, platform, trust, trusted_file};
use crate::error::{Error, Result};

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

/// How long a caller waits for a lock before it says who holds it, by default:
/// the holder's fetch ends within the request budget (30 s), so a lock held
/// longer belongs to a process that is stopped (SIGSTOP, a debugger) or hung.
const DEFAULT_WAIT: Duration = Duration::from_secs(35);
/// The longest wait `$ENTRATOOL_LOCK_WAIT` may ask for: an hour.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// `$ENTRATOOL_LOCK_WAIT` (whole seconds, at most an hour), else 35 s. A value
/// that is not a number of seconds is said once, on stderr, and ignored.
fn lock_wait() -> Duration {
    let Ok(raw) = std::env::var("ENTRATOOL_LOCK_WAIT") else { return DEFAULT_WAIT };
    match parse_wait(&raw) {
        Ok(wait) => wait,
        Err(why) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                crate::output::warn(&format!(
                    "ENTRATOOL_LOCK_WAIT='{}' {why}: waiting {} s",
                    crate::output::one_line(&raw),
                    DEFAULT_WAIT.as_secs()
                ))
            });
            DEFAULT_WAIT
        }
    }
}

/// A wait of whole seconds (digits only); more than an hour is an hour.
fn parse_wait(raw: &str) -> std::result::Result<Duration, &'static str> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a whole number of seconds");
    }
    // Digits beyond u64 are still a very long wait: an hour.
    let secs = raw.parse::<u64>().unwrap_or(u64::MAX);
    Ok(Duration::from_secs(secs).min(MAX_WAIT))
}

/// Takes the exclusive lock on `lock_path`, creating the (empty, private) lock
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
        platform::private_file(&mut options);
        platform::open_flags(&mut options, Links::Refuse);
        options.open(lock_path)
    };
    let file = match open() {
        Err(e)
            if is_symlink(lock_path)
                || (e.kind() == std::io::ErrorKind::PermissionDenied && !trust::is_mine(lock_path)) =>
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

pub(super) fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Polls for the lock (a blocking `flock` could wait forever on a stopped
/// holder): every few milliseconds at first, then every 50 ms.
fn wait_for_lock(file: &File, lock_path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let mut limit = None;
    let mut pause = Duration::from_millis(2);
    loop {
        match FileExt::try_lock_exclusive(file) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() != fs2::lock_contended_error().raw_os_error() => {
                return Err(Error::io("lock", lock_path, e));
            }
            // The variable is read only when a lock is contended: an uncontended hit never pays for it.
            Err(_) if started.elapsed() >= *limit.get_or_insert_with(lock_wait) => {
                let holder = platform::lock_holder(file)
                    .map_or_else(|| "another process".to_string(), |p| format!("process {p}"));
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
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_waits_are_whole_seconds_at_most_an_hour() {
        assert_eq!(parse_wait("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_wait("0"), Ok(Duration::ZERO));
        assert_eq!(parse_wait("18446744073709551615"), Ok(MAX_WAIT));
        assert_eq!(parse_wait("99999999999999999999999"), Ok(MAX_WAIT));
        for bad in ["", "2.5", " 3", "-1", "junk", "3s"] {
            assert!(parse_wait(bad).is_err(), "{bad:?}");
        }
    }
}
