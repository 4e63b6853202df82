//! The client assertion (RFC 7523 JWT) that proves possession of the
//! certificate's key. jsonwebtoken builds the JWT; the RSA signature comes
//! from OpenSSL through a jsonwebtoken `CryptoProvider`, so the whole tool has
//! one crypto stack (the one that parsed the certificate and does TLS).

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use serde::Serialize;

use super::x509::LoadedCertificate;
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
    install_provider();
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
    let der = cert
        .key
        .rsa()
        .and_then(|r| r.private_key_to_der())
        .map_err(|e| Error::credential(format!("cannot use the certificate's private key: {e}")))?;
    let key = EncodingKey::from_rsa_der(&der);
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| Error::credential(format!("cannot sign the client assertion: {e}")))
}

fn install_provider() {
    // Fails only when already installed, which is fine.
    let _ = OPENSSL_PROVIDER.install_default();
}

static OPENSSL_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: no_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

struct OpensslRsaSigner {
    algorithm: Algorithm,
    pkcs1_der: Vec<u8>,
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    match algorithm {
        Algorithm::RS256 | Algorithm::PS256 => {
            Ok(Box::new(OpensslRsaSigner { algorithm: *algorithm, pkcs1_der: key.as_bytes().to_vec() }))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// entratool only signs; verification is the emulator's (and Entra's) job.
fn no_verifier(_: &Algorithm, _: &DecodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

impl signature::Signer<Vec<u8>> for OpensslRsaSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let sign = || -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
            let key = PKey::from_rsa(openssl::rsa::Rsa::private_key_from_der(&self.pkcs1_der)?)?;
            let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
            if self.algorithm == Algorithm::PS256 {
                signer.set_rsa_padding(Padding::PKCS1_PSS)?;
                signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                signer.set_rsa_mgf1_md(MessageDigest::sha256())?;
            }
            signer.update(msg)?;
            signer.sign_to_vec()
        };
        sign().map_err(signature::Error::from_source)
    }
}

impl JwtSigner for OpensslRsaSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}
