//! git's credential helper protocol (Documentation/git-credential.txt):
//! `key=value` lines on stdin, an answer on stdout, nothing at all for a
//! request that is not bound to a profile.

use std::io::{BufRead, Read};

use crate::binding::{self, Binding, HelperRule};
use crate::error::Result;
use crate::output;
use crate::routing::{Entries, Target};
use crate::token::{self, TokenKind, TokenRequest};

/// Azure DevOps' resource id: its default scope.
pub const AZURE_DEVOPS_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";
/// Longest line and whole request accepted; git's own are far smaller.
const MAX_LINE: usize = 64 * 1024;
const MAX_INPUT: u64 = 1024 * 1024;

/// The request's `key=value` pairs, in order (keys ending `[]` repeat).
#[derive(Debug, Default)]
pub struct Request {
    pub fields: Vec<(String, String)>,
}

impl Request {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of a key that may appear once; None when it is absent or
    /// repeated (git passes on the last of two, a helper must not guess).
    pub fn single(&self, key: &str) -> Option<Option<&str>> {
        let mut values = self.fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let first = values.next();
        values.next().is_none().then_some(first)
    }

    pub fn has(&self, key: &str, value: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == key && v == value)
    }

    /// The request as a trace shows it: secrets (`password`, `credential`,
    /// `oauth_refresh_token`) and helpers' `state[]` as `********`, a `url`
    /// without its user name, password and query values.
    pub fn shown(&self) -> String {
        let secret =
            |k: &str| ["password", "credential", "oauth_refresh_token", "state[]"].contains(&k) || k.contains("token");
        let shown: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| match k.as_str() {
                k if secret(k) => format!("{k}=********"),
                "url" => format!("url={}", crate::trace::url_text_for_trace(v)),
                k => format!("{k}={v}"),
            })
            .collect();
        shown.join(" ")
    }
}

/// Reads lines up to a blank line or EOF; CRLF accepted, unknown keys kept
/// (and ignored), size bounded.
pub fn parse(input: impl Read) -> std::result::Result<Request, String> {
    let mut reader = std::io::BufReader::new(input.take(MAX_INPUT));
    let mut req = Request::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(format!("a line is longer than {MAX_LINE} bytes"));
        }
        let text = std::str::from_utf8(&line).map_err(|_| "the request is not UTF-8".to_string())?;
        let text = text.trim_end_matches('\n').trim_end_matches('\r');
        if text.is_empty() {
            break;
        }
        if text.contains('\0') {
            return Err("the request holds a NUL byte".into());
        }
        let (k, v) = text.split_once('=').ok_or_else(|| format!("not a key=value line: {:.40}", text))?;
        req.fields.push((k.to_string(), v.to_string()));
    }
    Ok(req)
}

/// How git requests bind: an explicitly chosen profile also answers Azure
/// DevOps hosts it has no match entry for.
const RULE: HelperRule =
    HelperRule { default_scope: AZURE_DEVOPS_SCOPE, azure_devops_without_match: true, entries: Entries::All };

/// The profile bound to the request, or None when the request is not ours.
fn bind(req: &Request, explicit: Option<&str>) -> Result<Option<Binding>> {
    let (Some(protocol), Some(host), Some(path)) = (req.single("protocol"), req.single("host"), req.single("path"))
    else {
        return Ok(None); // a repeated key: not answered
    };
    match Target::from_git(protocol.unwrap_or(""), host.unwrap_or(""), path) {
        Some(t) => binding::for_target(explicit, &t, RULE),
        None => Ok(None),
    }
}

/// `git-credential-entratool [-p NAME] <operation>`, as git runs it; the exit code.
pub fn run_argv(args: &[String]) -> Result<u8> {
    let mut profile = None;
    let mut op = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" | "--profile" => profile = it.next().cloned(),
            other if other.starts_with("--profile=") => profile = Some(other["--profile=".len()..].to_string()),
            other if op.is_none() => op = Some(other.to_string()),
            _ => {}
        }
    }
    run(profile.as_deref(), op.as_deref().unwrap_or(""))
}

/// Runs one helper operation. A matched request that fails is an error
/// (exit 1, git shows stderr); anything not ours is answered with nothing.
pub fn run(explicit: Option<&str>, op: &str) -> Result<u8> {
    if !["get", "erase", "store"].contains(&op) {
        return Ok(0); // Unknown operations are ignored, as git expects.
    }
    let req = match parse(std::io::stdin().lock()) {
        Ok(r) => r,
        Err(why) => {
            // Not a request git would send: nothing is answered, and git goes on to its next helper.
            output::warn(&format!("ignoring a malformed credential request: {why}"));
            return Ok(0);
        }
    };
    crate::trace!("git {op}: {}", req.shown());
    match op {
        "get" => get(&req, explicit)?,
        "erase" => erase(&req, explicit)?,
        _ => {} // store: nothing is stored; tokens come from the cache.
    }
    Ok(0)
}

fn get(req: &Request, explicit: Option<&str>) -> Result<()> {
    let Some(bound) = bind(req, explicit)? else {
        return Ok(());
    };
    let mut warnings = Vec::new();
    let token =
        token::acquire(&TokenRequest::for_helper(&bound.profile, &bound.scope, TokenKind::Access), &mut warnings)?;
    output::warn_all(&warnings, false);
    let bearer = req.has("capability[]", "authtype") && bound.profile.git_auth.as_deref() != Some("basic");
    let answer = if bearer {
        format!(
            "capability[]=authtype\nauthtype=Bearer\ncredential={}\nephemeral=true\npassword_expiry_utc={}\n",
            token.access_token, token.expires_on
        )
    } else {
        let user = req.get("username").filter(|u| !u.is_empty()).unwrap_or(&bound.profile.client_id);
        format!("username={user}\npassword={}\npassword_expiry_utc={}\n", token.access_token, token.expires_on)
    };
    output::stdout(&answer)
}

/// Drops the cached token for the request, so the next `get` fetches anew.
fn erase(req: &Request, explicit: Option<&str>) -> Result<()> {
    match bind(req, explicit)? {
        Some(b) => token::forget(&TokenRequest::for_helper(&b.profile, &b.scope, TokenKind::Access)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crlf_and_repeated_keys_and_stops_at_blank_line() {
        let input =
            b"capability[]=authtype\r\ncapability[]=state\r\nprotocol=https\r\nhost=dev.azure.com\r\n\r\nignored=1\n";
        let r = parse(&input[..]).unwrap();
        assert!(r.has("capability[]", "authtype") && r.has("capability[]", "state"));
        assert_eq!(r.get("host"), Some("dev.azure.com"));
        assert_eq!(r.get("ignored"), None);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(parse(&vec![b'a'; 10 * 1024 * 1024][..]).is_err());
        assert!(parse(&[0xff, 0xfe, b'\n'][..]).is_err());
        assert!(parse(&b"no equals sign\n"[..]).is_err());
        assert!(parse(&b"a=b\0c\n"[..]).is_err());
        assert!(parse(&b""[..]).unwrap().fields.is_empty());
    }
}
