//! Certificates kept by the operating system, found by SHA-1 thumbprint
//! (a profile's `certificateThumbprint`, docs/windows.md and docs/macos.md):
//! - Windows: the `My` store of `certificateStoreLocation` (`CurrentUser`,
//!   the default, or `LocalMachine`); the assertion is signed through CNG
//!   (`NCryptSignHash`), so non-exportable and TPM-backed keys work.
//! - macOS: identities in the Keychain search list (the login keychain of
//!   `security import … -k login.keychain`); signed by `SecKeyCreateSignature`.
//!
//! The private key never leaves the store. The lookup rules (what a
//! thumbprint is, which certificate matches) are plain functions, tested on
//! every platform; the calls into each system are compiled for its target.

// The platform halves (docs/architecture.md, "Platform code"): one private child per system with
// the same functions, picked here; every other platform has no store.
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;
#[cfg(not(any(windows, target_os = "macos")))]
mod platform {
    use super::{LoadedCertificate, Result, StoreLocation};

    /// No operating system store here: the thumbprint is looked up in `<config folder>/certs/` only.
    pub fn find(_wanted: &str, _location: StoreLocation) -> Result<Option<LoadedCertificate>> {
        Ok(None)
    }

    pub fn place(_location: StoreLocation) -> Option<&'static str> {
        None
    }
}

use openssl::hash::MessageDigest;

use super::x509::LoadedCertificate;
use crate::error::{Error, Result};

/// Which Windows certificate store a thumbprint is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreLocation {
    CurrentUser,
    LocalMachine,
}

impl StoreLocation {
    /// `certificateStoreLocation` of a profile: `CurrentUser` (the default) or
    /// `LocalMachine`, in any case, with or without PowerShell's `Cert:\` and `\My`.
    pub fn parse(value: Option<&str>) -> Result<StoreLocation> {
        let Some(raw) = value else { return Ok(StoreLocation::CurrentUser) };
        let mut text = raw.trim().to_ascii_lowercase().replace('/', "\\");
        if let Some(rest) = text.strip_prefix("cert:\\") {
            text = rest.to_string();
        }
        match text.trim_end_matches("\\my").trim_end_matches('\\') {
            "currentuser" => Ok(StoreLocation::CurrentUser),
            "localmachine" => Ok(StoreLocation::LocalMachine),
            _ => Err(Error::config(format!("certificateStoreLocation '{raw}' is not a store entratool knows"))
                .with_remedy("use \"CurrentUser\" (the default) or \"LocalMachine\"")),
        }
    }

    /// PowerShell's name of the store, as messages show it.
    pub fn shown(self) -> &'static str {
        match self {
            StoreLocation::CurrentUser => "Cert:\\CurrentUser\\My",
            StoreLocation::LocalMachine => "Cert:\\LocalMachine\\My",
        }
    }
}

/// A thumbprint as the stores compare it: 40 upper-case hex digits. Spaces
/// and colons are dropped, and so are the invisible marks (U+200E, U+200F,
/// U+FEFF) that Windows' certificate dialog copies with it.
pub fn normalize_thumbprint(raw: &str) -> Result<String> {
    let kept: String = raw.chars().filter(|c| !matches!(c, ' ' | ':' | '\u{200e}' | '\u{200f}' | '\u{feff}')).collect();
    if kept.len() != 40 || !kept.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::config(format!("'{}' is not a SHA-1 thumbprint", crate::output::escape_controls(raw)))
            .with_remedy(
                "give the 40 hex digits that `Get-ChildItem Cert:\\CurrentUser\\My` or `entratool cert info` shows",
            ));
    }
    Ok(kept.to_ascii_uppercase())
}

/// Of the certificates (DER) a store lists, the index of the one whose SHA-1
/// thumbprint is `wanted` (normalised). A DER that does not parse is skipped.
pub fn select_by_thumbprint<'a>(ders: impl IntoIterator<Item = &'a [u8]>, wanted: &str) -> Option<usize> {
    ders.into_iter().position(|der| {
        openssl::hash::hash(MessageDigest::sha1(), der)
            .is_ok_and(|d| crate::codec::hex(&d).to_ascii_uppercase() == wanted)
    })
}

/// The certificate with `thumbprint` in the operating system's store, with a
/// key that signs there. `Ok(None)` when it is not there (or this platform
/// has no store); an error when it is there but cannot be used.
pub fn find(thumbprint: &str, location: StoreLocation) -> Result<Option<LoadedCertificate>> {
    platform::find(&normalize_thumbprint(thumbprint)?, location)
}

/// The operating system's store a thumbprint is looked up in, as messages name it.
pub fn place(location: StoreLocation) -> Option<&'static str> {
    platform::place(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate (P-256: quick to make; only its DER is hashed here).
    fn certificate() -> openssl::x509::X509 {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = openssl::pkey::PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "store test").unwrap();
        let name = name.build();
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    #[test]
    fn thumbprints_as_windows_copies_them() {
        let t = "\u{200e}ab 12 cd 34 ef 56 78 90 ab 12 cd 34 ef 56 78 90 ab 12 cd 34";
        assert_eq!(normalize_thumbprint(t).unwrap(), "AB12CD34EF567890AB12CD34EF567890AB12CD34");
        assert_eq!(
            normalize_thumbprint("AB:12:CD:34:EF:56:78:90:AB:12:CD:34:EF:56:78:90:AB:12:CD:34").unwrap(),
            "AB12CD34EF567890AB12CD34EF567890AB12CD34"
        );
        for bad in
            ["", "AB12", "ZZ12CD34EF567890AB12CD34EF567890AB12CD34", "AB12CD34EF567890AB12CD34EF567890AB12CD3400"]
        {
            let e = normalize_thumbprint(bad).unwrap_err();
            assert!(e.message.contains("not a SHA-1 thumbprint"), "{bad}: {}", e.message);
            assert!(e.remedy.is_some());
        }
    }

    #[test]
    fn store_locations_as_the_seed_and_powershell_write_them() {
        assert_eq!(StoreLocation::parse(None).unwrap(), StoreLocation::CurrentUser);
        for v in ["CurrentUser", "currentuser", "Cert:\\CurrentUser\\My", "cert:/currentuser/my"] {
            assert_eq!(StoreLocation::parse(Some(v)).unwrap(), StoreLocation::CurrentUser, "{v}");
        }
        for v in ["LocalMachine", "Cert:\\LocalMachine\\My", "LOCALMACHINE\\"] {
            assert_eq!(StoreLocation::parse(Some(v)).unwrap(), StoreLocation::LocalMachine, "{v}");
        }
        let e = StoreLocation::parse(Some("Cert:\\CurrentUser\\Root")).unwrap_err();
        assert!(e.message.contains("is not a store"));
    }

    #[test]
    fn the_certificate_with_the_thumbprint_is_chosen_among_others() {
        let leaf = certificate();
        let der = leaf.to_der().unwrap();
        let thumb = crate::credential::certificate::x509::thumbprint_hex(&leaf);
        let junk = b"not a certificate".to_vec();
        let mut other = der.clone();
        *other.last_mut().unwrap() ^= 1;
        let list = [junk.as_slice(), other.as_slice(), der.as_slice()];
        assert_eq!(select_by_thumbprint(list, &thumb), Some(2));
        assert_eq!(select_by_thumbprint([junk.as_slice(), other.as_slice()], &thumb), None);
        // A thumbprint is compared normalised: the caller gives upper case.
        assert_eq!(select_by_thumbprint(list, &thumb.to_ascii_lowercase()), None);
    }

    #[test]
    fn no_store_on_this_platform_is_none_not_an_error() {
        #[cfg(not(any(windows, target_os = "macos")))]
        assert!(find("AB12CD34EF567890AB12CD34EF567890AB12CD34", StoreLocation::CurrentUser).unwrap().is_none());
    }
}
