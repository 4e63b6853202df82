//! The key and algorithm types every part of a certificate credential shares:
//! which signature a JWT carries, and where the private key is (a file's key
//! that OpenSSL signs with, or one the operating system's store keeps and
//! signs with). The one `sign` the assertion and the Graph proof use.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};

use crate::error::{Error, Result};

/// Which header and signature a JWT signed with the certificate carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256 and `x5t#S256`: what Entra ID documents today.
    Ps256,
    /// PKCS#1 v1.5 with SHA-256 and a SHA-1 `x5t`: for older or ADFS-like authorities, and Graph's proofs.
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

/// A private key the operating system keeps and signs with (store.rs).
pub trait StoreKey {
    /// The RSA signature over `message` (SHA-256; PSS or PKCS#1 v1.5 by `algorithm`).
    fn sign(&self, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>>;
}

/// Where the private key is.
pub enum CertKey {
    /// Read from a file: OpenSSL signs.
    File(PKey<Private>),
    /// Kept by the operating system's store, which signs.
    Store(Box<dyn StoreKey>),
}

impl CertKey {
    /// The key read from a file (`None` for a store's key, which never leaves the store).
    pub fn file_key(&self) -> Option<&PKey<Private>> {
        match self {
            CertKey::File(k) => Some(k),
            CertKey::Store(_) => None,
        }
    }

    /// The RSA signature over `message`: RSASSA-PSS (salt = digest length,
    /// MGF1 SHA-256) or PKCS#1 v1.5, both over SHA-256.
    pub fn sign(&self, algorithm: AssertionAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            CertKey::File(key) => sign_with_openssl(key, algorithm, message)
                .map_err(|e| Error::credential(format!("cannot sign with the certificate's key: {e}"))),
            CertKey::Store(key) => key.sign(algorithm, message),
        }
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
