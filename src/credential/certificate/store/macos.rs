//! The macOS Keychain: identities in the search list, the key signing through SecKeyCreateSignature.

use openssl::x509::X509;
use security_framework::item::{ItemClass, ItemSearchOptions, Limit, Reference, SearchResult};
use security_framework::key::{Algorithm, SecKey};

use super::select_by_thumbprint;
use crate::credential::certificate::key::{AssertionAlgorithm, CertKey, StoreKey};
use crate::credential::certificate::x509::{Certificate, LoadedCertificate};
use crate::error::{Error, Result};

const PLACE: &str = "the Keychain";

/// Where a thumbprint is looked up, as messages name it.
pub fn place(_location: super::StoreLocation) -> Option<&'static str> {
    Some(PLACE)
}

/// The Keychain search list has no store locations: `_location` is the Windows choice.
pub fn find(wanted: &str, _location: super::StoreLocation) -> Result<Option<LoadedCertificate>> {
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
        cert: Certificate { chain: vec![leaf], path: format!("keychain:{wanted}").into() },
        key: CertKey::Store(Box::new(KeychainKey(key))),
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
