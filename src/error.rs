//! One error type for the whole tool. Every variant maps to an exit code of
//! the contract (§4) and every message says what to do next.

use std::fmt;

/// What went wrong, by the contract's exit-code classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad command line (exit 2).
    Usage,
    /// No such profile, invalid profiles.json, unwritable folders (exit 3).
    Config,
    /// Certificate or secret missing, unreadable, expired, wrong password (exit 4).
    Credential,
    /// Entra ID answered with an AADSTS error (exit 5).
    Rejected,
    /// Entra ID or the network could not be reached after retries (exit 6).
    Unavailable,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Usage => 2,
            Kind::Config => 3,
            Kind::Credential => 4,
            Kind::Rejected => 5,
            Kind::Unavailable => 6,
        }
    }
}

/// An error with its class and a message that already carries the remedy.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }
    pub fn credential(message: impl Into<String>) -> Self {
        Self::new(Kind::Credential, message)
    }
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(Kind::Rejected, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }

    /// An I/O failure on a file of ours: a configuration problem with the path in it.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::config(format!(
            "cannot {what} {}: {err}. Check that the folder exists and that you own it.",
            path.display()
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
