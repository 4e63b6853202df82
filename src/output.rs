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
        Some(path) => crate::fsutil::atomic_write(path, text.as_bytes()),
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

/// Prints warnings on stderr, unless silenced (`--silent`).
pub fn warn_all(warnings: &[String], silent: bool) {
    if silent {
        return;
    }
    for w in warnings {
        eprintln!("{WARNING}{w}");
    }
}

pub fn utc(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// `2026-11-26T17:40:00Z`
pub fn rfc3339_utc(epoch: i64) -> String {
    utc(epoch).format("%Y-%m-%dT%H:%M:%SZ").to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_serde_pretty() {
        let v = serde_json::json!({"a": [1, 2], "b": {"c": "d"}});
        assert_eq!(pretty(&v), format!("{}\n", serde_json::to_string_pretty(&v).unwrap()));
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    }
}
