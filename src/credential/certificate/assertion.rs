//! The client assertion (RFC 7523 JWT) that proves possession of the
//! certificate's key. jsonwebtoken's `Header` names the header fields; the
//! RSA signature comes from OpenSSL for a key read from a file (the one crypto
//! stack, which also parsed the certificate and does TLS), or from the
//! operating system's store for a key that never leaves it (key.rs, store/).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use super::key::AssertionAlgorithm;
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
    let signature = cert.key.sign(algorithm, signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A JWT part: base64url of the JSON.
fn json_b64(value: &impl Serialize) -> Result<String> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|e| Error::credential(format!("cannot encode the client assertion: {e}")))
}

/// The audience Graph's proof of possession names (`addKey`, `removeKey`): Azure AD Graph's app
/// id, which Graph's own reference pages require (docs/rotation.md#the-proof).
pub const GRAPH_PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

#[derive(Serialize)]
struct ProofClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// The proof of possession Graph takes for `addKey`/`removeKey` on the
/// application object `object_id`: RS256 with the certificate's key, header
/// `kid` (SHA-1 hex) and `x5t`, claims `aud` (Azure AD Graph), `iss` (the
/// object id), `nbf` now, `exp` ten minutes on, a fresh `jti`; every part
/// base64url without padding.
pub fn graph_proof(cert: &LoadedCertificate, object_id: &str, now: i64) -> Result<String> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(cert.thumbprint_hex());
    header.x5t = Some(cert.x5t());
    let claims = ProofClaims {
        aud: GRAPH_PROOF_AUDIENCE,
        iss: object_id,
        nbf: now,
        exp: now + ASSERTION_LIFETIME_SECS,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let signing_input = format!("{}.{}", json_b64(&header)?, json_b64(&claims)?);
    let signature = cert.key.sign(AssertionAlgorithm::Rs256, signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}
