//! The client assertion (RFC 7523 JWT) that proves possession of the
//! certificate's key. jsonwebtoken's `Header` names the header fields; the
//! RSA signature comes from OpenSSL for a key read from a file (the one crypto
//! stack, which also parsed the certificate and does TLS), or from the
//! operating system's store for a key that never leaves it (store.rs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use serde::Serialize;

use super::x509::{CertKey, LoadedCertificate};
use crate::error::{Error, Result};

/// How long an assertion is valid: MSAL's 600 s, inside Entra's 10-minute limit.
pub const ASSERTION_LIFETIME_SECS: i64 = 600;

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Which header and signature the assertion carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256 and `x5t#S256`: what Entra ID documents today.
    Ps256,
    /// PKCS#1 v1.5 with SHA-256 and a SHA-1 `x5t`: for older or ADFS-like authorities.
    Rs256,
}

impl AssertionAlgorithm {
    pub fn from_profile(value: Option<&str>) -> AssertionAlgorithm {
        match value {
            Some("RS256") => AssertionAlgorithm::Rs256,
            _ => AssertionAlgorithm::Ps256,
        }
    }
}

/// Signs a fresh assertion for `client_id` at `token_endpoint`.
pub fn build(
    cert: &LoadedCertificate,
    client_id: &str,
    token_endpoint: &str,
    algorithm: AssertionAlgorithm,
    send_chain: bool,
    now: i64,
) -> Result<String> {
    let mut header = match algorithm {
        AssertionAlgorithm::Ps256 => {
            let mut h = Header::new(Algorithm::PS256);
            h.x5t_s256 = Some(cert.x5t_s256());
            h
        }
        AssertionAlgorithm::Rs256 => {
            let mut h = Header::new(Algorithm::RS256);
            h.x5t = Some(cert.x5t());
            h
        }
    };
    header.typ = Some("JWT".into());
    if send_chain {
        header.x5c = Some(cert.x5c());
    }
    let claims = Claims {
        aud: token_endpoint,
        iss: client_id,
        sub: client_id,
        jti: uuid::Uuid::new_v4().to_string(),
        nbf: now,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
    };
    let signing_input = format!("{}.{}", json_b64(&header)?, json_b64(&claims)?);
    let signature = sign(&cert.key, algorithm, signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A JWT part: base64url of the JSON.
fn json_b64(value: &impl Serialize) -> Result<String> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|e| Error::credential(format!("cannot encode the client assertion: {e}")))
}

/// The RSA signature over `message`: RSASSA-PSS (salt = digest length, MGF1
/// SHA-256) or PKCS#1 v1.5, both over SHA-256.
pub fn sign(key: &CertKey, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
    match key {
        CertKey::File(key) => sign_with_openssl(key, algorithm, message)
            .map_err(|e| Error::credential(format!("cannot sign the client assertion: {e}"))),
        CertKey::Store(key) => key.sign(algorithm, message),
    }
}

fn sign_with_openssl(
    key: &PKey<Private>,
    algorithm: AssertionAlgorithm,
    message: &[u8],
) -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut signer = Signer::new(MessageDigest::sha256(), key)?;
    if algorithm == AssertionAlgorithm::Ps256 {
        signer.set_rsa_padding(Padding::PKCS1_PSS)?;
        signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        signer.set_rsa_mgf1_md(MessageDigest::sha256())?;
    }
    signer.update(message)?;
    signer.sign_to_vec()
}
