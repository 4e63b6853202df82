//! `entratool token decode`: the claims people check when access is denied,
//! never the token or its signature.

use std::io::Read;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::ListFormat;
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

/// The claims shown, in this order.
const CLAIMS: [&str; 10] = ["aud", "iss", "tid", "appid", "azp", "oid", "sub", "roles", "scp", "xms_mirid"];
const TIMES: [&str; 3] = ["iat", "nbf", "exp"];

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
    let claims = entratool::codec::jwt_claims(jwt.trim()).ok_or_else(|| {
        Error::usage("that is not a JWT access token").with_remedy(
            "pipe the token alone, e.g. `entratool get-token -p NAME | entratool token decode` (opaque tokens, such \
             as Microsoft Graph's for personal accounts, cannot be decoded)",
        )
    })?;
    let now = token::now();
    let shown = selected(&claims, now);
    if a.output == ListFormat::Json {
        return entratool::output::stdout(&pretty(&Value::Object(shown)));
    }
    let mut rows = Vec::new();
    for (k, v) in &shown {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(|i| i.as_str().unwrap_or("?")).collect::<Vec<_>>().join(", "),
            Value::Object(t) => t["local"].as_str().unwrap_or("").to_string() + &minutes(t),
            other => other.to_string(),
        };
        rows.push(vec![format!("{k}:"), text]);
    }
    entratool::output::stdout(&table(&rows))
}

fn minutes(t: &Map<String, Value>) -> String {
    match t.get("minutesLeft").and_then(Value::as_i64) {
        Some(m) if m >= 0 => format!(" ({m} minutes left)"),
        Some(m) => format!(" (expired {} minutes ago)", -m),
        None => String::new(),
    }
}

/// The claims of interest; `scp` split into its scopes; times as local time
/// (and, for `exp`, the minutes left).
fn selected(claims: &Value, now: i64) -> Map<String, Value> {
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
            let local = entratool::output::utc(at).with_timezone(&chrono::Local);
            let mut t = json!({"epoch": at, "local": local.format("%Y-%m-%d %H:%M:%S %Z").to_string()});
            if k == "exp" {
                t["minutesLeft"] = json!((at - now).div_euclid(60));
            }
            out.insert(k.into(), t);
        }
    }
    out
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
