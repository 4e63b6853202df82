//! The lock kubectl (client-go) takes on a kubeconfig: `<file>.lock`,
//! created exclusively and removed when done. It is held only around the
//! re-read and the write, so a `kubectl config` command waits milliseconds;
//! and it is removed when entratool is interrupted (SIGINT, SIGTERM, SIGHUP)
//! while holding it, as a lock left behind would block every kubectl that
//! changes the file.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// `<file>.lock`, held until dropped.
pub struct TheirLock {
    path: PathBuf,
    taken: Instant,
}

impl Drop for TheirLock {
    fn drop(&mut self) {
        // A signal now would find the path remembered and the file gone, or the reverse: held off.
        let _held = signals::held_off();
        // A lock file left behind would block kubectl: nothing else can be done if removal fails.
        drop(std::fs::remove_file(&self.path));
        signals::forget();
        crate::trace!("released {} after {} ms", self.path.display(), self.taken.elapsed().as_millis());
    }
}

/// How long another holder (kubectl, another entratool) may keep it.
const WAIT: Duration = Duration::from_secs(10);

impl TheirLock {
    /// Takes `<file>.lock` as client-go (and git) do, waiting up to 10 s for another holder.
    pub fn lock(file: &Path) -> Result<TheirLock> {
        take(file)
    }
}

fn take(file: &Path) -> Result<TheirLock> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = file.with_file_name(format!("{name}.lock"));
    let started = Instant::now();
    loop {
        // Created and remembered with the signals held off: no moment holds the file unremembered.
        let held = signals::held_off();
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {
                signals::remember(&path);
                drop(held);
                crate::trace!("took {} after {} ms", path.display(), started.elapsed().as_millis());
                return Ok(TheirLock { path, taken: Instant::now() });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                drop(held);
                if started.elapsed() > WAIT {
                    return Err(Error::config(format!("{} has been locked for 10 s", file.display())).with_remedy(
                        format!(
                            "another program (kubectl, git, entratool) is changing it; if none runs, remove {}",
                            path.display()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(Error::io("lock", &path, e)),
        }
    }
}

/// Removing the held lock file when a signal ends the process. The handler
/// does only what is safe in one: it reads a pointer set beforehand, calls
/// `unlink`, restores the default action and raises the signal again, so the
/// process ends as the signal meant.
#[cfg(unix)]
mod signals {
    use std::ffi::CString;
    use std::sync::Once;
    use std::sync::atomic::{AtomicPtr, Ordering};

    static HELD: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    extern "C" fn on_signal(signal: libc::c_int) {
        let path = HELD.swap(std::ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: unlink, signal and raise are async-signal-safe; `path` is a leaked CString or null.
        unsafe {
            if !path.is_null() {
                libc::unlink(path);
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub fn remember(path: &std::path::Path) {
        static INSTALLED: Once = Once::new();
        INSTALLED.call_once(|| {
            for s in SIGNALS {
                // SAFETY: installing a handler that only does async-signal-safe work.
                unsafe { libc::signal(s, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
            }
        });
        let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else { return };
        let old = HELD.swap(c.into_raw(), Ordering::SeqCst);
        free(old);
    }

    pub fn forget() {
        free(HELD.swap(std::ptr::null_mut(), Ordering::SeqCst));
    }

    /// The three signals blocked until the value is dropped (then a pending one is delivered).
    pub struct HeldOff(libc::sigset_t);

    pub fn held_off() -> HeldOff {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it; pthread_sigmask
        // blocks them in this thread (entratool runs setup commands in one thread).
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in SIGNALS {
                libc::sigaddset(&mut set, s);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            HeldOff(old)
        }
    }

    impl Drop for HeldOff {
        fn drop(&mut self) {
            // SAFETY: restores the mask saved above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
        }
    }

    fn free(ptr: *mut libc::c_char) {
        if !ptr.is_null() {
            // SAFETY: every non-null pointer stored came from CString::into_raw and is taken back once.
            drop(unsafe { CString::from_raw(ptr) });
        }
    }
}

/// Windows ends a process without running handlers of this kind: Ctrl-C is
/// rare in setup commands there, and the message names the lock to remove.
#[cfg(not(unix))]
mod signals {
    pub struct HeldOff;
    /// Nothing to restore here; `take` ends the hold the same way on every platform.
    impl Drop for HeldOff {
        fn drop(&mut self) {}
    }
    pub fn remember(_path: &std::path::Path) {}
    pub fn forget() {}
    pub fn held_off() -> HeldOff {
        HeldOff
    }
}
