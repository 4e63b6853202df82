//! The claims of an access token that people check when access is denied
//! (`token decode`, `doctor`), as rows for a table or a JSON object: never
//! the token or its signature. Claims are the issuer's to shape, so any JSON
//! value is shown, never assumed (fuzzed: fuzz/fuzz_targets/token_decode.rs).

use serde_json::{Map, Value, json};

/// The claims shown, in this order.
/// `cnf`: the key a proof-of-possession token is bound to.
pub const CLAIMS: [&str; 11] = ["aud", "iss", "tid", "appid", "azp", "oid", "sub", "roles", "scp", "xms_mirid", "cnf"];
/// Times, shown as epoch and local time (`exp` with the minutes left).
pub const TIMES: [&str; 3] = ["iat", "nbf", "exp"];

/// The claims of interest; `scp` split into its scopes; times as local time
/// (and, for `exp`, the minutes left at `now`).
pub fn selected(claims: &Value, now: i64) -> Map<String, Value> {
    let mut out = Map::new();
    for k in CLAIMS {
        match (k, &claims[k]) {
            (_, Value::Null) => {}
            ("scp", Value::String(s)) => {
                out.insert(k.into(), json!(s.split(' ').collect::<Vec<_>>()));
            }
            (_, v) => {
                out.insert(k.into(), v.clone());
            }
        }
    }
    for k in TIMES {
        if let Some(at) = claims[k].as_i64().or_else(|| claims[k].as_f64().map(|f| f as i64)) {
            let local = crate::output::utc(at).with_timezone(&chrono::Local);
            let mut t = json!({"epoch": at, "local": local.format("%Y-%m-%d %H:%M:%S %Z").to_string()});
            if k == "exp" {
                t["minutesLeft"] = json!(at.saturating_sub(now).div_euclid(60));
            }
            out.insert(k.into(), t);
        }
    }
    out
}

/// A shown claim as one line of table text: strings as they are, lists
/// joined, anything else as compact JSON, control characters escaped.
pub fn text(key: &str, v: &Value) -> String {
    let item = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let plain = match v {
        Value::Object(t) if TIMES.contains(&key) && t.contains_key("local") => {
            t["local"].as_str().unwrap_or("").to_string() + &minutes(t)
        }
        Value::Array(items) => items.iter().map(item).collect::<Vec<_>>().join(", "),
        other => item(other),
    };
    crate::output::one_line(&plain)
}

/// The rows `key:`, text of every shown claim.
pub fn rows(shown: &Map<String, Value>) -> Vec<Vec<String>> {
    shown.iter().map(|(k, v)| vec![format!("{k}:"), text(k, v)]).collect()
}

fn minutes(t: &Map<String, Value>) -> String {
    match t.get("minutesLeft").and_then(Value::as_i64) {
        Some(m) if m >= 0 => format!(" ({m} minutes left)"),
        Some(m) => format!(" (expired {} minutes ago)", m.unsigned_abs()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_of_any_json_shape_are_shown_not_panicked_on() {
        let claims = json!({
            "aud": {"nested": [1, 2]}, "iss": ["a", {"b": null}], "tid": 7, "roles": [true, "Reader"],
            "scp": {"x": 1}, "iat": {"local": 1}, "nbf": "soon", "exp": i64::MAX, "oid": "\u{1b}[2Jx\ny"
        });
        let shown = selected(&claims, i64::MIN);
        let texts: Vec<String> = rows(&shown).into_iter().map(|r| r[1].clone()).collect();
        assert!(texts.contains(&r#"{"nested":[1,2]}"#.to_string()), "{texts:?}");
        assert!(texts.contains(&r#"a, {"b":null}"#.to_string()), "{texts:?}");
        assert!(texts.contains(&"true, Reader".to_string()), "{texts:?}");
        assert!(texts.contains(&"\\u{1b}[2Jx\\ny".to_string()), "{texts:?}");
        assert!(shown["exp"]["minutesLeft"].as_i64().is_some());
        let past = selected(&json!({"exp": i64::MIN}), i64::MAX);
        assert!(text("exp", &past["exp"]).contains("expired"));
    }
}
