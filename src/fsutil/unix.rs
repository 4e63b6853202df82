//! The Unix half of fsutil: uids and the modes `0600`/`0700`, `O_NOFOLLOW`
//! and `O_NONBLOCK`, and who holds a `flock` (Linux's `/proc/locks`).

use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::Links;

fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// What makes a file or folder untrusted (with the command that fixes it):
/// another owner (root may own a folder), or write access for others.
fn verdict(meta: &Metadata, path: &Path, folder: bool) -> Option<(String, String)> {
    let me = my_uid();
    let shown = path.display();
    if !(meta.uid() == me || (folder && meta.uid() == 0)) {
        return Some((format!("{shown} is owned by another user (uid {})", meta.uid()), format!("chown {me} {shown}")));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        let fix = if folder { format!("chmod 700 {shown}") } else { format!("chmod 600 {shown}") };
        return Some((format!("{shown} can be written by other users (mode {mode:o})"), fix));
    }
    None
}

pub fn untrusted(file: &File, path: &Path, folder: bool) -> Option<(String, String)> {
    verdict(&file.metadata().ok()?, path, folder)
}

/// A missing folder is not untrusted: it is created private.
pub fn untrusted_folder(dir: &Path) -> Option<(String, String)> {
    verdict(&std::fs::metadata(dir).ok()?, dir, true)
}

pub fn is_mine(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == my_uid())
}

/// Modes make a folder private at creation: nothing more to do.
pub fn make_private(_path: &Path, _folder: bool) -> std::io::Result<()> {
    Ok(())
}

pub fn private_dir(builder: &mut DirBuilder) {
    builder.mode(0o700);
}

pub fn private_file(options: &mut OpenOptions) {
    options.mode(0o600);
}

/// Opened without blocking (a FIFO or device opens at once, then is refused
/// as not regular); a refused link is not followed (`O_NOFOLLOW`).
pub fn open_flags(options: &mut OpenOptions, links: Links) {
    let nofollow = if links == Links::Refuse { libc::O_NOFOLLOW } else { 0 };
    options.custom_flags(libc::O_NONBLOCK | nofollow);
}

/// Who else may read a file (`mode 644`), if anyone.
pub fn readable_by_others(meta: &Metadata) -> Option<String> {
    let mode = meta.permissions().mode();
    (mode & 0o077 != 0).then(|| format!("mode {:o}", mode & 0o777))
}

/// Why the owner may not write a file (`mode 400`), if so.
pub fn read_only(meta: &Metadata) -> Option<String> {
    let mode = meta.permissions().mode();
    (mode & 0o200 == 0).then(|| format!("mode {:o}", mode & 0o777))
}

pub fn hard_links(meta: &Metadata) -> u64 {
    meta.nlink()
}

/// The replaced file's owner, group and mode on its replacement. Changing
/// the owner needs root; as the owner it is already right.
pub fn copy_owner_and_mode(file: &File, original: &Metadata) -> std::io::Result<()> {
    let now = file.metadata()?;
    if (now.uid(), now.gid()) != (original.uid(), original.gid()) {
        std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()))?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(original.permissions().mode() & 0o7777))
}

/// The PID holding a `flock` on `file`, from `/proc/locks` (Linux only).
pub fn lock_holder(file: &File) -> Option<u32> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let meta = file.metadata().ok()?;
    let id = format!("{:02x}:{:02x}:{}", major(meta.dev()), minor(meta.dev()), meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF`; waiters have a `->` field.
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&id.as_str())).then(|| fields[4].parse().ok())?
    })
}

/// Linux's split of a device number (glibc's `gnu_dev_major`/`gnu_dev_minor`).
fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)
}

fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)
}
