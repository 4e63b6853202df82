//! Loading X.509 certificates with their RSA private key: PKCS#12 (modern
//! AES and legacy RC2/3DES), PEM with the key inline or in its own file
//! (optionally encrypted PKCS#8), and lookup by SHA-1 thumbprint.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::x509::X509;

use super::key::CertKey;
use super::x509::{Certificate, LoadError, LoadedCertificate, not_found};
use crate::error::Result;

/// Opens a certificate file (PKCS#12 or PEM), with an optional separate key file.
pub fn load(
    path: &Path,
    key_path: Option<&Path>,
    password: Option<&str>,
) -> std::result::Result<LoadedCertificate, LoadError> {
    let bytes = read(path)?;
    let key_bytes = match key_path {
        Some(k) => Some(read(k)?),
        None => None,
    };
    let mut loaded = from_bytes(&bytes, key_bytes.as_deref(), password)?;
    loaded.cert.path = path.to_path_buf();
    Ok(loaded)
}

/// A certificate and its RSA key from the bytes of a PEM or PKCS#12 file
/// (and of a separate PEM key file), checked to belong together.
pub fn from_bytes(
    bytes: &[u8],
    key_bytes: Option<&[u8]>,
    password: Option<&str>,
) -> std::result::Result<LoadedCertificate, LoadError> {
    let loaded = if looks_like_pem(bytes) {
        load_pem(bytes, key_bytes.unwrap_or(bytes), password)?
    } else {
        load_pkcs12(bytes, password)?
    };
    let Some(key) = loaded.key.file_key() else { return Ok(loaded) };
    if key.rsa().is_err() {
        return Err(LoadError::Invalid(
            "the private key is not an RSA key (Entra ID client assertions need RSA)".into(),
        ));
    }
    let matches = loaded.leaf().public_key().map(|pk| pk.public_eq(key)).unwrap_or(false);
    if !matches {
        return Err(LoadError::Invalid("the private key does not belong to the certificate".into()));
    }
    Ok(loaded)
}

/// A certificate with or without its key, as `cert info` shows one: PEM or
/// DER certificates (`.cer`, `.crt`, `.pem`: what the portal's upload takes),
/// or a PKCS#12 file (its password needed; its key is not kept).
pub fn load_public(path: &Path, password: Option<&str>) -> std::result::Result<Certificate, LoadError> {
    let bytes = read(path)?;
    let chain = if looks_like_pem(&bytes) {
        X509::stack_from_pem(&bytes).map_err(|e| LoadError::Invalid(e.to_string()))?
    } else if let Ok(cert) = X509::from_der(&bytes) {
        vec![cert]
    } else {
        let mut loaded = load_pkcs12(&bytes, password)?;
        loaded.cert.path = path.to_path_buf();
        return Ok(loaded.cert);
    };
    if chain.is_empty() {
        return Err(LoadError::Invalid("no CERTIFICATE block in the PEM file".into()));
    }
    Ok(Certificate { chain: order_chain(chain), path: path.to_path_buf() })
}

/// A certificate file larger than this is not one.
const MAX_CERTIFICATE: u64 = 4 * 1024 * 1024;

fn read(path: &Path) -> std::result::Result<Vec<u8>, LoadError> {
    use crate::fsutil::{Links, ReadError, read_regular};
    read_regular(path, MAX_CERTIFICATE, Links::Follow).map_err(|e| match e {
        ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => LoadError::NotFound,
        ReadError::Io(e) => LoadError::Invalid(e.to_string()),
        ReadError::NotRegular => LoadError::Invalid("it is not a regular file".into()),
        ReadError::TooLarge(n) => LoadError::Invalid(format!("it is {n} bytes, larger than a certificate file")),
        ReadError::Untrusted(e) => LoadError::Failed(e),
    })
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn load_pem(
    cert_bytes: &[u8],
    key_bytes: &[u8],
    password: Option<&str>,
) -> std::result::Result<LoadedCertificate, LoadError> {
    let certs = X509::stack_from_pem(cert_bytes).map_err(|e| LoadError::Invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(LoadError::Invalid("no CERTIFICATE block in the PEM file".into()));
    }
    let text = String::from_utf8_lossy(key_bytes);
    if !text.contains("PRIVATE KEY-----") {
        return Err(LoadError::Invalid(
            "no private key in the PEM file: add it, or name the key file with certificateKeyPath".into(),
        ));
    }
    let encrypted = text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED");
    let key = if encrypted {
        let pass = password.filter(|p| !p.is_empty()).ok_or(LoadError::NeedsPassword)?;
        PKey::private_key_from_pem_passphrase(key_bytes, pass.as_bytes()).map_err(|_| LoadError::WrongPassword)?
    } else {
        PKey::private_key_from_pem(key_bytes).map_err(|e| LoadError::Invalid(e.to_string()))?
    };
    Ok(LoadedCertificate {
        cert: Certificate { chain: order_chain(certs), path: PathBuf::new() },
        key: CertKey::File(key),
    })
}

fn load_pkcs12(der: &[u8], password: Option<&str>) -> std::result::Result<LoadedCertificate, LoadError> {
    let p12 = Pkcs12::from_der(der).map_err(|_| LoadError::Invalid("not a PKCS#12 (.pfx/.p12) or PEM file".into()))?;
    let pass = password.unwrap_or("");
    let parsed = match p12.parse2(pass) {
        Ok(p) => p,
        Err(first) => {
            // RC2-40 (legacy Windows and `openssl pkcs12 -legacy` exports)
            // needs OpenSSL 3's legacy provider; load it only when needed.
            if !load_legacy_provider() {
                return Err(classify_pkcs12_error(&first, password));
            }
            p12.parse2(pass).map_err(|e| classify_pkcs12_error(&e, password))?
        }
    };
    let key = parsed.pkey.ok_or_else(|| LoadError::Invalid("the PKCS#12 file holds no private key".into()))?;
    let leaf = parsed.cert.ok_or_else(|| LoadError::Invalid("the PKCS#12 file holds no certificate".into()))?;
    let mut certs = vec![leaf];
    if let Some(ca) = parsed.ca {
        certs.extend(ca);
    }
    Ok(LoadedCertificate {
        cert: Certificate { chain: order_chain(certs), path: PathBuf::new() },
        key: CertKey::File(key),
    })
}

fn classify_pkcs12_error(err: &openssl::error::ErrorStack, password: Option<&str>) -> LoadError {
    let text = err.to_string();
    if text.contains("mac verify failure") || text.contains("decrypt") {
        if password.is_none_or(str::is_empty) { LoadError::NeedsPassword } else { LoadError::WrongPassword }
    } else {
        LoadError::Invalid(format!("OpenSSL could not open it ({text})"))
    }
}

/// Loads OpenSSL 3's legacy provider (next to the default one) once per
/// process; false when it is not installed.
fn load_legacy_provider() -> bool {
    static LEGACY: OnceLock<bool> = OnceLock::new();
    *LEGACY.get_or_init(|| match openssl::provider::Provider::try_load(None, "legacy", true) {
        Ok(provider) => {
            // Providers must stay loaded for the life of the process.
            std::mem::forget(provider);
            true
        }
        Err(_) => false,
    })
}

/// Puts the leaf first and each issuer after its subject; the leaf is the
/// certificate that issued no other in the set (files list it first anyway).
fn order_chain(mut certs: Vec<X509>) -> Vec<X509> {
    if certs.len() < 2 {
        return certs;
    }
    let issues_another = |c: &X509, all: &[X509]| {
        all.iter().any(|o| {
            !std::ptr::eq(o, c)
                && o.issuer_name().try_cmp(c.subject_name()).is_ok_and(|ord| ord.is_eq())
                && o.subject_name().try_cmp(c.subject_name()).is_ok_and(|ord| ord.is_ne())
        })
    };
    let leaf_index = (0..certs.len()).find(|&i| !issues_another(&certs[i], &certs)).unwrap_or(0);
    let mut ordered = vec![certs.remove(leaf_index)];
    while let Some(pos) = certs.iter().position(|c| {
        let last = &ordered[ordered.len() - 1];
        last.issuer_name().try_cmp(c.subject_name()).is_ok_and(|o| o.is_eq())
    }) {
        ordered.push(certs.remove(pos));
    }
    ordered.extend(certs);
    ordered
}

/// Finds the file in `dir` whose certificate has the given SHA-1 thumbprint.
pub fn find_by_thumbprint(dir: &Path, thumbprint: &str, password: Option<&str>) -> Result<LoadedCertificate> {
    let wanted: String = thumbprint.chars().filter(|c| c.is_ascii_hexdigit()).collect::<String>().to_ascii_uppercase();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        not_found(&format!("thumbprint {wanted}"), None)
            .with_source(format!("cannot read {}: {e}", dir.display()))
            .with_remedy("put the certificate file there, or use certificatePath instead")
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if !["pfx", "p12", "pem", "crt", "cer"].contains(&ext.as_str()) {
            continue;
        }
        if let Ok(cert) = load(&path, None, password)
            && cert.thumbprint_hex() == wanted
        {
            return Ok(cert);
        }
    }
    Err(not_found(&format!("thumbprint {wanted}"), None)
        .with_source(format!("no file in {} has it, or its password is not the profile's", dir.display()))
        .with_remedy("copy the .pfx or .pem there, or use certificatePath"))
}
