//! YAML as kubectl reads it (YAML 1.1): the block text of a kubeconfig
//! user entratool writes, where every string reads back as the same string
//! in YAML 1.1 and 1.2 (plain when it can, double-quoted otherwise: a plain
//! `on`, `no` or `1_000` is no string to kubectl).

use serde_yaml::Value;

use crate::error::{Error, Result};

fn cannot_write(e: serde_yaml::Error) -> Error {
    Error::config("cannot write the kubeconfig user").with_source(e)
}

/// The new item as block YAML, its first line where the old one began and
/// the others indented to that column.
pub fn block_text(item: &Value, column: usize) -> Result<String> {
    let mut lines = Vec::new();
    emit(item, 0, &mut lines)?;
    let pad = " ".repeat(column);
    let text: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 || l.is_empty() { l.clone() } else { format!("{pad}{l}") })
        .collect();
    Ok(text.join("\n"))
}

/// Block YAML of a mapping or sequence at `indent`, one string per line;
/// strings double-quoted (JSON's escapes are YAML's), keys plain when they
/// read the same in YAML 1.1 and 1.2.
fn emit(value: &Value, indent: usize, out: &mut Vec<String>) -> Result<()> {
    let pad = " ".repeat(indent);
    match value {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = format!("{pad}{}:", key_text(k)?);
                emit_entry(key, v, indent + 2, indent, out)?;
            }
        }
        Value::Sequence(items) if !items.is_empty() => {
            for v in items {
                match v {
                    // A mapping item starts on the dash's line: `- key: value`.
                    Value::Mapping(m) if !m.is_empty() => {
                        let mut inner = Vec::new();
                        emit(v, 0, &mut inner)?;
                        for (i, line) in inner.into_iter().enumerate() {
                            let lead = if i == 0 { format!("{pad}- ") } else { format!("{pad}  ") };
                            out.push(format!("{lead}{line}"));
                        }
                    }
                    other => emit_entry(format!("{pad}-"), other, indent + 2, indent, out)?,
                }
            }
        }
        other => out.push(format!("{pad}{}", scalar_text(other)?)),
    }
    Ok(())
}

/// `lead` (a key or a dash) and its value: a scalar on the same line, a
/// collection on the lines below (a key's sequence at the key's indentation,
/// as kubectl writes it).
fn emit_entry(lead: String, value: &Value, nested: usize, key_indent: usize, out: &mut Vec<String>) -> Result<()> {
    match value {
        Value::Mapping(m) if !m.is_empty() => {
            out.push(lead);
            emit(value, nested, out)
        }
        Value::Sequence(s) if !s.is_empty() => {
            let at = if lead.trim_start().starts_with('-') { nested } else { key_indent };
            out.push(lead);
            emit(value, at, out)
        }
        other => {
            out.push(format!("{lead} {}", scalar_text(other)?));
            Ok(())
        }
    }
}

fn key_text(key: &Value) -> Result<String> {
    scalar_text(key)
}

/// A scalar as YAML text: strings plain when both YAML 1.1 and 1.2 read
/// them back as the same string (`get-token`, `/usr/bin/entratool`), else
/// double-quoted (`"on"`, `"1_000"`, anything with spaces or punctuation);
/// numbers and booleans as they are.
fn scalar_text(value: &Value) -> Result<String> {
    Ok(match value {
        Value::String(s) if is_plain_safe(s) => s.clone(),
        Value::String(s) => quoted(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        Value::Mapping(_) => "{}".to_string(),
        Value::Sequence(_) => "[]".to_string(),
        Value::Tagged(_) => {
            let text = serde_yaml::to_string(value).map_err(cannot_write)?;
            text.trim_end().to_string()
        }
    })
}

/// A double-quoted YAML string (JSON's escapes, which YAML reads the same).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// A string written plain reads as the same string in YAML 1.1 and 1.2:
/// letters, digits and `-_./` only, not starting with punctuation but `/`,
/// and neither version's boolean, null or number.
fn is_plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        && (s.as_bytes()[0].is_ascii_alphanumeric() || s.starts_with('/'))
        && yaml11_is_string(s)
        && serde_yaml::from_str::<Value>(s).is_ok_and(|v| v.as_str() == Some(s))
}

/// Whether YAML 1.1 (go-yaml v2, which kubectl's loader uses) reads a plain
/// scalar as a string: not a boolean (`y`, `on`, `no`, …), null, integer
/// (`1_000`, `0x1f`, `0o17`, sexagesimal `1:30`) or float (`.5`, `1e3`, `.inf`).
pub fn yaml11_is_string(s: &str) -> bool {
    const BOOLS: [&str; 22] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    const NULLS: [&str; 5] = ["", "~", "null", "Null", "NULL"];
    const SPECIAL_FLOATS: [&str; 9] = [".inf", ".Inf", ".INF", "-.inf", "+.inf", "-.Inf", "+.Inf", ".nan", ".NaN"];
    if BOOLS.contains(&s) || NULLS.contains(&s) || SPECIAL_FLOATS.contains(&s) || s == ".NAN" {
        return false;
    }
    !looks_numeric(s)
}

/// YAML 1.1's integer and float forms, generously: signs, `_` between
/// digits, `0x`/`0o`/`0b` prefixes, `:` (sexagesimal), a point and an exponent.
fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let lower = body.to_ascii_lowercase();
    for prefix in ["0x", "0o", "0b"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
        }
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (lower.as_str(), None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit() || c == '_' || c == ':');
    let has_digit = mantissa.chars().any(|c| c.is_ascii_digit());
    let mantissa_ok = has_digit && mantissa.matches('.').count() <= 1 && digits(&mantissa.replace('.', ""));
    mantissa_ok && exponent.is_none_or(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_where_both_versions_read_the_same_string() {
        for plain in ["on", "Yes", "N", "~", "1_000", "-12", "0o17", "1e3", ".5", ".inf", "1:30", "+1"] {
            assert!(!yaml11_is_string(plain), "{plain} is no string in YAML 1.1");
        }
        for string in ["get-token", "exec-credential", "6dae42f8-4368", "a1", "1.2.3", "e5", "-", "onion", "x:y"] {
            assert!(yaml11_is_string(string), "{string} is a string in YAML 1.1");
        }
        let item: Value =
            serde_yaml::from_str("{name: a, user: {exec: {args: ['on', get-token, '1_000', 'a b']}}}").unwrap();
        let text = block_text(&item, 2).unwrap();
        assert_eq!(
            text,
            "name: a\n  user:\n    exec:\n      args:\n      - \"on\"\n      - get-token\n      - \"1_000\"\n      - \"a b\""
        );
    }
}
