//! Loading X.509 certificates with their RSA private key: PKCS#12 (modern
//! AES and legacy RC2/3DES), PEM with the key inline or in its own file
//! (optionally encrypted PKCS#8), and lookup by SHA-1 thumbprint.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::error::{Error, Result};

/// A certificate ready to sign with: the leaf first, then its chain.
pub struct LoadedCertificate {
    pub chain: Vec<X509>,
    pub key: CertKey,
    /// The file, or the store place (`Cert:\CurrentUser\My\HEX`, `login keychain`) as messages show it.
    pub path: PathBuf,
}

/// Where the private key is.
pub enum CertKey {
    /// Read from a file: OpenSSL signs.
    File(PKey<Private>),
    /// Kept by the operating system's store, which signs (src/credential/store.rs).
    Store(Box<dyn super::store::StoreKey>),
}

impl CertKey {
    /// The key read from a file (`None` for a store's key, which never leaves the store).
    pub fn file_key(&self) -> Option<&PKey<Private>> {
        match self {
            CertKey::File(k) => Some(k),
            CertKey::Store(_) => None,
        }
    }
}

/// Why a certificate file could not be opened, before it becomes a user message.
#[derive(Debug)]
pub enum LoadError {
    NotFound,
    /// Encrypted and no password was supplied.
    NeedsPassword,
    WrongPassword,
    Invalid(String),
    /// Already a user's error (a thumbprint search that found nothing).
    Failed(Error),
}

impl LoadError {
    /// The user's error for a certificate at `shown` (a path, or `thumbprint HEX`),
    /// with remedies naming `profile`'s commands.
    pub fn into_error(self, shown: &str, profile: Option<&str>) -> Error {
        // Without a saved profile there is nothing to `config edit`: the remedies say what works for a file.
        let store = |p: &str| format!(", or store it with `entratool config edit -p {p} --password-stdin`");
        match self {
            LoadError::NotFound => not_found(shown, profile),
            LoadError::NeedsPassword => {
                Error::credential(format!("the certificate {shown} is protected by a password and none was found"))
                    .with_remedy(format!(
                        "set ENTRATOOL_CERTIFICATE_PASSWORD for this run{}",
                        profile.map_or_else(|| " (or run it on a terminal to be asked)".to_string(), store)
                    ))
            }
            LoadError::WrongPassword => Error::credential(format!("Invalid certificate password for {shown}"))
                .with_remedy(format!(
                    "test it with `openssl pkcs12 -in {shown} -noout`{}",
                    profile.map_or_else(String::new, |p| format!(
                        ", then store the right one with `entratool config edit -p {p} --password-stdin`"
                    ))
                )),
            LoadError::Invalid(why) => Error::credential(format!("cannot read the certificate {shown}"))
                .with_source(why)
                .with_remedy("entratool reads PKCS#12 (.pfx/.p12) and PEM files with an RSA private key"),
            LoadError::Failed(e) => e,
        }
    }
}

/// `Certificate not found: PATH`, the one wording users search for.
pub fn not_found(shown: &str, profile: Option<&str>) -> Error {
    let remedy = match profile {
        Some(p) => format!(
            "check the path, or point the profile at the right file with `entratool config edit -p {p} --certificate PATH`"
        ),
        None => "check the path and run the command again".to_string(),
    };
    Error::credential(format!("Certificate not found: {shown}")).with_remedy(remedy)
}

impl LoadedCertificate {
    pub fn leaf(&self) -> &X509 {
        &self.chain[0]
    }

    /// SHA-1 thumbprint in upper-case hex, as the Azure portal shows it.
    pub fn thumbprint_hex(&self) -> String {
        thumbprint_hex(self.leaf())
    }

    /// The `x5t` header: base64url SHA-1 of the DER.
    pub fn x5t(&self) -> String {
        digest_b64(self.leaf(), MessageDigest::sha1())
    }

    /// The `x5t#S256` header: base64url SHA-256 of the DER.
    pub fn x5t_s256(&self) -> String {
        digest_b64(self.leaf(), MessageDigest::sha256())
    }

    /// Base64 (standard, padded) DER of each certificate, leaf first: the `x5c` header.
    pub fn x5c(&self) -> Vec<String> {
        self.chain
            .iter()
            .filter_map(|c| c.to_der().ok())
            .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
            .collect()
    }

    pub fn not_before(&self) -> DateTime<Utc> {
        asn1_to_utc(self.leaf().not_before())
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        asn1_to_utc(self.leaf().not_after())
    }

    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after() - now).num_days()
    }

    /// Refuses a certificate outside its validity period, before any request.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<()> {
        let thumb = self.thumbprint_hex();
        if now > self.not_after() {
            return Err(Error::credential(format!(
                "Certificate has expired (not after {}, thumbprint {thumb})",
                self.not_after().format("%Y-%m-%d %H:%M:%S UTC")
            ))
            .with_remedy(
                "create a new certificate, upload it to the app registration and point the profile at it \
                 (docs/certificates.md, Rotation)",
            ));
        }
        if now < self.not_before() {
            return Err(Error::credential(format!(
                "Certificate is not yet valid (not before {}, thumbprint {thumb})",
                self.not_before().format("%Y-%m-%d %H:%M:%S UTC")
            ))
            .with_remedy("wait until then, or check this machine's clock"));
        }
        Ok(())
    }

    pub fn subject(&self) -> String {
        name_to_string(self.leaf().subject_name())
    }

    pub fn issuer(&self) -> String {
        name_to_string(self.leaf().issuer_name())
    }

    /// Key algorithm and size, e.g. ("RSA", 2048).
    pub fn key_description(&self) -> (&'static str, u32) {
        // The certificate's public key: the same for a file's key and a store's, which is never read.
        match self.leaf().public_key() {
            Ok(key) => (if key.rsa().is_ok() { "RSA" } else { "unsupported" }, key.bits()),
            Err(_) => ("unsupported", 0),
        }
    }
}

pub fn thumbprint_hex(cert: &X509) -> String {
    cert.digest(MessageDigest::sha1()).map(|d| d.iter().map(|b| format!("{b:02X}")).collect()).unwrap_or_default()
}

fn digest_b64(cert: &X509, md: MessageDigest) -> String {
    cert.digest(md).map(|d| URL_SAFE_NO_PAD.encode(d)).unwrap_or_default()
}

fn name_to_string(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn asn1_to_utc(t: &openssl::asn1::Asn1TimeRef) -> DateTime<Utc> {
    // diff() from the epoch avoids parsing OpenSSL's text form.
    let epoch = openssl::asn1::Asn1Time::from_unix(0);
    match epoch.ok().and_then(|e| e.diff(t).ok()) {
        Some(d) => DateTime::from_timestamp(d.days as i64 * 86_400 + d.secs as i64, 0).unwrap_or_default(),
        None => DateTime::default(),
    }
}

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
    loaded.path = path.to_path_buf();
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
    let matches = loaded.chain[0].public_key().map(|pk| pk.public_eq(key)).unwrap_or(false);
    if !matches {
        return Err(LoadError::Invalid("the private key does not belong to the certificate".into()));
    }
    Ok(loaded)
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
    Ok(LoadedCertificate { chain: order_chain(certs), key: CertKey::File(key), path: PathBuf::new() })
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
    Ok(LoadedCertificate { chain: order_chain(certs), key: CertKey::File(key), path: PathBuf::new() })
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
