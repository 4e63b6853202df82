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

fn read_stdin() -> Result<String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT)
        .read_to_end(&mut buf)
        .map_err(|e| Error::usage("cannot read the request").with_source(e))?;
    String::from_utf8(buf).map_err(|_| Error::usage("invalid credentials server URL: the input is not UTF-8"))
}

/// Runs one operation (`get`, `store`, `erase`, `list`, `version`); the exit
/// code. A failure is an error, which `main` shows as the protocol wants: one
/// line on stdout, details on stderr, exit 1.
pub fn run(args: &[String]) -> Result<u8> {
    let op = args.first().map(String::as_str).unwrap_or("");
    crate::trace!("docker credential helper, operation '{}'", crate::output::one_line(op));
    match op {
        "get" => {
            let server = read_stdin()?;
            if server.trim().is_empty() {
                return Err(Error::usage("no credentials server URL"));
            }
            match get(server.trim())? {
                Some(answer) => output::stdout(&answer).map(|()| 0),
                None => output::stdout(&format!("{NOT_FOUND}\n")).map(|()| 1),
            }
        }
        // Nothing is stored: tokens come from the cache. The input is read
        // (and its content does not matter) so the writer never meets a closed pipe.
        "store" => {
            drop(read_stdin());
            Ok(0)
        }
        // erase answers 0 whatever happens, so `docker logout` always completes.
        "erase" => {
            if let Err(e) = read_stdin().and_then(|server| erase(server.trim())) {
                output::warn(&format!("the cached tokens were not dropped: {}", e.report("", "")));
            }
            Ok(0)
        }
        "list" => {
            drop(read_stdin());
            output::stdout(&format!("{}\n", list()?)).map(|()| 0)
        }
        "version" => {
            output::stdout(&format!("docker-credential-entratool (entratool) {}\n", env!("CARGO_PKG_VERSION")))
                .map(|()| 0)
        }
        other => {
            Err(Error::usage(format!("unknown operation '{other}'"))
                .with_remedy("use get, store, erase, list or version"))
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
