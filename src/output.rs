//! Writing what people and tools read, for the adapters and the command line
//! alike: stdout (a closed pipe is silent, any other failure is an error),
//! pretty JSON, times, tables, and every message on stderr in one shape
//! (docs/reference.md#messages): `error: …`, `warning: …` or `note: …`, the
//! remedy on a line of its own (`hint: …`), each line led by `entratool: `
//! when entratool speaks inside another tool's output (git, docker).

use std::io::Write;
use std::sync::OnceLock;

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

/// Pretty JSON and a newline. Serialising a `Value` cannot fail.
pub fn pretty(v: &serde_json::Value) -> String {
    let mut s = format!("{v:#}");
    s.push('\n');
    s
}

/// How an entry point shows messages on stderr: each line's prefix (who
/// speaks), the first line's lead for an error, and whether an error's first
/// line is also the protocol's answer on stdout (docker's helpers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorStyle {
    who: &'static str,
    lead: &'static str,
    stdout_line: bool,
}

/// The plain CLI and kubectl's exec plugin: `error: …`, then `hint: …`.
pub const PLAIN: ErrorStyle = ErrorStyle { who: "", lead: "error: ", stdout_line: false };
/// git's helper: every line `entratool: …`, so a person reading git's output knows who spoke.
pub const HELPER: ErrorStyle = ErrorStyle { who: "entratool: ", lead: "error: ", stdout_line: false };
/// docker's helper: as git's, and the error's first line on stdout too, which
/// docker shows as the helper's answer (docker-credential-helpers' protocol).
pub const DOCKER: ErrorStyle = ErrorStyle { who: "entratool: ", lead: "error: ", stdout_line: true };
/// The az and azd shims: `ERROR: …`, as az prints it (the SDKs show that text).
pub const AZ: ErrorStyle = ErrorStyle { who: "", lead: "ERROR: ", stdout_line: false };

static STYLE: OnceLock<ErrorStyle> = OnceLock::new();

/// Sets how this process speaks (once, by `main`, from its entry point).
pub fn speak_as(style: ErrorStyle) {
    // The first entry point to speak decides; a later call changes nothing.
    STYLE.set(style).ok();
}

fn style() -> ErrorStyle {
    STYLE.get().copied().unwrap_or(PLAIN)
}

/// The one way an error reaches a person: message and cause, then the
/// remedy, in the entry point's style. Server text in it is shown without
/// the secrets a server may echo.
pub fn print_error(e: &crate::error::Error) {
    let style = style();
    if style.stdout_line {
        let first = e.to_string();
        let line = one_line(&redact(first.lines().next().unwrap_or("")));
        // The protocol's answer; if stdout is gone, stderr below still says it.
        drop(stdout(&format!("{line}\n")));
    }
    stderr_line(&redact(&e.report(style.who, style.lead)));
}

/// A warning on stderr: `warning: …` (led by who speaks), on one line.
pub fn warn(text: &str) {
    let text = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    stderr_line(&redact(&format!("{}warning: {text}", style().who)));
}

/// A note on stderr: `note: …`, for what a person should know but need not act on.
pub fn note(text: &str) {
    stderr_line(&format!("{}note: {text}", style().who));
}

/// Prints warnings on stderr, unless silenced (`--silent`).
pub fn warn_all(warnings: &[String], silent: bool) {
    if !silent {
        warnings.iter().for_each(|w| warn(w));
    }
}

/// The values of form fields that hold secrets (`client_secret=…`,
/// `client_assertion=…`, tokens, passwords), as a server may echo a request
/// in its error text, replaced by `********`.
pub fn redact(text: &str) -> String {
    const FIELDS: [&str; 7] = [
        "client_secret=",
        "client_assertion=",
        "assertion=",
        "access_token=",
        "refresh_token=",
        "password=",
        "secret=",
    ];
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit =
            FIELDS.iter().find(|f| lower[i..].starts_with(*f) && (i == 0 || !is_name_byte(lower.as_bytes()[i - 1])));
        match hit {
            Some(field) => {
                out.push_str(&text[i..i + field.len()]);
                i += field.len();
                let value_end = text[i..].find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace());
                let end = value_end.map_or(text.len(), |n| i + n);
                if end > i {
                    out.push_str("********");
                }
                i = end;
            }
            None => {
                let c = text[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
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
/// cursor, change colours or retitle the terminal of whoever reads it. The
/// bidirectional overrides and isolates are escaped too, so no text can show
/// reversed (CVE-2021-42574's trick).
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
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

/// The Unicode bidirectional formatting characters: embeddings, overrides,
/// isolates and the implicit marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
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
        assert_eq!(escape_controls("abc\u{202e}fed\u{2066}"), "abc\\u{202e}fed\\u{2066}");
    }

    #[test]
    fn secrets_a_server_echoes_are_redacted() {
        assert_eq!(
            redact("bad request: client_id=c&client_secret=s3cr3t&scope=x"),
            "bad request: client_id=c&client_secret=********&scope=x"
        );
        assert_eq!(redact("echo: Client_Assertion=eyJ.a.b end"), "echo: Client_Assertion=******** end");
        assert_eq!(redact("\"password=hunter2\""), "\"password=********\"");
        assert_eq!(redact("my_password=x"), "my_password=x", "only whole field names");
        assert_eq!(redact("no secrets here ✓"), "no secrets here ✓");
        assert_eq!(redact("client_secret="), "client_secret=");
    }
}
