//! `entratool token decode`: the claims people check when access is denied,
//! never the token or its signature.

use std::io::Read;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::args::ListFormat;
use entratool::claims;
use entratool::error::{Error, Result};
use entratool::output::{pretty, table};
use entratool::token::{self, TokenKind, TokenRequest};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Show a token's claims (aud, iss, tid, appid, oid, roles, scp, times, xms_mirid): from stdin, or the
    /// profile's token for a scope
    Decode(DecodeArgs),
}

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Decode this profile's token (cached, or fetched) instead of one on stdin
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
    /// The scope of the profile's token (default: the profile's)
    #[arg(long, requires = "profile")]
    pub scope: Option<String>,
    /// table (default) or json
    #[arg(long, value_enum, default_value_t)]
    pub output: ListFormat,
}

pub fn run(cmd: TokenCommand) -> Result<()> {
    let TokenCommand::Decode(a) = cmd;
    let jwt = match &a.profile {
        Some(name) => {
            let profile = entratool::binding::profile_for_command(Some(name))?;
            let scope = a.scope.clone().or_else(|| profile.default_scope().map(str::to_string)).ok_or_else(|| {
                Error::usage(format!("profile '{name}' has no default scope")).with_remedy("pass --scope")
            })?;
            let mut warnings = Vec::new();
            let t = token::acquire(&TokenRequest::for_helper(&profile, &scope, TokenKind::Access), &mut warnings)?;
            entratool::output::warn_all(&warnings, false);
            t.access_token
        }
        None => read_stdin()?,
    };
    let payload = entratool::codec::jwt_claims(&token_in(&jwt)).ok_or_else(|| {
        Error::usage("that is not a JWT access token").with_remedy(
            "pipe the token alone, e.g. `entratool get-token -p NAME | entratool token decode` (opaque tokens, such \
             as Microsoft Graph's for personal accounts, cannot be decoded)",
        )
    })?;
    let now = entratool::clock::now();
    let shown = claims::selected(&payload, now);
    if a.output == ListFormat::Json {
        return entratool::output::stdout(&pretty(&Value::Object(shown)));
    }
    entratool::output::stdout(&table(&claims::rows(&shown)))
}

/// The token in what `get-token` prints in any format: the bare token,
/// `--output json`/`az` (`accessToken`), `azd` (`token`), `exec-credential`
/// (`status.token`), or `header` (`Authorization: Bearer …`).
fn token_in(text: &str) -> String {
    let text = text.trim();
    if text.starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(text)
    {
        let found = ["/accessToken", "/status/token", "/token", "/access_token"]
            .iter()
            .find_map(|p| v.pointer(p).and_then(Value::as_str));
        return found.unwrap_or("").to_string();
    }
    let header = text.strip_prefix("Authorization:").map(str::trim).unwrap_or(text);
    header.strip_prefix("Bearer ").unwrap_or(header).trim().to_string()
}

fn read_stdin() -> Result<String> {
    if super::args::stdin_is_terminal() {
        entratool::ewriteln!(
            "Paste a token, or what `entratool get-token` prints in any --output, then press Ctrl-D (Ctrl-Z on \
             Windows):"
        );
    }
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| Error::usage("cannot read the token from stdin").with_source(e))?;
    if text.trim().is_empty() {
        return Err(Error::usage("no token on stdin")
            .with_remedy("pipe one in: `entratool get-token -p NAME | entratool token decode`, or pass -p NAME"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::token_in;

    #[test]
    fn every_get_token_format_gives_its_token() {
        for text in [
            "eyJ.a.b\n",
            "Authorization: Bearer eyJ.a.b\n",
            r#"{"accessToken": "eyJ.a.b", "tokenType": "Bearer"}"#,
            r#"{"token": "eyJ.a.b", "expiresOn": "x"}"#,
            r#"{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "eyJ.a.b"}}"#,
        ] {
            assert_eq!(token_in(text), "eyJ.a.b", "{text}");
        }
    }
}
