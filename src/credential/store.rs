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

use openssl::hash::MessageDigest;

use super::assertion::AssertionAlgorithm;
use crate::error::{Error, Result};

/// A private key the operating system keeps and signs with.
pub trait StoreKey {
    /// The RSA signature over `message` (SHA-256; PSS or PKCS#1 v1.5 by `algorithm`).
    fn sign(&self, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>>;
}

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
pub fn find(thumbprint: &str, location: StoreLocation) -> Result<Option<super::x509::LoadedCertificate>> {
    let wanted = normalize_thumbprint(thumbprint)?;
    #[cfg(windows)]
    let found = windows::find(&wanted, location);
    #[cfg(target_os = "macos")]
    let found = {
        let _ = location; // the Keychain search list has no store locations
        macos::find(&wanted)
    };
    #[cfg(not(any(windows, target_os = "macos")))]
    let found = {
        let _ = (wanted, location);
        Ok(None)
    };
    found
}

/// The operating system's store a thumbprint is looked up in, as messages name it.
pub fn place(location: StoreLocation) -> Option<&'static str> {
    if cfg!(windows) {
        Some(location.shown())
    } else if cfg!(target_os = "macos") {
        Some("the Keychain")
    } else {
        None
    }
}

#[cfg(windows)]
mod windows {
    use std::ffi::c_void;

    use openssl::x509::X509;
    use windows_sys::Win32::Security::Cryptography::{
        BCRYPT_PAD_PKCS1, BCRYPT_PAD_PSS, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCRYPT_SHA256_ALGORITHM,
        CERT_CONTEXT, CERT_KEY_SPEC, CERT_NCRYPT_KEY_SPEC, CERT_STORE_OPEN_EXISTING_FLAG, CERT_STORE_PROV_SYSTEM_W,
        CERT_STORE_READONLY_FLAG, CERT_SYSTEM_STORE_CURRENT_USER, CERT_SYSTEM_STORE_LOCAL_MACHINE,
        CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG, CRYPT_ACQUIRE_SILENT_FLAG, CertCloseStore, CertDuplicateCertificateContext,
        CertEnumCertificatesInStore, CertFreeCertificateContext, CertOpenStore, CryptAcquireCertificatePrivateKey,
        HCERTSTORE, NCryptFreeObject, NCryptSignHash,
    };
    use windows_sys::core::BOOL;

    use super::{AssertionAlgorithm, StoreKey, StoreLocation, select_by_thumbprint};
    use crate::credential::x509::{CertKey, LoadedCertificate};
    use crate::error::{Error, Result};

    struct Store(HCERTSTORE);

    impl Drop for Store {
        fn drop(&mut self) {
            // SAFETY: opened by CertOpenStore, closed once.
            unsafe { CertCloseStore(self.0, 0) };
        }
    }

    struct Context(*const CERT_CONTEXT);

    impl Drop for Context {
        fn drop(&mut self) {
            // SAFETY: a duplicated context, freed once.
            unsafe { CertFreeCertificateContext(self.0) };
        }
    }

    impl Context {
        fn der(&self) -> &[u8] {
            // SAFETY: a live context's encoded certificate is cbCertEncoded bytes.
            unsafe { std::slice::from_raw_parts((*self.0).pbCertEncoded, (*self.0).cbCertEncoded as usize) }
        }
    }

    pub fn find(wanted: &str, location: StoreLocation) -> Result<Option<LoadedCertificate>> {
        let place = location.shown();
        let system = match location {
            StoreLocation::CurrentUser => CERT_SYSTEM_STORE_CURRENT_USER,
            StoreLocation::LocalMachine => CERT_SYSTEM_STORE_LOCAL_MACHINE,
        };
        let name: Vec<u16> = "My".encode_utf16().chain(Some(0)).collect();
        let flags = system | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG;
        // SAFETY: the name is NUL-terminated UTF-16, as CERT_STORE_PROV_SYSTEM_W wants.
        let handle = unsafe { CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name.as_ptr().cast()) };
        if handle.is_null() {
            return Err(Error::credential(format!("cannot open the certificate store {place}"))
                .with_source(std::io::Error::last_os_error())
                .with_remedy("check that the store exists: Get-ChildItem Cert:\\ in PowerShell"));
        }
        let store = Store(handle);
        let mut contexts = Vec::new();
        let mut previous: *const CERT_CONTEXT = std::ptr::null();
        loop {
            // SAFETY: the enumeration frees `previous` and returns the next context, or null at the end.
            let next = unsafe { CertEnumCertificatesInStore(store.0, previous) };
            if next.is_null() {
                break;
            }
            // SAFETY: `next` is live until the next call; the duplicate is ours.
            contexts.push(Context(unsafe { CertDuplicateCertificateContext(next) }));
            previous = next;
        }
        let Some(index) = select_by_thumbprint(contexts.iter().map(Context::der), wanted) else { return Ok(None) };
        let context = contexts.swap_remove(index);
        let leaf = X509::from_der(context.der())
            .map_err(|e| Error::credential(format!("cannot read certificate {wanted} of {place}: {e}")))?;
        let key = private_key(context, wanted, place)?;
        Ok(Some(LoadedCertificate {
            chain: vec![leaf],
            key: CertKey::Store(Box::new(key)),
            path: format!("{place}\\{wanted}").into(),
        }))
    }

    /// The certificate's CNG key handle (never the key itself).
    /// The context is kept with the key: a handle the context owns (`must_free` false) lives as long as it.
    fn private_key(context: Context, wanted: &str, place: &str) -> Result<CngKey> {
        let mut handle = 0usize;
        let mut spec: CERT_KEY_SPEC = 0;
        let mut must_free: BOOL = 0;
        // SAFETY: a live context; the out-parameters are ours.
        let ok = unsafe {
            CryptAcquireCertificatePrivateKey(
                context.0,
                CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG | CRYPT_ACQUIRE_SILENT_FLAG,
                std::ptr::null(),
                &mut handle,
                &mut spec,
                &mut must_free,
            )
        };
        let why = if ok == 0 {
            Some(format!("CryptAcquireCertificatePrivateKey: {}", std::io::Error::last_os_error()))
        } else if spec != CERT_NCRYPT_KEY_SPEC {
            // A legacy CryptoAPI provider's key (key spec 1 or 2): not used, it cannot sign PSS.
            if must_free != 0 {
                // SAFETY: a CryptoAPI provider handle we were told to release.
                unsafe { windows_sys::Win32::Security::Cryptography::CryptReleaseContext(handle, 0) };
            }
            Some(format!("CryptAcquireCertificatePrivateKey gave a CryptoAPI key (key spec {spec}), not a CNG one"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::credential(format!(
                "certificate {wanted} in {place} has no private key entratool can use"
            ))
            .with_source(why)
            .with_remedy("import the .pfx with its key into a CNG provider (Import-PfxCertificate), for this user"));
        }
        Ok(CngKey { handle, free: must_free != 0, _context: context })
    }

    struct CngKey {
        handle: usize,
        free: bool,
        /// Dropped after the handle is freed (fields drop in order).
        _context: Context,
    }

    impl Drop for CngKey {
        fn drop(&mut self) {
            if self.free {
                // SAFETY: a handle CryptAcquireCertificatePrivateKey told us to free.
                unsafe { NCryptFreeObject(self.handle) };
            }
        }
    }

    impl StoreKey for CngKey {
        fn sign(&self, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
            let hash = openssl::sha::sha256(message);
            let pss = BCRYPT_PSS_PADDING_INFO { pszAlgId: BCRYPT_SHA256_ALGORITHM, cbSalt: hash.len() as u32 };
            let pkcs1 = BCRYPT_PKCS1_PADDING_INFO { pszAlgId: BCRYPT_SHA256_ALGORITHM };
            let (padding, flags): (*const c_void, _) = match algorithm {
                AssertionAlgorithm::Ps256 => ((&raw const pss).cast(), BCRYPT_PAD_PSS),
                AssertionAlgorithm::Rs256 => ((&raw const pkcs1).cast(), BCRYPT_PAD_PKCS1),
            };
            let call = |out: *mut u8, capacity: u32, written: &mut u32| {
                // SAFETY: the key handle is live; `out` has `capacity` bytes (or is null to ask the size).
                unsafe {
                    NCryptSignHash(
                        self.handle,
                        padding,
                        hash.as_ptr(),
                        hash.len() as u32,
                        out,
                        capacity,
                        written,
                        flags,
                    )
                }
            };
            let mut size = 0u32;
            let status = call(std::ptr::null_mut(), 0, &mut size);
            let mut signature = vec![0u8; size as usize];
            let status = if status == 0 { call(signature.as_mut_ptr(), size, &mut size) } else { status };
            if status != 0 {
                return Err(Error::credential("the certificate store did not sign the client assertion")
                    .with_source(format!("NCryptSignHash: HRESULT {status:#010x}"))
                    .with_remedy(
                        "check that the key allows signing by this user (certlm.msc/certmgr.msc, Manage Private Keys)",
                    ));
            }
            signature.truncate(size as usize);
            Ok(signature)
        }
    }
}

#[cfg(target_os = "macos")]
mod macos {
    use openssl::x509::X509;
    use security_framework::item::{ItemClass, ItemSearchOptions, Limit, Reference, SearchResult};
    use security_framework::key::{Algorithm, SecKey};

    use super::{AssertionAlgorithm, StoreKey, select_by_thumbprint};
    use crate::credential::x509::{CertKey, LoadedCertificate};
    use crate::error::{Error, Result};

    const PLACE: &str = "the Keychain";

    pub fn find(wanted: &str) -> Result<Option<LoadedCertificate>> {
        let found = ItemSearchOptions::new()
            .class(ItemClass::identity())
            .load_refs(true)
            .limit(Limit::All)
            .search()
            .unwrap_or_default();
        let identities: Vec<_> = found
            .into_iter()
            .filter_map(|r| match r {
                SearchResult::Ref(Reference::Identity(identity)) => Some(identity),
                _ => None,
            })
            .filter_map(|identity| identity.certificate().ok().map(|c| (identity, c.to_der())))
            .collect();
        let Some(index) = select_by_thumbprint(identities.iter().map(|(_, der)| der.as_slice()), wanted) else {
            return Ok(None);
        };
        let (identity, der) = &identities[index];
        let leaf = X509::from_der(der)
            .map_err(|e| Error::credential(format!("cannot read certificate {wanted} of {PLACE}: {e}")))?;
        let key = identity.private_key().map_err(|e| {
            Error::credential(format!("certificate {wanted} in {PLACE} has no private key entratool can use"))
                .with_source(e.to_string())
                .with_remedy("import the .pfx with its key: security import certificate.pfx -k login.keychain")
        })?;
        Ok(Some(LoadedCertificate {
            chain: vec![leaf],
            key: CertKey::Store(Box::new(KeychainKey(key))),
            path: format!("keychain:{wanted}").into(),
        }))
    }

    struct KeychainKey(SecKey);

    impl StoreKey for KeychainKey {
        fn sign(&self, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
            let algorithm = match algorithm {
                AssertionAlgorithm::Ps256 => Algorithm::RSASignatureMessagePSSSHA256,
                AssertionAlgorithm::Rs256 => Algorithm::RSASignatureMessagePKCS1v15SHA256,
            };
            self.0.create_signature(algorithm, message).map_err(|e| {
                Error::credential("the Keychain did not sign the client assertion")
                    .with_source(e.to_string())
                    .with_remedy("allow entratool to use the key when macOS asks (Keychain Access, Access Control)")
            })
        }
    }
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
        let thumb = crate::credential::x509::thumbprint_hex(&leaf);
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
