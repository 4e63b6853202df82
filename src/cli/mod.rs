//! The command line: clap definitions and dispatch to one module per command group.

mod cache;
mod cert;
mod config;
mod doctor;
mod get_token;
mod prompt;
mod setup;
mod wizard;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::profile::{self, Profile, ProfilesDoc};

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
    /// Wire kubectl, git or docker to entratool
    #[command(subcommand)]
    Setup(setup::SetupCommand),
    /// Create the git-credential-entratool, docker-credential-entratool (and az) links
    Install(setup::InstallArgs),
    /// git credential helper (what `git-credential-entratool` runs)
    GitCredential {
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
}

/// `-p/--profile`, shared by most commands.
#[derive(Args, Debug, Clone, Default)]
pub struct ProfileArg {
    /// Profile name (else $ENTRATOOL_PROFILE, else defaultProfile)
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Config(c) => config::run(*c),
        Command::GetToken(a) => get_token::run(a),
        Command::Cert(c) => cert::run(c),
        Command::Cache(c) => cache::run(c),
        Command::Setup(c) => setup::run(c),
        Command::Install(a) => setup::install(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "entratool", &mut std::io::stdout());
            Ok(())
        }
        Command::GitCredential { profile, operation } => {
            std::process::exit(crate::protocols::git::run(profile.as_deref(), operation.as_deref().unwrap_or("")))
        }
        Command::DockerCredential { operation } => {
            std::process::exit(crate::protocols::docker::run(operation.as_deref().unwrap_or("")))
        }
        Command::Az { args } => std::process::exit(crate::protocols::az::run_shim(&args)),
    }
}

/// The profile name a command should use: explicit, else the environment,
/// else the file's default.
pub fn chosen_profile_name(explicit: Option<&str>, doc: &ProfilesDoc) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("ENTRATOOL_PROFILE").ok().filter(|v| !v.is_empty()))
        .or_else(|| doc.default_profile.clone())
}

/// Loads profiles.json and picks the profile for a command that needs exactly one.
pub fn load_profile(explicit: Option<&str>) -> Result<(profile::Store, Profile)> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let name = chosen_profile_name(explicit, &doc).ok_or_else(|| {
        Error::config(format!(
            "no profile chosen: pass -p NAME, set ENTRATOOL_PROFILE, or set defaultProfile with \
             `entratool config edit -p NAME --set-default` (profiles: {})",
            if doc.profiles.is_empty() { "none yet".to_string() } else { doc.names().join(", ") }
        ))
    })?;
    let profile = doc.get(&name, &store.path)?.clone();
    Ok((store, profile))
}

/// Prints warnings on stderr unless silenced.
pub fn print_warnings(warnings: &[String], silent: bool) {
    if silent {
        return;
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

pub fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Writes `text` to FILE (0600, atomically) or stdout.
pub fn write_output(file: Option<&PathBuf>, text: &str) -> Result<()> {
    match file {
        Some(path) => crate::fsutil::atomic_write(path, text.as_bytes()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(())
        }
    }
}

/// Pads columns for a plain table.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().enumerate().map(|(i, cell)| format!("{cell:<w$}", w = widths[i])).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
