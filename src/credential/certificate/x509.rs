//! What a certificate is once it is open: its chain (leaf first) and where
//! it came from, with what the Azure portal shows of it (thumbprints,
//! subject, dates); with its private key, a [`LoadedCertificate`] that signs.
//! And why one could not be opened ([`LoadError`]), before that becomes a
//! user's message.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openssl::hash::MessageDigest;
use openssl::x509::X509;

use super::key::CertKey;
use crate::error::{Error, Result};

/// A certificate without its key: what `cert info` shows of a `.cer`/`.pem`
/// to upload, and the public part of every loaded one.
pub struct Certificate {
    /// The leaf first, then its chain.
    pub chain: Vec<X509>,
    /// The file, or the store place (`Cert:\CurrentUser\My\HEX`, `login keychain`) as messages show it.
    pub path: PathBuf,
}

/// A certificate ready to sign with: its chain and its private key.
pub struct LoadedCertificate {
    pub cert: Certificate,
    pub key: CertKey,
}

/// Everything a certificate shows is the public part's.
impl std::ops::Deref for LoadedCertificate {
    type Target = Certificate;
    fn deref(&self) -> &Certificate {
        &self.cert
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
impl Certificate {
    pub fn leaf(&self) -> &X509 {
        &self.chain[0]
    }

    /// SHA-1 thumbprint in upper-case hex, as the Azure portal shows it.
    pub fn thumbprint_hex(&self) -> String {
        thumbprint_hex(self.leaf())
    }

    /// SHA-256 thumbprint in upper-case hex (what Entra shows for an `x5t#S256` assertion).
    pub fn thumbprint_sha256_hex(&self) -> String {
        self.leaf()
            .digest(MessageDigest::sha256())
            .map(|d| crate::codec::hex(&d).to_ascii_uppercase())
            .unwrap_or_default()
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
