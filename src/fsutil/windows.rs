//! The Windows half of fsutil. File security: the trust rules of docs/reference.md#files expressed
//! with owner SIDs and access control lists, where Unix uses uids and the modes 0600/0700.
//! - A file or folder of ours must be owned by the current user (a folder may also be owned by
//!   SYSTEM or Administrators, as root may own one on Unix), and no access-allowed entry of its
//!   list may let anyone else write, delete or re-permission it.
//! - Folders entratool creates get a protected list with one entry, the current user (full
//!   control), inherited by every file created in them: the `0700`/`0600` of Unix.
//! - Links (reparse points) are opened themselves, never followed, where Unix uses `O_NOFOLLOW`.

use std::ffi::c_void;
use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT, SetNamedSecurityInfoW};
use windows_sys::Win32::Security::{
    ACE_HEADER, ACL, ACL_REVISION, AddAccessAllowedAceEx, CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, EqualSid,
    GetAce, GetLengthSid, GetTokenInformation, INHERIT_ONLY_ACE, InitializeAcl, IsWellKnownSid, OBJECT_INHERIT_ACE,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_QUERY,
    TOKEN_USER, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// `ACCESS_ALLOWED_ACE_TYPE`: the only entry type that grants anything.
const ACCESS_ALLOWED: u8 = 0;
/// Rights that let their holder change a file or folder, or what is in it:
/// write/add file, append/add subfolder, write attributes and extended
/// attributes, delete child, delete, change the list, take ownership, and the
/// generic write and all.
const WRITE_RIGHTS: u32 =
    0x0002 | 0x0004 | 0x0010 | 0x0040 | 0x0100 | 0x0001_0000 | 0x0004_0000 | 0x0008_0000 | 0x4000_0000 | 0x1000_0000;
/// `FILE_ALL_ACCESS`.
const FULL_CONTROL: u32 = 0x001F_01FF;

/// The layout of an access-allowed entry: the SID starts at `sid_start`.
#[repr(C)]
struct AllowedAce {
    header: ACE_HEADER,
    mask: u32,
    sid_start: u32,
}

/// The current user's SID, copied out of the process token.
struct UserSid {
    buffer: Vec<u64>,
}

impl UserSid {
    fn current() -> io::Result<UserSid> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` receives a handle we close below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buffer = vec![0u64; 64];
        let mut needed = 0u32;
        let size = (buffer.len() * 8) as u32;
        // SAFETY: the buffer is `size` bytes, 8-aligned (TOKEN_USER holds a pointer).
        let ok = unsafe { GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), size, &mut needed) } != 0;
        let error = io::Error::last_os_error();
        // SAFETY: `token` was opened above and is closed once.
        unsafe { CloseHandle(token) };
        if !ok {
            return Err(error);
        }
        Ok(UserSid { buffer })
    }

    /// The SID inside the TOKEN_USER the buffer holds.
    fn sid(&self) -> PSID {
        // SAFETY: GetTokenInformation wrote a TOKEN_USER at the start of the buffer.
        unsafe { (*(self.buffer.as_ptr() as *const TOKEN_USER)).User.Sid }
    }
}

/// A security descriptor returned by GetSecurityInfo, freed on drop.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: the descriptor was allocated by GetSecurityInfo with LocalAlloc.
        unsafe { LocalFree(self.0) };
    }
}

/// Why a file or folder of ours is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Untrusted {
    OtherOwner,
    NoAccessList,
    OthersMayWrite,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Untrusted::OtherOwner => "is owned by another user",
            Untrusted::NoAccessList => "has no access control list (everyone may write it)",
            Untrusted::OthersMayWrite => "can be written by other users (its access control list allows it)",
        })
    }
}

/// What makes an open file or folder untrusted, or `None`.
fn why_untrusted(file: &File, folder: bool) -> io::Result<Option<Untrusted>> {
    let me = UserSid::current()?;
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: the handle is open for the call; the out-pointers point into the descriptor, freed by `Descriptor`.
    let status = unsafe {
        GetSecurityInfo(
            file.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let _descriptor = Descriptor(descriptor);
    // SAFETY: both SIDs are valid for the descriptor's lifetime.
    let owner_is_me = unsafe { EqualSid(owner, me.sid()) } != 0;
    if !(owner_is_me || folder && is_system_or_admins(owner)) {
        return Ok(Some(Untrusted::OtherOwner));
    }
    if dacl.is_null() {
        return Ok(Some(Untrusted::NoAccessList));
    }
    // SAFETY: a non-null DACL from GetSecurityInfo is a valid ACL.
    let count = unsafe { (*dacl).AceCount };
    for index in 0..u32::from(count) {
        let mut ace: *mut c_void = std::ptr::null_mut();
        // SAFETY: index < AceCount; `ace` points into the ACL.
        if unsafe { GetAce(dacl, index, &mut ace) } == 0 {
            continue;
        }
        // SAFETY: every entry starts with an ACE_HEADER.
        let entry = unsafe { &*(ace as *const AllowedAce) };
        if entry.header.AceType != ACCESS_ALLOWED
            || u32::from(entry.header.AceFlags) & INHERIT_ONLY_ACE != 0
            || entry.mask & WRITE_RIGHTS == 0
        {
            continue;
        }
        let sid = (&entry.sid_start as *const u32).cast_mut().cast::<c_void>();
        // SAFETY: the SID of an access-allowed entry starts at SidStart.
        let mine = unsafe { EqualSid(sid, me.sid()) } != 0;
        if !mine && !is_system_or_admins(sid) {
            return Ok(Some(Untrusted::OthersMayWrite));
        }
    }
    Ok(None)
}

fn is_system_or_admins(sid: PSID) -> bool {
    // SAFETY: `sid` is a valid SID (from a descriptor or an entry).
    unsafe { IsWellKnownSid(sid, WinLocalSystemSid) != 0 || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0 }
}

/// Gives `path` a protected access control list with one entry, the current
/// user with full control; for a folder the entry is inherited by what is
/// created in it.
pub fn make_private(path: &Path, folder: bool) -> io::Result<()> {
    let me = UserSid::current()?;
    // SAFETY: me.sid() is a valid SID.
    let sid_len = unsafe { GetLengthSid(me.sid()) } as usize;
    let acl_len = std::mem::size_of::<ACL>() + std::mem::size_of::<AllowedAce>() + sid_len;
    let mut buffer = vec![0u32; acl_len.div_ceil(4)];
    let acl = buffer.as_mut_ptr().cast::<ACL>();
    let inherit = if folder { OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE } else { 0 };
    // SAFETY: the buffer holds acl_len bytes, 4-aligned, as InitializeAcl requires.
    let built = unsafe {
        InitializeAcl(acl, (buffer.len() * 4) as u32, ACL_REVISION) != 0
            && AddAccessAllowedAceEx(acl, ACL_REVISION, inherit, FULL_CONTROL, me.sid()) != 0
    };
    if !built {
        return Err(io::Error::last_os_error());
    }
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated; the ACL is valid for the call.
    let status = unsafe {
        SetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl,
            std::ptr::null(),
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// The commands that give `path` back to the current user alone.
fn remedy(path: &Path) -> String {
    let shown = path.display();
    format!("take it back: takeown /f \"{shown}\" then icacls \"{shown}\" /inheritance:r /grant:r \"%USERNAME%:F\"")
}

use super::Links;

/// `FILE_FLAG_BACKUP_SEMANTICS`: a folder opens only with it.
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
/// `FILE_FLAG_OPEN_REPARSE_POINT`: a link is opened itself, never followed.
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// A file or folder opened only to read its owner and access list.
fn open_for_security(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT).open(path)
}

/// What is wrong, with the commands that fix it. A descriptor that cannot be
/// read is refused: nothing says who may write.
pub fn untrusted(file: &File, path: &Path, folder: bool) -> Option<(String, String)> {
    let what = match why_untrusted(file, folder) {
        Ok(None) => return None,
        Ok(Some(what)) => what.to_string(),
        Err(e) => format!("cannot be checked (its owner and access list do not read: {e})"),
    };
    Some((format!("{}: it {what}", path.display()), remedy(path)))
}

/// A folder that cannot be opened (missing) is not untrusted: it is created private.
pub fn untrusted_folder(dir: &Path) -> Option<(String, String)> {
    untrusted(&open_for_security(dir).ok()?, dir, true)
}

pub fn is_mine(path: &Path) -> bool {
    open_for_security(path).is_ok_and(|f| !matches!(why_untrusted(&f, false), Ok(Some(Untrusted::OtherOwner))))
}

/// Access lists make folders private: nothing to set at creation.
pub fn private_dir(_builder: &mut DirBuilder) {}

/// A file gets its folder's inherited owner-only list.
pub fn private_file(_options: &mut OpenOptions) {}

/// A refused link is opened itself, then refused as not a regular file.
pub fn open_flags(options: &mut OpenOptions, links: Links) {
    if links == Links::Refuse {
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
}

/// Reading is granted by access lists inherited from the folder; only writes are checked here.
pub fn readable_by_others(_meta: &Metadata) -> Option<String> {
    None
}

/// Why a file may not be written (its read-only attribute), if so.
pub fn read_only(meta: &Metadata) -> Option<String> {
    meta.permissions().readonly().then(|| "the read-only attribute".to_string())
}

/// Windows reports no link count through std: a file is taken as one name.
pub fn hard_links(_meta: &Metadata) -> u64 {
    1
}

/// The replacement inherits its folder's access list, as the tools' own writes do.
pub fn copy_owner_and_mode(_file: &File, _original: &Metadata) -> io::Result<()> {
    Ok(())
}

/// `/proc/locks` has no Windows counterpart: the holder is not named.
pub fn lock_holder(_file: &File) -> Option<u32> {
    None
}
