//! Pieces every command group shares, below them all: `-p/--profile`, the
//! list format, and whether a person is at the terminal.

use clap::{Args, ValueEnum};

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

/// Both stdin and stderr are a terminal: a person can answer a prompt.
pub fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// This binary's absolute path: what the tools' configs run.
pub fn current_exe() -> entratool::error::Result<std::path::PathBuf> {
    std::env::current_exe()
        .map_err(|e| entratool::error::Error::config("cannot find the entratool binary").with_source(e))
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}
