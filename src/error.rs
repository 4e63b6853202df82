//! One error type for the whole tool. Every error has a class (the exit code
//! of docs/reference.md#exit-codes), a message saying what went wrong, and, kept apart,
//! the remedy and the underlying cause, so that no code has to search or
//! rewrite message text to add or find either.

use std::fmt;

/// What went wrong, by the exit-code classes of docs/reference.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad command line or input (exit 2).
    Usage,
    /// No such profile, invalid profiles.json, unwritable folders (exit 3).
    Config,
    /// Certificate, secret or federated token missing, unreadable, expired, wrong password (exit 4).
    Credential,
    /// Entra ID (or a registry, or a managed identity endpoint) refused (exit 5).
    Rejected,
    /// Entra ID or the network could not be reached after retries (exit 6).
    Unavailable,
    /// Anything else, such as a failed write to stdout (exit 1).
    Failed,
}

impl Kind {
    /// A stable name, for failure records shared between processes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Failed => "failed",
            Kind::Usage => "usage",
            Kind::Config => "config",
            Kind::Credential => "credential",
            Kind::Rejected => "rejected",
            Kind::Unavailable => "unavailable",
        }
    }

    pub fn from_name(name: &str) -> Kind {
        [Kind::Usage, Kind::Config, Kind::Credential, Kind::Rejected, Kind::Unavailable]
            .into_iter()
            .find(|k| k.name() == name)
            .unwrap_or(Kind::Failed)
    }

    /// The kind a child entratool's exit code stands for.
    pub fn from_exit_code(code: i32) -> Kind {
        [Kind::Usage, Kind::Config, Kind::Credential, Kind::Rejected, Kind::Unavailable]
            .into_iter()
            .find(|k| i32::from(k.exit_code()) == code)
            .unwrap_or(Kind::Failed)
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::Usage => 2,
            Kind::Config => 3,
            Kind::Credential => 4,
            Kind::Rejected => 5,
            Kind::Unavailable => 6,
        }
    }
}

/// An error: its class, what went wrong, what to do next, and why (the
/// underlying error's text, when there is one).
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub remedy: Option<String>,
    pub source: Option<String>,
    /// A service asked not to be called again before this time (epoch seconds).
    pub retry_at: Option<i64>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), remedy: None, source: None, retry_at: None }
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

    /// What the user should do about it.
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }

    /// The service throttled: not to be called before `at` (epoch seconds).
    pub fn with_retry_at(mut self, at: i64) -> Self {
        self.retry_at = Some(at);
        self
    }

    /// The underlying error, shown after the message.
    pub fn with_source(mut self, source: impl fmt::Display) -> Self {
        self.source = Some(source.to_string());
        self
    }

    /// An I/O failure on a file of ours: a configuration problem with the path in it.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::config(format!("cannot {what} {}", path.display()))
            .with_source(err)
            .with_remedy("check that the folder exists and that you own it")
    }

    /// The whole report for a person: `{who}{lead}message: cause`, then the
    /// remedy on a line of its own, `{who}hint: remedy`.
    pub fn report(&self, who: &str, lead: &str) -> String {
        let mut out = format!("{who}{lead}{self}");
        if let Some(remedy) = &self.remedy {
            out.push_str(&format!("\n{who}hint: {remedy}"));
        }
        out
    }
}

/// The message and its cause; the remedy is printed apart (see `report`).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keeps_message_cause_and_remedy_apart() {
        let e = Error::config("cannot read /x").with_source("permission denied").with_remedy("chmod 600 /x");
        assert_eq!(e.to_string(), "cannot read /x: permission denied");
        assert_eq!(e.report("", "error: "), "error: cannot read /x: permission denied\nhint: chmod 600 /x");
        assert_eq!(
            e.report("entratool: ", ""),
            "entratool: cannot read /x: permission denied\nentratool: hint: chmod 600 /x"
        );
        assert_eq!(Kind::Config.exit_code(), 3);
    }
}
