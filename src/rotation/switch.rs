//! Step 7: only now the profile changes, in one atomic write, with every
//! other profile of the same application that uses the same file.

use std::path::{Path, PathBuf};

use super::current::{Current, New};
use crate::credential::secrets;
use crate::error::Result;
use crate::profile::{Profile, ProfilesFile};

/// Who switched besides the profile, and who of the same app still uses the old certificate.
pub struct Switched {
    pub also: Vec<String>,
    pub still_using_old: Vec<String>,
}

fn same_app(a: &Profile, b: &Profile) -> bool {
    a.client_id.eq_ignore_ascii_case(&b.client_id) && a.tenant_id.eq_ignore_ascii_case(&b.tenant_id)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How a profile uses the old certificate.
#[derive(PartialEq)]
enum Use {
    None,
    /// The same file (by path, or by thumbprint in `<config folder>/certs/`, where the new file is too).
    SameFile,
    /// The same certificate found elsewhere (its thumbprint, or its key id): it cannot follow.
    Elsewhere,
}

fn use_of(p: &Profile, current: &Current, old_key_id: Option<&str>) -> Use {
    let file = &current.path;
    if p.certificate_path.as_deref().is_some_and(|c| canonical(Path::new(c)) == canonical(file)) {
        return Use::SameFile;
    }
    let thumb = current.cert.thumbprint_hex();
    let by_thumbprint =
        p.certificate_thumbprint.as_deref().is_some_and(|t| t.replace([' ', ':'], "").eq_ignore_ascii_case(&thumb));
    let in_certs =
        crate::fsutil::config_dir().is_ok_and(|d| file.parent().map(canonical) == Some(canonical(&d.join("certs"))));
    match (by_thumbprint, in_certs) {
        (true, true) => Use::SameFile,
        (true, false) => Use::Elsewhere,
        _ if old_key_id.is_some() && p.certificate_key_id.as_deref() == old_key_id => Use::Elsewhere,
        _ => Use::None,
    }
}

pub fn switch(
    store: &ProfilesFile,
    profile: &Profile,
    current: &Current,
    new: &New,
    key_id: &str,
    old_key_id: Option<&str>,
) -> Result<Switched> {
    // The other profiles' passwords for the new file are stored first: the write below is the switch.
    let others: Vec<String> = store
        .load()?
        .profiles
        .iter()
        .filter(|p| p.name != profile.name && same_app(p, profile) && use_of(p, current, old_key_id) == Use::SameFile)
        .map(|p| p.name.clone())
        .collect();
    if new.store_password
        && let Some(pw) = &new.password
    {
        for name in &others {
            secrets::save_for_file(name, &new.path, pw)?;
        }
    }
    let (also, other_apps, still) = store.update(|doc| {
        let (mut also, mut other_apps, mut still) = (Vec::new(), Vec::new(), Vec::new());
        for p in doc.profiles.iter_mut() {
            let app = same_app(p, profile);
            match use_of(p, current, old_key_id) {
                Use::None => continue,
                Use::Elsewhere if app => {
                    still.push(p.name.clone());
                    continue;
                }
                Use::Elsewhere | Use::SameFile => {}
            }
            if !app {
                other_apps.push(p.name.clone());
                continue;
            }
            move_to(p, current, new, key_id, old_key_id);
            if p.name != profile.name {
                also.push(p.name.clone());
            }
        }
        Ok((also, other_apps, still))
    })?;
    if !other_apps.is_empty() {
        crate::output::warn(&format!(
            "profile(s) {} use the same certificate file for another app: left as they are (rotate that app's \
             profile for its own key)",
            other_apps.join(", ")
        ));
    }
    Ok(Switched { also, still_using_old: still })
}

fn move_to(p: &mut Profile, current: &Current, new: &New, key_id: &str, old_key_id: Option<&str>) {
    p.previous_certificate_path = Some(current.path.display().to_string());
    p.previous_certificate_key_path = p.certificate_key_path.take();
    p.previous_certificate_key_id = p.certificate_key_id.take().or(old_key_id.map(String::from));
    p.certificate_key_id = Some(key_id.to_string());
    if p.certificate_thumbprint.is_some() {
        // Found by thumbprint in <config folder>/certs/, where the new file is too.
        p.certificate_thumbprint = Some(new.cert.thumbprint_hex());
    } else {
        p.certificate_path = Some(new.path.display().to_string());
    }
}

/// The old key `key_id` is gone (`--remove-old`): when it is the one the
/// profile records as the previous certificate's, that record goes.
pub fn forget_previous_key(name: &str, key_id: &str) -> Result<()> {
    ProfilesFile::open()?.update(|doc| {
        if let Some(p) = doc.find_mut(name)
            && p.previous_certificate_key_id.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(key_id))
        {
            p.previous_certificate_key_id = None;
        }
        Ok(())
    })
}
