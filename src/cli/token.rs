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
    let token = token_in(&jwt);
    // A signed HTTP request (Arc PoP): its own parts, then the access token inside.
    let shr = entratool::pop::open_signed_request(&token);
    let token = shr.as_ref().map_or(token.clone(), |(_, _, at)| at.clone());
    let payload = entratool::codec::jwt_claims(&token).ok_or_else(|| {
        Error::usage("that is not a JWT access token").with_remedy(
            "pipe the token alone, e.g. `entratool get-token -p NAME | entratool token decode` (opaque tokens, such \
             as Microsoft Graph's for personal accounts, cannot be decoded)",
        )
    })?;
    let now = entratool::clock::now();
    let shown = claims::selected(&payload, now);
    let Some((header, request, _)) = shr else {
        if a.output == ListFormat::Json {
            return entratool::output::stdout(&pretty(&Value::Object(shown)));
        }
        return entratool::output::stdout(&table(&claims::rows(&shown)));
    };
    let parts = shr_parts(&header, &request, now);
    if a.output == ListFormat::Json {
        let v = serde_json::json!({"signedRequest": parts, "accessToken": shown});
        return entratool::output::stdout(&pretty(&v));
    }
    let mut rows = vec![vec!["A signed HTTP request (Azure Arc PoP):".to_string(), String::new()]];
    rows.extend(claims::rows(&parts).into_iter().map(|r| vec![format!("  {}", r[0]), r[1].clone()]));
    rows.push(vec!["The access token inside:".to_string(), String::new()]);
    rows.extend(claims::rows(&shown).into_iter().map(|r| vec![format!("  {}", r[0]), r[1].clone()]));
    entratool::output::stdout(&table(&rows))
}

/// What an SHR says besides its access token: the key (`kid`, and the
/// `cnf.jwk`'s own `kid`), when it was made (`ts`, with its age), for which
/// cluster (`u`) and its `nonce`.
fn shr_parts(header: &Value, request: &Value, now: i64) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for (name, v) in [("typ", &header["typ"]), ("alg", &header["alg"]), ("kid", &header["kid"])] {
        out.insert(name.into(), v.clone());
    }
    out.insert("u".into(), request["u"].clone());
    if let Some(ts) = request["ts"].as_i64() {
        let local = entratool::output::utc(ts).with_timezone(&chrono::Local);
        let made = format!("{} ({} s ago)", local.format("%Y-%m-%d %H:%M:%S %Z"), now.saturating_sub(ts));
        out.insert("ts".into(), serde_json::json!(made));
    }
    out.insert("nonce".into(), request["nonce"].clone());
    out.insert("cnf.jwk.kid".into(), request["cnf"]["jwk"]["kid"].clone());
    out
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
    let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("PoP ")).unwrap_or(header);
    token.trim().to_string()
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
            "Authorization: PoP eyJ.a.b\n",
            r#"{"accessToken": "eyJ.a.b", "tokenType": "Bearer"}"#,
            r#"{"token": "eyJ.a.b", "expiresOn": "x"}"#,
            r#"{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "eyJ.a.b"}}"#,
        ] {
            assert_eq!(token_in(text), "eyJ.a.b", "{text}");
        }
    }
}
