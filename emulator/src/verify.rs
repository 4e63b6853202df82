//! Checks a client assertion the way Entra ID does: key lookup by x5t#S256 or
//! x5t (or an x5c chain to a trusted CA for subject name/issuer apps), the
//! RSA signature, then the claims. Written with OpenSSL directly, apart from
//! entratool's own signing code.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::x509::X509;
use serde_json::Value;

use crate::aadsts::{self, Aadsts};
use crate::state::Client;

/// Allowed clock difference between client and emulator.
pub const CLOCK_SKEW: i64 = 300;
/// Longest assertion lifetime accepted (Microsoft: 5 to 10 minutes).
pub const MAX_LIFETIME: i64 = 600;

/// What a verified assertion said, for the stats.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seen {
    pub header: Value,
    pub claims: Value,
}

fn decode_part(part: &str) -> Result<Value, Aadsts> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| aadsts::malformed("Token is not base64url encoded."))?;
    serde_json::from_slice(&bytes).map_err(|_| aadsts::malformed("Token part is not JSON."))
}

fn digest_b64(cert: &X509, md: MessageDigest) -> String {
    cert.digest(md).map(|d| URL_SAFE_NO_PAD.encode(d)).unwrap_or_default()
}

/// Finds the certificate that signed: a registered one by thumbprint, or the
/// x5c leaf when the app trusts its issuing CA.
fn signing_certificate(header: &Value, client: &Client, now: i64) -> Result<X509, Aadsts> {
    // MSAL Python pads its thumbprints ("="); Entra accepts both forms.
    let s256 = header["x5t#S256"].as_str().map(|t| t.trim_end_matches('='));
    let sha1 = header["x5t"].as_str().map(|t| t.trim_end_matches('='));
    // A key Graph added is found only once it has replicated (and until it expires).
    let registered = client.certificates.iter().filter(|k| k.accepted(now)).map(|k| &k.cert).find(|c| {
        s256.is_some_and(|t| t == digest_b64(c, MessageDigest::sha256()))
            || sha1.is_some_and(|t| t == digest_b64(c, MessageDigest::sha1()))
    });
    if let Some(cert) = registered {
        return Ok(cert.clone());
    }
    let shown = s256.or(sha1).map(|t| {
        URL_SAFE_NO_PAD.decode(t).map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<String>()).unwrap_or_default()
    });
    let not_found = || aadsts::key_not_found(&shown.clone().unwrap_or_default(), &client.client_id);
    if client.trusted_cas.is_empty() {
        return Err(not_found());
    }
    let chain: Vec<X509> = header["x5c"]
        .as_array()
        .ok_or_else(not_found)?
        .iter()
        .filter_map(|c| c.as_str().and_then(|s| STANDARD.decode(s).ok()).and_then(|der| X509::from_der(&der).ok()))
        .collect();
    let leaf = chain.first().ok_or_else(not_found)?;
    // The header's thumbprint must name the x5c leaf (the first entry).
    let names_leaf = s256.is_some_and(|t| t == digest_b64(leaf, MessageDigest::sha256()))
        || sha1.is_some_and(|t| t == digest_b64(leaf, MessageDigest::sha1()));
    if !names_leaf {
        return Err(not_found());
    }
    if !chains_to_trusted(&chain, &client.trusted_cas) {
        return Err(aadsts::invalid_chain());
    }
    let subject = subject_string(leaf);
    let cn = leaf
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_default();
    if !client.subject_names.iter().any(|s| s == &cn || s == &subject) {
        return Err(aadsts::subject_not_authorized(&subject));
    }
    Ok(leaf.clone())
}

fn subject_string(cert: &X509) -> String {
    cert.subject_name()
        .entries()
        .map(|e| {
            let k = e.object().nid().short_name().unwrap_or("?");
            format!("{k}={}", e.data().to_string().unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each certificate is signed by the next; the last by a trusted CA (or is one).
fn chains_to_trusted(chain: &[X509], trusted: &[X509]) -> bool {
    for pair in chain.windows(2) {
        let ok = pair[1].public_key().and_then(|k| pair[0].verify(&k)).unwrap_or(false);
        if !ok {
            return false;
        }
    }
    let Some(last) = chain.last() else {
        return false;
    };
    trusted.iter().any(|ca| {
        let same = ca.to_der().ok() == last.to_der().ok();
        same || ca.public_key().and_then(|k| last.verify(&k)).unwrap_or(false)
    })
}

fn verify_signature(alg: &str, cert: &X509, signed: &[u8], signature: &[u8]) -> bool {
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let key = cert.public_key()?;
        let mut v = Verifier::new(MessageDigest::sha256(), &key)?;
        if alg == "PS256" {
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            v.set_rsa_mgf1_md(MessageDigest::sha256())?;
        }
        v.update(signed)?;
        v.verify(signature)
    };
    check().unwrap_or(false)
}

/// The accepted `aud` values for a request to `endpoint` of `tenant_id`.
pub struct Audience<'a> {
    pub requested_endpoint: &'a str,
    pub tenant_endpoint: &'a str,
}

/// Verifies `assertion` for `client`; returns what it said.
pub fn verify(assertion: &str, client: &Client, aud: &Audience, now: i64) -> Result<Seen, Aadsts> {
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return Err(aadsts::malformed("Token format not valid."));
    }
    let header = decode_part(parts[0])?;
    let claims = decode_part(parts[1])?;
    let signature =
        URL_SAFE_NO_PAD.decode(parts[2]).map_err(|_| aadsts::malformed("Signature is not base64url encoded."))?;
    let alg = header["alg"].as_str().unwrap_or("");
    if alg != "RS256" && alg != "PS256" {
        return Err(aadsts::malformed(&format!("Unsupported signing algorithm '{alg}'.")));
    }
    let cert = signing_certificate(&header, client, now)?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    if !verify_signature(alg, &cert, signed.as_bytes(), &signature) {
        return Err(aadsts::bad_signature());
    }
    check_claims(&claims, client, aud, now)?;
    Ok(Seen { header, claims })
}

fn check_claims(claims: &Value, client: &Client, aud: &Audience, now: i64) -> Result<(), Aadsts> {
    let iss = claims["iss"].as_str();
    let sub = claims["sub"].as_str();
    if iss != Some(client.client_id.as_str()) || sub != Some(client.client_id.as_str()) {
        return Err(aadsts::wrong_issuer());
    }
    let audience = claims["aud"].as_str().unwrap_or("");
    if audience != aud.requested_endpoint && audience != aud.tenant_endpoint {
        return Err(aadsts::wrong_audience(audience));
    }
    // NumericDate may carry a fraction (MSAL Python sends floats).
    let seconds = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
    let exp = seconds(&claims["exp"]).ok_or_else(|| aadsts::malformed("The 'exp' claim is missing."))?;
    let nbf = seconds(&claims["nbf"]).or(seconds(&claims["iat"])).unwrap_or(now);
    let too_early = nbf > now + CLOCK_SKEW;
    let expired = exp <= now - CLOCK_SKEW;
    let too_long = exp - nbf > MAX_LIFETIME + 60 || exp > now + MAX_LIFETIME + CLOCK_SKEW;
    if too_early || expired || too_long {
        return Err(aadsts::time_range(now, nbf, exp));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(aadsts::malformed("The 'jti' claim is missing."));
    }
    Ok(())
}
