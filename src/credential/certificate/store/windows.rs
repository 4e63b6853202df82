//! The Windows certificate store: `My` of CurrentUser or LocalMachine, the key signing through CNG.

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

use super::{StoreLocation, select_by_thumbprint};
use crate::credential::certificate::key::{AssertionAlgorithm, CertKey, StoreKey};
use crate::credential::certificate::x509::{Certificate, LoadedCertificate};
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

/// Where a thumbprint is looked up, as messages name it.
pub fn place(location: StoreLocation) -> Option<&'static str> {
    Some(location.shown())
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
        cert: Certificate { chain: vec![leaf], path: format!("{place}\\{wanted}").into() },
        key: CertKey::Store(Box::new(key)),
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
        return Err(Error::credential(format!("certificate {wanted} in {place} has no private key entratool can use"))
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
                NCryptSignHash(self.handle, padding, hash.as_ptr(), hash.len() as u32, out, capacity, written, flags)
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
