//! Workload identity federation as Entra ID checks it: a client assertion
//! issued by someone other than the app is looked up among the app's
//! federated identity credentials by issuer, its signature verified with the
//! issuer's keys (a JWKS), its time checked, then audience and subject.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use serde_json::Value;

use crate::aadsts::{self, Aadsts};
use crate::state::{Client, IssuerSpec};
use crate::verify::{CLOCK_SKEW, Seen};

/// The claims of a JWT, unverified; None when it is not one.
pub fn claims(jwt: &str) -> Option<Value> {
    let part = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// An assertion whose issuer is not the app itself is a federated one.
pub fn is_federated(assertion: &str, client_id: &str) -> bool {
    claims(assertion).is_some_and(|c| c["iss"].as_str().is_some_and(|iss| !iss.eq_ignore_ascii_case(client_id)))
}

/// RSA public keys of a JWKS document, by `kid`.
pub fn jwks_keys(jwks: &Value) -> Vec<(Option<String>, PKey<Public>)> {
    let Some(keys) = jwks["keys"].as_array() else { return Vec::new() };
    keys.iter()
        .filter(|k| k["kty"] == "RSA")
        .filter_map(|k| {
            let n = BigNum::from_slice(&URL_SAFE_NO_PAD.decode(k["n"].as_str()?).ok()?).ok()?;
            let e = BigNum::from_slice(&URL_SAFE_NO_PAD.decode(k["e"].as_str()?).ok()?).ok()?;
            let key = PKey::from_rsa(Rsa::from_public_components(n, e).ok()?).ok()?;
            Some((k["kid"].as_str().map(String::from), key))
        })
        .collect()
}

/// The keys of a registered issuer (inline JWKS or a JWKS file).
pub fn issuer_keys(spec: &IssuerSpec) -> Vec<(Option<String>, PKey<Public>)> {
    let doc = match (&spec.jwks, &spec.jwks_file) {
        (Some(v), _) => v.clone(),
        (None, Some(path)) => {
            std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null)
        }
        (None, None) => Value::Null,
    };
    jwks_keys(&doc)
}

fn aud_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    }
}

/// Verifies a federated assertion for `client`; `keys` are the keys of the
/// assertion's issuer, when the emulator knows it.
pub fn verify(
    assertion: &str,
    client: &Client,
    keys: Option<Vec<(Option<String>, PKey<Public>)>>,
    now: i64,
) -> Result<Seen, Aadsts> {
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return Err(aadsts::malformed("Token format not valid."));
    }
    let decode = |p: &str| -> Option<Value> { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok() };
    let (Some(header), Some(c)) = (decode(parts[0]), decode(parts[1])) else {
        return Err(aadsts::malformed("Token part is not JSON."));
    };
    let iss = c["iss"].as_str().unwrap_or("");
    let sub = c["sub"].as_str().unwrap_or("");
    let auds = aud_values(&c["aud"]);
    if client.federated.is_empty() {
        return Err(aadsts::no_federated_match(iss, sub, &auds.join(",")));
    }
    let by_issuer: Vec<_> = client.federated.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(aadsts::federated_issuer(iss));
    }
    // The signature, with the issuer's key named by kid (or any of them).
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).map_err(|_| aadsts::malformed("Signature is not base64url."))?;
    let kid = header["kid"].as_str();
    let signed = format!("{}.{}", parts[0], parts[1]);
    let verified =
        keys.unwrap_or_default().iter().filter(|(k, _)| kid.is_none() || k.as_deref() == kid).any(|(_, key)| {
            Verifier::new(MessageDigest::sha256(), key)
                .and_then(|mut v| {
                    v.update(signed.as_bytes())?;
                    v.verify(&signature)
                })
                .unwrap_or(false)
        });
    if header["alg"] != "RS256" || !verified {
        return Err(aadsts::bad_signature());
    }
    let seconds = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
    let exp = seconds(&c["exp"]).ok_or_else(|| aadsts::malformed("The 'exp' claim is missing."))?;
    let nbf = seconds(&c["nbf"]).or(seconds(&c["iat"])).unwrap_or(now);
    if exp <= now - CLOCK_SKEW || nbf > now + CLOCK_SKEW {
        return Err(aadsts::time_range(now, nbf, exp));
    }
    let by_audience: Vec<_> = by_issuer.iter().filter(|f| f.audiences.iter().any(|a| auds.contains(a))).collect();
    if by_audience.is_empty() {
        return Err(aadsts::federated_audience(&auds.join(",")));
    }
    if !by_audience.iter().any(|f| f.subject == sub) {
        return Err(aadsts::federated_subject(sub));
    }
    Ok(Seen { header, claims: c })
}
