//! New certificates (`cert create`, and the one `cert rotate` makes): an RSA
//! key and a self-signed SHA-256 certificate, written as a PKCS#12 file
//! (AES-256, private) holding both, and a PEM file holding the certificate
//! alone (what the portal's upload takes). A file is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Name, X509NameBuilder};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// What a new certificate is made of.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `CN=entratool`, `CN=app, O=Contoso` or `/CN=app/O=Contoso`.
    pub subject: String,
    pub days: u32,
    pub key_size: u32,
}

/// The key sizes Entra ID takes that are worth making.
pub const KEY_SIZES: [u32; 3] = [2048, 3072, 4096];

impl Default for Spec {
    fn default() -> Self {
        // A year: tenants often cap certificate lifetimes there (docs/rotation.md).
        Spec { subject: "CN=entratool".into(), days: 365, key_size: 2048 }
    }
}

/// A made certificate and its key.
pub struct Made {
    pub key: PKey<Private>,
    pub cert: X509,
}

/// The subject as a name, from `CN=a, O=b` or `/CN=a/O=b`.
pub fn parse_subject(dn: &str) -> Result<X509Name> {
    let bad = || {
        Error::usage(format!("invalid --subject '{}'", crate::output::one_line(dn)))
            .with_remedy("give a distinguished name such as CN=myapp or \"CN=myapp, O=Contoso\"")
    };
    let parts: Vec<&str> = if dn.trim_start().starts_with('/') {
        dn.split('/').map(str::trim).filter(|p| !p.is_empty()).collect()
    } else {
        dn.split(',').map(str::trim).filter(|p| !p.is_empty()).collect()
    };
    if parts.is_empty() {
        return Err(bad());
    }
    let mut name = X509NameBuilder::new().map_err(|e| bad().with_source(e))?;
    for part in parts {
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        name.append_entry_by_text(k.trim(), v.trim()).map_err(|e| bad().with_source(e))?;
    }
    Ok(name.build())
}

/// An RSA key and a self-signed certificate valid from now for `spec.days`.
pub fn make(spec: &Spec) -> Result<Made> {
    if !KEY_SIZES.contains(&spec.key_size) {
        return Err(Error::usage(format!("--key-size {} is not offered", spec.key_size))
            .with_remedy("use 2048 (the default), 3072 or 4096"));
    }
    if spec.days == 0 || spec.days > 3650 {
        return Err(Error::usage(format!("--days {} is out of range", spec.days))
            .with_remedy("give 1 to 3650 days (tenants often cap certificates at 365)"));
    }
    let name = parse_subject(&spec.subject)?;
    let failed = |e: openssl::error::ErrorStack| Error::credential("cannot make the certificate").with_source(e);
    let key = PKey::from_rsa(Rsa::generate(spec.key_size).map_err(failed)?).map_err(failed)?;
    let mut b = X509::builder().map_err(failed)?;
    b.set_version(2).map_err(failed)?;
    let serial = serial().map_err(failed)?;
    b.set_serial_number(&serial).map_err(failed)?;
    b.set_subject_name(&name).map_err(failed)?;
    b.set_issuer_name(&name).map_err(failed)?;
    b.set_pubkey(&key).map_err(failed)?;
    let (from, to) = (Asn1Time::days_from_now(0).map_err(failed)?, Asn1Time::days_from_now(spec.days).map_err(failed)?);
    b.set_not_before(&from).map_err(failed)?;
    b.set_not_after(&to).map_err(failed)?;
    b.append_extension(BasicConstraints::new().critical().build().map_err(failed)?).map_err(failed)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build().map_err(failed)?).map_err(failed)?;
    b.append_extension(ExtendedKeyUsage::new().client_auth().build().map_err(failed)?).map_err(failed)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None)).map_err(failed)?;
    b.append_extension(ski).map_err(failed)?;
    b.sign(&key, MessageDigest::sha256()).map_err(failed)?;
    Ok(Made { key, cert: b.build() })
}

/// A random 128-bit serial number, positive.
fn serial() -> std::result::Result<Asn1Integer, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    bytes[0] &= 0x7f;
    BigNum::from_slice(&bytes)?.to_asn1_integer()
}

/// A fresh random password for a PKCS#12 file: 32 characters of base64url.
pub fn random_password() -> Result<Zeroizing<String>> {
    use base64::Engine;
    let mut bytes = Zeroizing::new([0u8; 24]);
    openssl::rand::rand_bytes(bytes.as_mut())
        .map_err(|e| Error::credential("cannot make a password").with_source(e))?;
    Ok(Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// The PKCS#12 bytes of `made` (AES-256-CBC for key and certificate, a
/// SHA-256 MAC), protected by `password` (none: the empty one).
pub fn pkcs12(made: &Made, password: Option<&str>) -> Result<Vec<u8>> {
    let failed = |e: openssl::error::ErrorStack| Error::credential("cannot write the PKCS#12 file").with_source(e);
    let mut b = Pkcs12::builder();
    b.name("entratool").pkey(&made.key).cert(&made.cert);
    b.key_algorithm(Nid::AES_256_CBC).cert_algorithm(Nid::AES_256_CBC).mac_md(MessageDigest::sha256());
    b.build2(password.unwrap_or("")).and_then(|p| p.to_der()).map_err(failed)
}

/// Writes `bytes` to a new file `path` (never over an existing one: exit 3),
/// private (`0600`) or readable by all (`0644`).
pub fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut file = open_new(path, private).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::config(format!("{} exists already", path.display()))
            .with_remedy("entratool never overwrites a certificate file: choose another --name or --dir"),
        _ => Error::io("create", path, e),
    })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| {
        // A partial certificate file is worse than none.
        drop(std::fs::remove_file(path));
        Error::io("write", path, e)
    })
}

fn open_new(path: &Path, private: bool) -> std::io::Result<std::fs::File> {
    if private {
        return crate::fsutil::create_private_new(path);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    options.open(path)
}

/// `dir/stem.pfx`, else `dir/stem-2.pfx`, `-3`…: the first name free for both
/// the `.pfx` and the `.pem`.
pub fn free_stem(dir: &Path, stem: &str) -> Option<PathBuf> {
    (1..1000)
        .map(|n| if n == 1 { stem.to_string() } else { format!("{stem}-{n}") })
        .map(|s| dir.join(s))
        .find(|base| !base.with_extension("pfx").exists() && !base.with_extension("pem").exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_in_both_spellings() {
        let a = parse_subject("CN=app, O=Contoso").unwrap();
        let b = parse_subject("/CN=app/O=Contoso").unwrap();
        assert_eq!(a.to_der().unwrap(), b.to_der().unwrap());
        assert!(parse_subject("nonsense").is_err());
        assert!(parse_subject("XX=y").is_err());
    }

    #[test]
    fn a_made_certificate_opens_with_its_password() {
        let made = make(&Spec { days: 30, ..Default::default() }).unwrap();
        let bytes = pkcs12(&made, Some("pw")).unwrap();
        let loaded = super::super::file::from_bytes(&bytes, None, Some("pw")).unwrap();
        assert_eq!(loaded.subject(), "CN=entratool");
        assert!((29..=30).contains(&loaded.days_left(chrono::Utc::now())));
        assert!(matches!(
            super::super::file::from_bytes(&bytes, None, Some("wrong")),
            Err(super::super::LoadError::WrongPassword)
        ));
        assert!(make(&Spec { key_size: 1024, ..Default::default() }).is_err());
    }
}
