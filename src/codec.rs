//! Small encodings shared by the credentials and the token source.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The claims of a JWT, read without checking its signature: for expiry
/// times and for diagnostics, never for trust.
pub fn jwt_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_of_a_jwt() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"exp":5,"iss":"i"}"#);
        assert_eq!(jwt_claims(&format!("h.{body}.s")).unwrap()["exp"], 5);
        assert!(jwt_claims("not a jwt").is_none());
        assert!(jwt_claims("a.!!!.c").is_none());
        assert_eq!(hex(&[0, 255]), "00ff");
    }
}
