//! The command line: clap definitions and dispatch to one module per command group.

mod args;
mod cache;
mod cert;
mod config;
mod doctor;
mod get_token;
mod kubelogin;
mod profile_form;
mod prompt;
mod setup;
mod status;
mod token;
mod wizard;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use entratool::error::Result;

#[derive(Parser, Debug)]
#[command(
    name = "entratool",
    version,
    about = "Entra ID access tokens for service principals, handed to kubectl, git, docker and the Azure SDKs",
    long_about = "entratool gets Microsoft Entra ID access tokens for service principals, with a certificate \
                  (recommended) or a client secret, caches them on disk, and hands them to the tools that need \
                  them. Profiles live in profiles.json in the config folder ($ENTRATOOL_CONFIG_DIR or \
                  ~/.config/entratool); secrets live in the OS keyring."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, change, list and move profiles
    #[command(subcommand)]
    Config(Box<config::ConfigCommand>),
    /// Print an access token (also the kubectl exec plugin)
    GetToken(get_token::GetTokenArgs),
    /// Inspect certificates and watch their expiry
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Show or clear cached tokens
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Decode a token's claims (never printing the token)
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Every profile at a glance: method, tenant, certificate days left, cached tokens
    Status(status::StatusArgs),
    /// Wire kubectl, git or docker to entratool
    #[command(subcommand)]
    Setup(setup::SetupCommand),
    /// Create the git-credential-entratool, docker-credential-entratool (and az) links
    Install(setup::InstallArgs),
    /// git credential helper (what `git-credential-entratool` runs)
    GitCredential {
        /// The profile that answers (else $ENTRATOOL_PROFILE, else the match rules)
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: Option<String>,
        /// get, store or erase
        operation: Option<String>,
    },
    /// docker credential helper (what `docker-credential-entratool` runs)
    DockerCredential {
        /// get, store, erase, list or version
        operation: Option<String>,
    },
    /// Check config, certificates, secret store, clock and authority
    Doctor(doctor::DoctorArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Azure CLI shim: `az account get-access-token` and `az account show`
    Az {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Azure Developer CLI shim: `azd auth token`
    Azd {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

/// `entratool get-token` alone: kubectl runs it on every command, so its
/// arguments are parsed without building the whole command tree (clap builds
/// every subcommand's arguments up front; that was a fifth of a cache hit's
/// page faults). Same definition as the subcommand, so the two cannot differ.
#[derive(Parser, Debug)]
#[command(name = "entratool get-token", version, about = "Print an access token (also the kubectl exec plugin)")]
pub struct GetTokenOnly {
    #[command(flatten)]
    pub args: get_token::GetTokenArgs,
}

/// Runs `get-token` from its own arguments (after `get-token`).
pub fn run_get_token(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<ExitCode> {
    let parsed = GetTokenOnly::parse_from(std::iter::once("entratool get-token".into()).chain(args));
    get_token::run(parsed.args).map(|()| ExitCode::SUCCESS)
}

/// Runs a command; checks that fail (doctor, cert check) exit 1 without an error message of their own.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let done = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::Config(c) => done(config::run(*c)),
        Command::GetToken(a) => done(get_token::run(a)),
        Command::Cert(c) => cert::run(c),
        Command::Cache(c) => done(cache::run(c)),
        Command::Token(c) => done(token::run(c)),
        Command::Status(a) => done(status::run(a)),
        Command::Setup(c) => done(setup::run(c)),
        Command::Install(a) => done(setup::install(a)),
        Command::Doctor(a) => doctor::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "entratool", &mut text);
            done(entratool::output::stdout(&String::from_utf8_lossy(&text)))
        }
        Command::GitCredential { profile, operation } => {
            Ok(exit(entratool::protocols::git::run(profile.as_deref(), operation.as_deref().unwrap_or(""))))
        }
        Command::DockerCredential { operation } => {
            Ok(exit(entratool::protocols::docker::run(operation.as_deref().unwrap_or(""))))
        }
        Command::Az { args } => Ok(exit(entratool::protocols::az::run_shim(&args))),
        Command::Azd { args } => Ok(exit(entratool::protocols::az::run_azd(&args))),
    }
}

/// A helper's exit code (0 to 6) as the process's.
pub fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
