//! The `az account get-access-token -o json` shape, for the Azure SDKs'
//! AzureCliCredential.

use serde_json::{Map, Value};

use crate::binding;
use crate::error::{Error, Result};
use crate::output::{self, pretty};
use crate::profile::Profile;
use crate::token::{self, Token, TokenKind, TokenRequest};

/// `expiresOn` is local time `%Y-%m-%d %H:%M:%S.%f`, as the Azure CLI prints it.
pub fn access_token_json(t: &Token, tenant: &str, subscription: Option<&str>) -> String {
    pretty(&access_token_value(t, tenant, subscription))
}

fn access_token_value(t: &Token, tenant: &str, subscription: Option<&str>) -> Value {
    let local = output::utc(t.expires_on).with_timezone(&chrono::Local);
    let mut m = Map::new();
    m.insert("accessToken".into(), t.access_token.clone().into());
    m.insert("expiresOn".into(), local.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into());
    m.insert("expires_on".into(), t.expires_on.into());
    if let Some(s) = subscription {
        m.insert("subscription".into(), s.into());
    }
    m.insert("tenant".into(), tenant.into());
    m.insert("tokenType".into(), "Bearer".into());
    Value::Object(m)
}

/// What `az` was asked, after the shim's own parsing.
#[derive(Debug, Default, PartialEq)]
struct AccessTokenArgs {
    scope: Option<String>,
    tenant: Option<String>,
    subscription: Option<String>,
    query: Option<String>,
    tsv: bool,
}

const ONLY_SERVED: &str = "entratool's az shim serves only `az account get-access-token` and `az account show`";
const OTHER_COMMANDS: &str = "install the Azure CLI for other commands";

fn parse_access_token_args(args: &[String]) -> std::result::Result<AccessTokenArgs, String> {
    let mut out = AccessTokenArgs::default();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = args.get(i + 1).cloned();
        let need = |what: &str| value.clone().ok_or(format!("{flag} needs {what}"));
        match flag {
            "--resource" => out.scope = Some(format!("{}/.default", need("a resource")?.trim_end_matches('/'))),
            "--scope" | "--scopes" => out.scope = Some(need("a scope")?),
            "--tenant" | "-t" => out.tenant = Some(need("a tenant")?),
            "--subscription" | "-s" => out.subscription = Some(need("a subscription")?),
            "--output" | "-o" => match need("a format")?.as_str() {
                "json" | "jsonc" => out.tsv = false,
                "tsv" => out.tsv = true,
                other => {
                    return Err(format!("output format '{other}' is not served: use json or tsv"));
                }
            },
            "--query" => out.query = Some(need("a field name")?),
            "--only-show-errors" | "--debug" | "--verbose" => {
                i += 1;
                continue;
            }
            other => {
                return Err(format!("unrecognized argument {other} for `az account get-access-token`"));
            }
        }
        i += 2;
    }
    Ok(out)
}

/// Runs the shim with az's arguments (after the program name); the exit code.
pub fn run_shim(args: &[String]) -> Result<u8> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match words.as_slice() {
        ["account", "get-access-token", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            match parse_access_token_args(&rest) {
                Ok(a) => access_token(a),
                Err(why) => Err(Error::usage(why).with_remedy(format!("{ONLY_SERVED}; {OTHER_COMMANDS}"))),
            }
        }
        ["account", "show", rest @ ..] if rest.iter().all(|a| ["-o", "--output", "json"].contains(a)) => account_show(),
        _ => Err(Error::usage(ONLY_SERVED).with_remedy(OTHER_COMMANDS)),
    }
    .and_then(|text| output::stdout(&text));
    outcome.map(|()| 0)
}

/// The profile and token both shims hand out. az and azd have no -p: the
/// profile is `$ENTRATOOL_PROFILE`'s, else the default; a tenant asked for
/// (`tenant_flag`) must be the profile's; the scope is the one asked for, else
/// the profile's, else `default_scope` (or an error when there is none).
fn shim_token(
    tenant: Option<&str>,
    tenant_flag: &str,
    scope: Option<String>,
    default_scope: Option<&str>,
) -> Result<(Profile, Token)> {
    let profile = binding::profile_for_command(None)?;
    if let Some(t) = tenant
        && !t.eq_ignore_ascii_case(&profile.tenant_id)
    {
        return Err(Error::config(format!(
            "{tenant_flag} {t} is not the tenant of profile '{}' ({})",
            profile.name, profile.tenant_id
        ))
        .with_remedy("choose the profile for that tenant with ENTRATOOL_PROFILE"));
    }
    let scope = scope
        .or_else(|| profile.default_scope().map(str::to_string))
        .or_else(|| default_scope.map(str::to_string))
        .ok_or_else(|| Error::usage("no scope given").with_remedy("pass --scope <resource>/.default"))?;
    let mut warnings = Vec::new();
    let token = token::acquire(&TokenRequest::for_helper(&profile, &scope, TokenKind::Access), &mut warnings)?;
    output::warn_all(&warnings, false);
    Ok((profile, token))
}

fn access_token(a: AccessTokenArgs) -> Result<String> {
    let (profile, token) =
        shim_token(a.tenant.as_deref(), "--tenant", a.scope, Some(crate::entra::RESOURCE_MANAGER_SCOPE))?;
    let subscription = a.subscription.as_deref().or(profile.subscription_id.as_deref());
    let full = access_token_value(&token, &profile.tenant_id, subscription);
    let picked = match &a.query {
        None => &full,
        Some(field) => full.get(field.as_str()).unwrap_or(&Value::Null),
    };
    Ok(match (picked, a.tsv) {
        (Value::String(s), true) => format!("{s}\n"),
        (other, true) => format!("{other}\n"),
        (other, false) => pretty(other),
    })
}

/// `azd auth token --output json --scope S [--tenant-id T] [--no-prompt]`, as
/// azure-identity's AzureDeveloperCliCredential runs it: `{"token", "expiresOn"}`.
pub fn run_azd(args: &[String]) -> Result<u8> {
    let outcome = match args {
        [auth, token, rest @ ..] if auth == "auth" && token == "token" => azd_token(rest),
        _ => Err(Error::usage(AZD_ONLY).with_remedy(AZD_OTHER_COMMANDS)),
    }
    .and_then(|text| output::stdout(&text));
    outcome.map(|()| 0)
}

const AZD_ONLY: &str = "entratool's azd shim serves only `azd auth token`";
const AZD_OTHER_COMMANDS: &str = "install the Azure Developer CLI for other commands";

fn azd_token(args: &[String]) -> Result<String> {
    let mut scopes = Vec::new();
    let mut tenant = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |what: &str| it.next().cloned().ok_or_else(|| Error::usage(format!("{flag} needs {what}")));
        match flag.as_str() {
            "--scope" => scopes.push(value("a scope")?),
            "--tenant-id" => tenant = Some(value("a tenant")?),
            "--output" | "-o" => {
                let format = value("a format")?;
                if format != "json" {
                    return Err(Error::usage(format!("output format '{format}' is not served"))
                        .with_remedy("use --output json"));
                }
            }
            "--no-prompt" => {}
            other => return Err(Error::usage(format!("unrecognized argument {other} for `azd auth token`"))),
        }
    }
    // azd takes several scopes; a client-credentials token has one resource.
    if scopes.len() > 1 {
        return Err(Error::usage("azd auth token got several scopes, but a token has one resource")
            .with_remedy("pass one --scope"));
    }
    let (_, token) = shim_token(tenant.as_deref(), "--tenant-id", scopes.pop(), None)?;
    Ok(super::plain::azd(&token))
}

fn account_show() -> Result<String> {
    let p = binding::profile_for_command(None)?;
    let v = serde_json::json!({
        "id": p.subscription_id,
        "tenantId": p.tenant_id,
        "user": {"name": p.client_id, "type": "servicePrincipal"},
    });
    Ok(pretty(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn resource_means_scope_default() {
        let a =
            parse_access_token_args(&args(&["--output", "json", "--resource", "https://vault.azure.net/"])).unwrap();
        assert_eq!(a.scope.as_deref(), Some("https://vault.azure.net/.default"));
        let a =
            parse_access_token_args(&args(&["-o", "json", "--scope", "api://x/.default", "--tenant", "t"])).unwrap();
        assert_eq!((a.scope.as_deref(), a.tenant.as_deref()), (Some("api://x/.default"), Some("t")));
        assert!(parse_access_token_args(&args(&["--resource"])).is_err());
        assert!(parse_access_token_args(&args(&["--bogus", "x"])).is_err());
    }
}
