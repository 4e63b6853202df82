//! docker's credential helper protocol (docker/docker-credential-helpers),
//! for Azure Container Registry: the Entra token is traded at the
//! registry's `/oauth2/exchange` for an ACR refresh token.

use std::io::Read;

use serde_json::{Value, json};

use crate::binding::{self, Binding, HelperRule};
use crate::error::{Error, Result};
use crate::output;
use crate::profile;
use crate::routing::{Entries, Target};
use crate::token::{self, TokenKind, TokenRequest};

pub const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";
/// The user name that marks the secret as an ACR refresh token.
pub const ACR_USERNAME: &str = "00000000-0000-0000-0000-000000000000";
pub const NOT_FOUND: &str = "credentials not found in native keychain";
const MAX_INPUT: u64 = 64 * 1024;

/// The exit code of every failure: the protocol's convention.
const FAILED: i32 = 1;

/// A failure in the protocol's shape: one line on stdout, details on stderr, exit 1.
fn fail(line: &str, detail: Option<&Error>) -> i32 {
    // The line is the protocol's answer; if stdout is gone there is no one to tell.
    if let Err(e) = output::stdout(&format!("{}\n", line.lines().next().unwrap_or(""))) {
        output::print_error(&e, output::HELPER);
    }
    if let Some(d) = detail {
        output::print_error(d, output::HELPER);
    }
    FAILED
}

fn read_stdin() -> std::result::Result<String, String> {
    let mut buf = Vec::new();
    std::io::stdin().lock().take(MAX_INPUT).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    String::from_utf8(buf).map_err(|_| "the input is not UTF-8".to_string())
}

pub fn run(op: &str) -> i32 {
    match op {
        "get" => match read_stdin() {
            Ok(s) if s.trim().is_empty() => fail("no credentials server URL", None),
            Ok(server) => match get(server.trim()) {
                Ok(Some(answer)) => written(output::stdout(&answer)),
                Ok(None) => fail(NOT_FOUND, None),
                Err(e) => fail(&e.message, Some(&e)),
            },
            Err(why) => fail("invalid credentials server URL", Some(&Error::usage(why))),
        },
        // Nothing is stored: tokens come from the cache. The input is read
        // (and its content does not matter) so the writer never meets a closed pipe.
        "store" => {
            drop(read_stdin());
            0
        }
        // erase answers 0 whatever happens, so `docker logout` always completes.
        "erase" => {
            let outcome = read_stdin().map_err(Error::usage).and_then(|server| erase(server.trim()));
            if let Err(e) = outcome {
                output::print_error(&e, output::HELPER);
            }
            0
        }
        "list" => {
            drop(read_stdin());
            match list() {
                Ok(v) => written(output::stdout(&format!("{v}\n"))),
                Err(e) => fail(&e.message, Some(&e)),
            }
        }
        "version" => {
            written(output::stdout(&format!("docker-credential-entratool (entratool) {}\n", env!("CARGO_PKG_VERSION"))))
        }
        other => fail(&format!("unknown operation '{other}': use get, store, erase, list or version"), None),
    }
}

fn written(outcome: Result<()>) -> i32 {
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            output::print_error(&e, output::HELPER);
            FAILED
        }
    }
}

/// How registry requests bind: host and host-glob entries, ACR's scope.
const RULE: HelperRule =
    HelperRule { default_scope: ACR_SCOPE, azure_devops_without_match: false, entries: Entries::HostsOnly };

/// The profile bound to a registry, with the registry's `host[:port]`, or None.
fn bind(server: &str) -> Result<Option<(Binding, String)>> {
    let Some(target) = Target::from_registry(server) else {
        return Ok(None);
    };
    Ok(binding::for_target(None, &target, RULE)?.map(|b| (b, target.host_port())))
}

fn get(server: &str) -> Result<Option<String>> {
    let Some((bound, registry)) = bind(server)? else {
        crate::trace!("docker get: no profile is bound to this server: credentials not found");
        return Ok(None);
    };
    crate::trace!("docker get: registry {registry}");
    let mut warnings = Vec::new();
    let request = TokenRequest::for_helper(&bound.profile, &bound.scope, TokenKind::AcrRefresh { registry });
    let token = token::acquire(&request, &mut warnings)?;
    output::warn_all(&warnings, false);
    let answer = json!({"ServerURL": server, "Username": ACR_USERNAME, "Secret": token.access_token});
    Ok(Some(format!("{answer}\n")))
}

/// Drops the cached ACR and Entra tokens of the registry's profile.
fn erase(server: &str) -> Result<()> {
    match bind(server)? {
        Some((b, registry)) => {
            token::forget(&TokenRequest::for_helper(&b.profile, &b.scope, TokenKind::AcrRefresh { registry }))
        }
        None => Ok(()),
    }
}

/// Every literal registry (a host entry, not a URL or a glob) of every profile.
fn list() -> Result<Value> {
    let doc = profile::ProfilesFile::open()?.load()?;
    let mut out = serde_json::Map::new();
    for p in &doc.profiles {
        for e in &p.matches {
            let pattern = e.pattern();
            if !pattern.contains("://") && !pattern.contains('*') {
                out.insert(pattern.to_string(), ACR_USERNAME.into());
            }
        }
    }
    Ok(Value::Object(out))
}
