//! docker's `config.json` (also podman's and skopeo's, which read it):
//! `credHelpers.<registry> = "entratool"` is set by editing the text in
//! place, so every other byte stays as it was, numbers of any size and bytes
//! that are not UTF-8 included (a parse-and-serialise round trip would turn
//! a 30-digit integer into `1.23e+29`). The result must read as the file
//! did, but for that one entry, or nothing is written.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Change;
use crate::error::{Error, Result};

/// docker's own limit is far below this; a FIFO or /dev/zero is an error, not a hang.
pub const MAX_CONFIG: u64 = 10 * 1024 * 1024;

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path() -> Result<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("config.json")),
        None => directories::BaseDirs::new()
            .map(|b| b.home_dir().join(".docker").join("config.json"))
            .ok_or_else(|| Error::config("cannot find your home folder").with_remedy("set DOCKER_CONFIG")),
    }
}

/// A registry as `--registry` may give it: a host name or IP address and an
/// optional port (`contoso.azurecr.io`, `localhost:5000`), an `https://` in
/// front and a `/` behind dropped. Anything else (a path, a query, a
/// trailing dot, white space) is refused without being written anywhere.
pub fn registry_host(given: &str) -> Result<String> {
    let host = given.strip_prefix("https://").unwrap_or(given);
    let host = host.strip_suffix('/').unwrap_or(host);
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.contains(']') || n.ends_with(']') => (n, Some(p)),
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    let bracketed = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'));
    let name_ok = match bracketed {
        Some(ip) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        None => crate::net::is_dns_name(name) || name.parse::<std::net::Ipv4Addr>().is_ok(),
    };
    if name_ok && port_ok {
        return Ok(host.to_ascii_lowercase());
    }
    Err(Error::usage(format!("invalid --registry '{}'", crate::output::one_line(given)))
        .with_remedy("give a registry host, with a port if it has one: contoso.azurecr.io, localhost:5000"))
}

/// The change that sets `credHelpers.<registry> = "entratool"` in the file
/// whose bytes are `before` (none: it does not exist yet).
pub fn change(path: &Path, before: Option<Vec<u8>>, registry: &str) -> Result<Change> {
    let after = match before.as_deref() {
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => set_helper(bytes, registry, path)?,
        _ => format!("{{\n\t\"credHelpers\": {{\n\t\t{}: \"entratool\"\n\t}}\n}}\n", quoted(registry)).into_bytes(),
    };
    let secrets = before.as_deref().map(secret_values).unwrap_or_default();
    Ok(Change { path: path.to_path_buf(), what: "docker's config", before, after, secrets })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn not_json(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::config(format!("{} is not a JSON object entratool can change", path.display()))
        .with_source(why)
        .with_remedy("fix the file by hand: entratool never overwrites a file it cannot read")
}

/// `bytes` with the one entry set, every other byte as it was; checked to
/// read as the original with that entry.
fn set_helper(bytes: &[u8], registry: &str, path: &Path) -> Result<Vec<u8>> {
    let before: Value = parse_lossy(bytes).map_err(|e| {
        Error::config(format!("{}:{}:{} is not JSON", path.display(), e.line(), e.column()))
            .with_source(e)
            .with_remedy("fix the file by hand: entratool never overwrites a file it cannot read")
    })?;
    if !before.is_object() {
        return Err(not_json(path, "the top level is not an object"));
    }
    let top = Scanner::object_at(bytes, skip_ws(bytes, 0)).map_err(|e| not_json(path, e))?;
    let value = format!("{}: \"entratool\"", quoted(registry));
    let after = match top.members.iter().rev().find(|m| m.key(bytes) == "credHelpers") {
        Some(helpers) => {
            let inner = Scanner::object_at(bytes, helpers.value.0)
                .map_err(|_| not_json(path, "credHelpers is not an object"))?;
            match inner.members.iter().rev().find(|m| m.key(bytes) == registry) {
                Some(m) => splice(bytes, m.value, "\"entratool\""),
                None => insert_member(bytes, &inner, &value, &indent_of(bytes, &top).repeat(2)),
            }
        }
        None => {
            let unit = indent_of(bytes, &top);
            let helpers = format!("\"credHelpers\": {{\n{unit}{unit}{value}\n{unit}}}");
            insert_member(bytes, &top, &helpers, &unit)
        }
    };
    let mut expected = before;
    expected["credHelpers"][registry] = Value::from("entratool");
    if parse_lossy(&after).ok().as_ref() != Some(&expected) {
        return Err(Error::config(format!("cannot change {} in place", path.display())).with_remedy(
            "nothing was written; add the entry by hand: \"credHelpers\": {\"REGISTRY\": \"entratool\"}",
        ));
    }
    Ok(after)
}

/// What docker reads: JSON in UTF-8, any invalid byte read as U+FFFD.
fn parse_lossy(bytes: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_str(&String::from_utf8_lossy(bytes))
}

fn splice(bytes: &[u8], (start, end): (usize, usize), text: &str) -> Vec<u8> {
    [&bytes[..start], text.as_bytes(), &bytes[end..]].concat()
}

/// A new member as the last of `object`: after the last one (with a comma),
/// or as the only one of an empty object; on its own line at `indent`.
fn insert_member(bytes: &[u8], object: &Object, member: &str, indent: &str) -> Vec<u8> {
    let close_indent = line_indent(bytes, object.close);
    match object.members.last() {
        Some(last) => splice(bytes, (last.value.1, last.value.1), &format!(",\n{indent}{member}")),
        None => splice(bytes, (object.open + 1, object.close), &format!("\n{indent}{member}\n{close_indent}")),
    }
}

/// The indentation unit of an object's members (docker writes a tab), else a tab.
fn indent_of(bytes: &[u8], object: &Object) -> String {
    object
        .members
        .first()
        .map(|m| line_indent(bytes, m.key.0))
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "\t".to_string())
}

/// The spaces and tabs before `at` on its line, when only they stand there.
fn line_indent(bytes: &[u8], at: usize) -> String {
    let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1);
    let lead = &bytes[line_start..at];
    if lead.iter().all(|b| *b == b' ' || *b == b'\t') {
        String::from_utf8_lossy(lead).into_owned()
    } else {
        String::new()
    }
}

/// Values of fields that hold secrets in docker's config (`auth`, `identitytoken`, …).
fn secret_values(bytes: &[u8]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, val) in m {
                    let k = k.to_ascii_lowercase();
                    let secret = ["auth", "password", "identitytoken", "registrytoken", "secret", "token"]
                        .iter()
                        .any(|s| k == *s || k.ends_with(s));
                    match val.as_str() {
                        Some(s) if secret => out.push(s.to_string()),
                        _ => walk(val, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = parse_lossy(bytes) {
        walk(&v, &mut out);
    }
    out
}

/// An object's members and where its braces are, in bytes.
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// A member's key (with its quotes) and value, as byte spans.
struct Member {
    key: (usize, usize),
    value: (usize, usize),
}

impl Member {
    /// The key's text (escapes read as JSON reads them).
    fn key(&self, bytes: &[u8]) -> String {
        serde_json::from_str::<String>(&String::from_utf8_lossy(&bytes[self.key.0..self.key.1])).unwrap_or_default()
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// Finds where JSON values are, byte by byte; the syntax was already checked
/// by serde_json, so this only has to find extents.
struct Scanner;

impl Scanner {
    fn object_at(bytes: &[u8], open: usize) -> std::result::Result<Object, String> {
        if bytes.get(open) != Some(&b'{') {
            return Err(format!("no object at byte {open}"));
        }
        let mut members = Vec::new();
        let mut at = skip_ws(bytes, open + 1);
        if bytes.get(at) == Some(&b'}') {
            return Ok(Object { open, close: at, members });
        }
        loop {
            let key = (at, Self::end_of_string(bytes, at)?);
            at = skip_ws(bytes, key.1);
            if bytes.get(at) != Some(&b':') {
                return Err(format!("no ':' at byte {at}"));
            }
            let start = skip_ws(bytes, at + 1);
            let value = (start, Self::end_of_value(bytes, start)?);
            members.push(Member { key, value });
            at = skip_ws(bytes, value.1);
            match bytes.get(at) {
                Some(b',') => at = skip_ws(bytes, at + 1),
                Some(b'}') => return Ok(Object { open, close: at, members }),
                _ => return Err(format!("no ',' or '}}' at byte {at}")),
            }
        }
    }

    fn end_of_string(bytes: &[u8], at: usize) -> std::result::Result<usize, String> {
        if bytes.get(at) != Some(&b'"') {
            return Err(format!("no string at byte {at}"));
        }
        let mut i = at + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Err("a string does not end".into())
    }

    fn end_of_value(bytes: &[u8], at: usize) -> std::result::Result<usize, String> {
        match bytes.get(at) {
            Some(b'"') => Self::end_of_string(bytes, at),
            Some(b'{') | Some(b'[') => {
                let mut depth = 0usize;
                let mut i = at;
                while i < bytes.len() {
                    match bytes[i] {
                        b'"' => {
                            i = Self::end_of_string(bytes, i)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                Err("a value does not end".into())
            }
            Some(_) => {
                let len =
                    bytes[at..].iter().position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
                Ok(at + len.unwrap_or(bytes.len() - at))
            }
            None => Err("the file ends early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &[u8]) -> Vec<u8> {
        set_helper(text, "contoso.azurecr.io", Path::new("config.json")).unwrap()
    }

    #[test]
    fn other_keys_keep_their_bytes_numbers_and_indentation() {
        let original = b"{\n\t\"auths\": {},\n\t\"big\": 123456789012345678901234567890,\n\t\"odd\": \"\xff\xfe\"\n}\n";
        let out = set(original);
        let expected = b"{\n\t\"auths\": {},\n\t\"big\": 123456789012345678901234567890,\n\t\"odd\": \"\xff\xfe\",\n\t\"credHelpers\": {\n\t\t\"contoso.azurecr.io\": \"entratool\"\n\t}\n}\n";
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(expected));
        assert_eq!(out, expected.to_vec());
        let spaced = b"{\n    \"credHelpers\": {\n        \"other.io\": \"gcloud\"\n    }\n}";
        assert_eq!(
            String::from_utf8_lossy(&set(spaced)),
            "{\n    \"credHelpers\": {\n        \"other.io\": \"gcloud\",\n        \"contoso.azurecr.io\": \"entratool\"\n    }\n}"
        );
    }

    #[test]
    fn an_existing_entry_is_replaced_and_empty_objects_filled() {
        assert_eq!(
            set(b"{\"credHelpers\": {\"contoso.azurecr.io\": \"acr\"}}"),
            b"{\"credHelpers\": {\"contoso.azurecr.io\": \"entratool\"}}"
        );
        assert_eq!(
            String::from_utf8_lossy(&set(b"{}")),
            "{\n\t\"credHelpers\": {\n\t\t\"contoso.azurecr.io\": \"entratool\"\n\t}\n}"
        );
        assert!(set_helper(b"[1]", "r", Path::new("c")).is_err());
        assert!(set_helper(b"{\"credHelpers\": 5}", "r", Path::new("c")).is_err());
        assert!(set_helper(b"{", "r", Path::new("c")).is_err());
    }

    #[test]
    fn registries_are_hosts_and_ports_only() {
        for ok in
            ["contoso.azurecr.io", "https://contoso.azurecr.io/", "localhost:5000", "127.0.0.1:5000", "[::1]:5000"]
        {
            assert!(registry_host(ok).is_ok(), "{ok}");
        }
        for bad in [
            "host?x",
            "contoso.azurecr.io.",
            "contoso.azurecr.io/path",
            "a\nb",
            "a b",
            "",
            ":5000",
            "h:0",
            "h:99999",
            "u@h",
        ] {
            assert!(registry_host(bad).is_err(), "{bad:?}");
        }
    }
}
