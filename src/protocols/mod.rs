//! One adapter per tool: each parses its tool's request, asks the binding for
//! a profile and the token source for a token, and formats the reply. None of
//! them knows how tokens are made, none imports the command line, and none
//! prints an error: each returns it, and `main` prints it once, in the style
//! of the entry point's [`Helper`] (docs/architecture.md).

pub mod az;
pub mod docker;
pub mod git;
pub mod kubectl;
pub mod plain;

use crate::error::{Error, Result};
use crate::output::{self, ErrorStyle};

/// How a failed helper exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitRule {
    /// Every failure exits 1: git's and docker's protocols know only "it failed".
    One,
    /// The failure's class picks the code (docs/reference.md#exit-codes), as for the plain CLI.
    ByKind,
}

impl ExitRule {
    pub fn code(self, e: &Error) -> u8 {
        match self {
            ExitRule::One => 1,
            ExitRule::ByKind => e.kind.exit_code(),
        }
    }
}

/// An entry point another tool runs: by a link of this name to entratool
/// (`entratool install`, the .deb), or as `entratool <subcommand>`. This
/// table is the one list of them: `main` dispatches on it, `install` links
/// from it, and a test checks the .deb's links against it.
pub struct Helper {
    /// The link's name, what the tool runs.
    pub name: &'static str,
    /// `entratool <subcommand> …` runs it too.
    pub subcommand: &'static str,
    /// For the trace: what entry point this is.
    pub what: &'static str,
    /// How its messages look on stderr (and stdout, for docker).
    pub style: ErrorStyle,
    pub exit: ExitRule,
    /// `install` makes its link without being asked (the shims shadow real
    /// tools, so they need `--az`/`--azd`); the .deb ships exactly these.
    pub linked_by_default: bool,
    /// Runs it with the arguments after the name (or the subcommand); the
    /// exit code on success (docker's "not found" is 1 without an error).
    pub entry: fn(&[String]) -> Result<u8>,
}

pub const HELPERS: [Helper; 4] = [
    Helper {
        name: "git-credential-entratool",
        subcommand: "git-credential",
        what: "git credential helper",
        style: output::HELPER,
        exit: ExitRule::One,
        linked_by_default: true,
        entry: git::run_argv,
    },
    Helper {
        name: "docker-credential-entratool",
        subcommand: "docker-credential",
        what: "docker credential helper",
        style: output::DOCKER,
        exit: ExitRule::One,
        linked_by_default: true,
        entry: docker::run,
    },
    Helper {
        name: "az",
        subcommand: "az",
        what: "az shim",
        style: output::AZ,
        exit: ExitRule::ByKind,
        linked_by_default: false,
        entry: az::run_shim,
    },
    Helper {
        name: "azd",
        subcommand: "azd",
        what: "azd shim",
        style: output::AZ,
        exit: ExitRule::ByKind,
        linked_by_default: false,
        entry: az::run_azd,
    },
];

/// The helper a program name (a link's file name, without `.exe`) stands for.
pub fn by_name(name: &str) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.name == name)
}

/// The helper `entratool <subcommand>` runs.
pub fn by_subcommand(subcommand: &str) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.subcommand == subcommand)
}
