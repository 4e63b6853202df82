//! Writing what people and tools read, for the adapters and the command line
//! alike: stdout (a closed pipe is silent, any other failure is an error),
//! files (atomic, 0600), pretty JSON, times, and warnings with one prefix.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::{Error, Kind, Result};

/// Writes `text` to stdout. A reader that went away (`| head`) is not worth
/// a message; a full disk or a closed descriptor is.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::new(Kind::Failed, "cannot write the output").with_source(e))
        }
        _ => Ok(()),
    }
}

/// Writes `text` to FILE (0600, atomically) or to stdout.
pub fn to_file_or_stdout(file: Option<&Path>, text: &str) -> Result<()> {
    match file {
        Some(path) => crate::fsutil::replace_keeping_link(path, text.as_bytes()),
        None => stdout(text),
    }
}

/// Pretty JSON and a newline. Serialising a `Value` cannot fail.
pub fn pretty(v: &serde_json::Value) -> String {
    let mut s = format!("{v:#}");
    s.push('\n');
    s
}

/// The prefix of every warning entratool prints, whoever ran it.
pub const WARNING: &str = "entratool: warning: ";

/// How an entry point shows an error on stderr: each line's prefix and the
/// first line's lead. The remedy always follows on a line of its own
/// (`hint: …`), never inside the message.
#[derive(Debug, Clone, Copy)]
pub struct ErrorStyle {
    who: &'static str,
    lead: &'static str,
}

/// The plain CLI: `error: …`, then `hint: …`.
pub const PLAIN: ErrorStyle = ErrorStyle { who: "", lead: "error: " };
/// git's and docker's helpers: every line `entratool: …`, so a person reading
/// git's or docker's output knows who spoke.
pub const HELPER: ErrorStyle = ErrorStyle { who: "entratool: ", lead: "" };
/// The az and azd shims: `ERROR: …`, as az prints it (the SDKs show that text).
pub const AZ: ErrorStyle = ErrorStyle { who: "", lead: "ERROR: " };

/// The one way an error reaches a person: message and cause, then the remedy.
pub fn print_error(e: &Error, style: ErrorStyle) {
    stderr_line(&e.report(style.who, style.lead));
}

/// Prints warnings on stderr, unless silenced (`--silent`).
pub fn warn_all(warnings: &[String], silent: bool) {
    if silent {
        return;
    }
    for w in warnings {
        stderr_line(&format!("{WARNING}{w}"));
    }
}

/// Writes `text` and a newline to stderr, control characters escaped. A
/// closed or full stderr loses the line and nothing else: a message about an
/// outcome never changes the outcome (`eprintln!` would panic, exit 101).
pub fn stderr_line(text: &str) {
    // Nothing to fall back to: stderr is where failures would be reported.
    line_or_nothing(std::io::stderr().lock(), text);
}

/// `text`, control characters escaped, and a newline; a failed write is dropped.
fn line_or_nothing(mut to: impl Write, text: &str) {
    let mut line = escape_controls(text).into_owned();
    line.push('\n');
    drop(to.write_all(line.as_bytes()).and_then(|()| to.flush()));
}

/// `text` with every control character but newline and tab written as
/// `\u{..}`: a profile name, claim or server message can then never move the
/// cursor, change colours or retitle the terminal of whoever reads it.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `text` on one line of its own: also newlines and tabs escaped (table cells, claims).
pub fn one_line(text: &str) -> String {
    escape_controls(text).replace('\n', "\\n").replace('\t', "\\t")
}

/// `eprintln!` that never panics: see [`stderr_line`].
#[macro_export]
macro_rules! ewriteln {
    ($($arg:tt)*) => { $crate::output::stderr_line(&format!($($arg)*)) };
}

/// A human message on stdout (`✓ Profile created`), control characters
/// escaped. A closed stdout loses the message, never the outcome: output a
/// script reads (tokens, JSON, tables) goes through [`stdout`], which reports
/// every failure but a reader that went away.
pub fn message_line(text: &str) {
    // The outcome is the exit code; a message that cannot be shown changes nothing.
    line_or_nothing(std::io::stdout().lock(), text);
}

/// `println!` for human messages that never panics: see [`message_line`].
#[macro_export]
macro_rules! outln {
    () => { $crate::output::message_line("") };
    ($($arg:tt)*) => { $crate::output::message_line(&format!($($arg)*)) };
}

/// The time of `epoch`; beyond what a date can show, the nearest date that can be.
pub fn utc(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or(if epoch > 0 {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// `2026-11-26T17:40:00Z`
pub fn rfc3339_utc(epoch: i64) -> String {
    utc(epoch).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Pads columns for a plain table.
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| one_line(c)).collect()).collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().enumerate().map(|(i, cell)| format!("{cell:<w$}", w = widths[i])).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_serde_pretty() {
        let v = serde_json::json!({"a": [1, 2], "b": {"c": "d"}});
        assert_eq!(pretty(&v), format!("{}\n", serde_json::to_string_pretty(&v).unwrap()));
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(escape_controls("\u{1b}]0;pwned\u{7}x\r"), "\\u{1b}]0;pwned\\u{7}x\\u{d}");
        assert_eq!(escape_controls("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(table(&[vec!["\u{1b}[2J".into(), "x".into()]]), "\\u{1b}[2J  x\n");
    }
}
