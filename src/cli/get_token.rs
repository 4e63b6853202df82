//! `entratool get-token`: the plain invocation, and kubectl's exec plugin.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::ProfileArg;
use super::prompt::TerminalPrompt;
use entratool::credential::TriedCertificate;
use entratool::error::{Error, Result};
use entratool::pop::{ARC_SERVER_ID, PopClaims};
use entratool::profile::Profile;
use entratool::protocols::kubectl::{self, ExecInfo};
use entratool::protocols::{az, plain};
use entratool::token::{self, DEFAULT_MIN_VALIDITY, TokenKind, TokenRequest};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// The bare access token
    #[default]
    Token,
    /// JSON with expiry, scope and profile
    Json,
    /// What `az account get-access-token -o json` prints
    Az,
    /// What `azd auth token -o json` prints
    Azd,
    /// A kubectl ExecCredential
    ExecCredential,
    /// An HTTP Authorization header line
    Header,
}

#[derive(Args, Debug)]
pub struct GetTokenArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Scope to request, e.g. https://management.azure.com/.default (default: the profile's)
    #[arg(long, conflicts_with = "server_id")]
    pub scope: Option<String>,
    /// Resource application id; means scope ID/.default (kubelogin's flag; AKS: 6dae42f8-4368-4678-94ff-3960e28e3630)
    #[arg(long, value_name = "ID")]
    pub server_id: Option<String>,
    /// What to print: token (default), json, az, azd, exec-credential (kubectl) or header
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: TokenFormat,
    /// Print nothing but the requested output
    #[arg(long)]
    pub silent: bool,
    /// Ignore the cache and ask Entra ID for a new token
    #[arg(long)]
    pub force_refresh: bool,
    /// Reuse a cached token only while it has more than this many seconds left
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MIN_VALIDITY)]
    pub min_validity: i64,
    /// Try this certificate for the profile without saving it (bypasses the cache)
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<PathBuf>,
    /// The --certificate file's password, from stdin (never the profile's stored one)
    #[arg(long, requires = "certificate")]
    pub password_stdin: bool,
    /// Azure Arc: a proof-of-possession token for the cluster "u=<ARM ID of the cluster>" (kubelogin's
    /// --pop-claims; the scope then defaults to Arc's server id)
    #[arg(long, value_name = "CLAIMS")]
    pub pop_claims: Option<String>,
}

pub fn run(args: GetTokenArgs) -> Result<()> {
    // Read kubectl's request first: a bad one is an error before any work.
    let exec_info = match args.output {
        TokenFormat::ExecCredential => {
            let info = kubectl::exec_info_from_env()?;
            entratool::trace!("kubectl exec plugin: apiVersion {}, interactive {}", info.api_version, info.interactive);
            Some(info)
        }
        _ => None,
    };
    let profile = entratool::binding::profile_for_command(args.profile.profile.as_deref())?;
    let pop_claims = pop_claims(&args, exec_info.as_ref(), &profile)?;
    if pop_claims.is_some() && matches!(args.output, TokenFormat::Az | TokenFormat::Azd) {
        return Err(Error::usage(
            "a PoP token is a signed request for one cluster, which the az and azd formats cannot carry",
        )
        .with_remedy("use --output exec-credential (kubectl), token, json or header"));
    }
    let scope = match (&args.scope, &args.server_id) {
        (Some(s), _) => s.clone(),
        (None, Some(id)) => kubectl::server_id_scope(id),
        (None, None) if pop_claims.is_some() => kubectl::server_id_scope(ARC_SERVER_ID),
        (None, None) => profile.default_scope().map(str::to_string).ok_or_else(|| {
            let remedy = if profile.from_environment {
                "pass --scope (e.g. https://graph.microsoft.com/.default)".to_string()
            } else {
                format!(
                    "pass --scope (e.g. https://graph.microsoft.com/.default) or set one with `entratool config edit \
                     -p {} --scope SCOPE`",
                    profile.name
                )
            };
            Error::usage(format!("profile '{}' has no default scope", profile.name)).with_remedy(remedy)
        })?,
    };
    if args.min_validity < 0 {
        return Err(Error::usage("--min-validity must be zero or more seconds"));
    }
    // kubectl says whether a person can answer; otherwise the terminal does.
    let interactive_ok = exec_info.as_ref().is_none_or(ExecInfo::allows_prompt);
    let password = if args.password_stdin { Some(read_password()?) } else { None };
    let tried = args.certificate.as_deref().map(|path| TriedCertificate { path, password: password.as_ref() });
    let request = TokenRequest {
        profile: &profile,
        scope: &scope,
        kind: TokenKind::Access,
        force_refresh: args.force_refresh,
        min_validity: args.min_validity,
        certificate_override: tried,
        prompt: (interactive_ok && !args.silent && super::args::stdin_is_terminal()).then_some(&TerminalPrompt),
        pop: pop_claims.as_ref(),
    };
    let mut warnings = Vec::new();
    let result = token::acquire(&request, &mut warnings);
    entratool::output::warn_all(&warnings, args.silent);
    let t = result?;
    let text = match args.output {
        TokenFormat::Token => plain::token(&t),
        TokenFormat::Json => plain::json(&t, &scope, &profile),
        TokenFormat::Az => az::access_token_json(&t, &profile.tenant_id, profile.subscription_id.as_deref()),
        TokenFormat::Azd => plain::azd(&t),
        TokenFormat::Header => plain::header(&t),
        TokenFormat::ExecCredential => kubectl::exec_credential(&t, &exec_info.unwrap_or_default()),
    };
    entratool::output::stdout(&text)
}

/// The PoP claims of this call, when it wants a PoP token: the cluster's own
/// (kubectl's cluster info), else `--pop-claims`, else the profile's
/// `popClaims`. The cluster's win: they name the cluster being called, where
/// one kubeconfig user may serve many.
fn pop_claims(args: &GetTokenArgs, exec_info: Option<&ExecInfo>, profile: &Profile) -> Result<Option<PopClaims>> {
    let from_cluster = exec_info.and_then(|i| i.cluster_pop_claims.as_deref());
    let chosen = match (from_cluster, &args.pop_claims, &profile.pop_claims) {
        (Some(c), _, _) => Some((c, "the cluster's client.authentication.k8s.io/exec extension".to_string())),
        (None, Some(c), _) => Some((c.as_str(), "--pop-claims".to_string())),
        (None, None, Some(c)) => Some((c.as_str(), format!("profile '{}' (popClaims)", profile.name))),
        (None, None, None) => None,
    };
    let Some((text, from)) = chosen else { return Ok(None) };
    entratool::trace!("PoP claims from {from}");
    PopClaims::parse(text, &from).map(Some)
}

/// The `--certificate` file's password, the first line of stdin.
fn read_password() -> Result<zeroize::Zeroizing<String>> {
    super::profile_form::read_stdin_secret("certificate password")
}
