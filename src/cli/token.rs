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
    let payload = entratool::codec::jwt_claims(jwt.trim()).ok_or_else(|| {
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

fn read_stdin() -> Result<String> {
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
