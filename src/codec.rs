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

/// A token of token characters on one line (RFC 6750's `b64token`: letters,
/// digits, `-._~+/`, then `=` padding), at most 64 KiB: what every protocol
/// entratool answers in may carry. Anything else (a line break, a space, a
/// control character) could add lines to a git or HTTP answer.
pub fn is_token_text(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= 64 * 1024
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
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

    #[test]
    fn token_text() {
        assert!(is_token_text("eyJ0eXAi.eyJhdWQi.sig-_~+/=="));
        for bad in ["", "==", "a\nusername=injected", "a b", "a\r", "a\u{1b}", "t\u{0}", "ä", "a=b"] {
            assert!(!is_token_text(bad), "{bad:?}");
        }
        assert!(!is_token_text(&"a".repeat(64 * 1024 + 1)));
    }
}
