//! The command line: clap definitions and dispatch to one module per command group.

mod args;
mod cache;
mod cert;
mod completions;
mod config;
mod doctor;
mod get_token;
mod install;
mod kubelogin;
mod profile_form;
mod prompt;
mod setup;
mod status;
mod token;
mod wizard;

use clap::{Parser, Subcommand};

use entratool::error::Result;

#[derive(Parser, Debug)]
#[command(
    name = "entratool",
    version = env!("ENTRATOOL_VERSION_LINE"),
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
    Install(install::InstallArgs),
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
        /// The shell: bash, zsh, fish, powershell or elvish
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (entratool.1 and one per command) into a folder; release builds run it
    #[command(hide = true)]
    Manpages {
        /// The folder to write into (created when missing)
        dir: std::path::PathBuf,
    },
    /// Azure CLI shim: `az account get-access-token` and `az account show`
    Az {
        /// The arguments az (or azd) would get, e.g. account get-access-token --resource R
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Azure Developer CLI shim: `azd auth token`
    Azd {
        /// The arguments az (or azd) would get, e.g. account get-access-token --resource R
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

/// `entratool get-token` alone: kubectl runs it on every command, so its
/// arguments are parsed without building the whole command tree (clap builds
/// every subcommand's arguments up front; that was a fifth of a cache hit's
/// page faults). Same definition as the subcommand, so the two cannot differ.
#[derive(Parser, Debug)]
#[command(name = "entratool get-token", version = env!("ENTRATOOL_VERSION_LINE"), about = "Print an access token (also the kubectl exec plugin)")]
pub struct GetTokenOnly {
    #[command(flatten)]
    pub args: get_token::GetTokenArgs,
}

/// Runs `get-token` from its own arguments (after `get-token`).
pub fn run_get_token(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<u8> {
    let parsed = GetTokenOnly::parse_from(std::iter::once("entratool get-token".into()).chain(args));
    get_token::run(parsed.args).map(|()| 0)
}

/// Runs a command; checks that fail (doctor, cert check) exit 1 without an error message of their own.
pub fn run(cli: Cli) -> Result<u8> {
    let done = |r: Result<()>| r.map(|()| 0);
    match cli.command {
        Command::Config(c) => done(config::run(*c)),
        Command::GetToken(a) => done(get_token::run(a)),
        Command::Cert(c) => cert::run(c),
        Command::Cache(c) => done(cache::run(c)),
        Command::Token(c) => done(token::run(c)),
        Command::Status(a) => done(status::run(a)),
        Command::Setup(c) => done(setup::run(c)),
        Command::Install(a) => done(install::run(a)),
        Command::Doctor(a) => doctor::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            done(entratool::output::stdout(&completions::script(shell, &mut Cli::command())))
        }
        Command::Manpages { dir } => done(write_manpages(&dir)),
        // `main` runs the helpers from protocols::HELPERS before clap; these definitions give
        // them --help, completions and man pages, and run the same entries.
        Command::GitCredential { profile, operation } => {
            let mut args: Vec<String> = profile.map(|p| vec!["-p".into(), p]).unwrap_or_default();
            args.extend(operation);
            entratool::protocols::git::run_argv(&args)
        }
        Command::DockerCredential { operation } => entratool::protocols::docker::run(&Vec::from_iter(operation)),
        Command::Az { args } => entratool::protocols::az::run_shim(&args),
        Command::Azd { args } => entratool::protocols::az::run_azd(&args),
    }
}

/// `entratool(1)` and a page for every visible command at every depth
/// (`entratool-config(1)`, `entratool-config-edit(1)`, …: each page's SEE ALSO
/// names its subcommands' pages, so every page named exists), from the same
/// clap definitions as `--help` (clap_mangen): scripts/release.sh runs this on
/// the binary it ships.
fn write_manpages(dir: &std::path::Path) -> Result<()> {
    use clap::CommandFactory;
    use entratool::error::Error;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    // No `help` subcommands: a page would name `entratool-cache-help(1)`, which nobody needs.
    let mut top = Cli::command().version(env!("CARGO_PKG_VERSION")).disable_help_subcommand(true);
    top.build();
    let mut pages = Vec::new();
    collect_pages(&top, "entratool", &mut pages);
    for (name, page) in pages {
        let mut text = Vec::new();
        let path = dir.join(format!("{name}.1"));
        clap_mangen::Man::new(page).render(&mut text).map_err(|e| Error::io("render", &path, e))?;
        // Documentation for everyone: the umask's mode (0644), not a private file's.
        std::fs::write(&path, &text).map_err(|e| Error::io("write", &path, e))?;
    }
    Ok(())
}

/// `cmd`'s page as `name`, then its visible subcommands' as `name-sub`.
fn collect_pages(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, clap::Command)>) {
    let bin = name.replace('-', " ");
    let page = cmd.clone().display_name(name.to_string()).bin_name(bin).version(env!("CARGO_PKG_VERSION"));
    pages.push((name.to_string(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        collect_pages(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag and argument of every command says what it is for.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = ["help", "version"].contains(&arg.get_id().as_str());
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() && !arg.is_hide_set() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "entratool", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }
}
