//! `ENTRATOOL_TRACE`: what entratool did, for the person debugging a helper
//! that runs where nobody sees its output (docs/troubleshooting.md).
//!
//! `1` or `true` traces to stderr; an absolute path appends to that file
//! (created `0600`, never through a symlink, never in a folder others can
//! write); unset, empty, `0` or `false` traces nothing. One line per event:
//! `2026-12-01T16:55:00.123Z entratool[PID] event`. A trace that cannot be
//! written never changes the outcome: one warning on stderr, then silence.
//!
//! Never traced: tokens, assertions, secrets, passwords, `Authorization` or
//! `X-IDENTITY-HEADER` values, query values of URLs ([`url_for_trace`]).
//! Callers pass only what may be shown.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// Where the trace goes, decided once from the environment.
enum Sink {
    Stderr,
    File(File),
}

static SINK: OnceLock<Option<Mutex<Sink>>> = OnceLock::new();

/// Whether tracing is on. The first call reads `ENTRATOOL_TRACE` (and opens
/// the file); every later one is a load: the hit's cost with tracing off.
pub fn enabled() -> bool {
    SINK.get_or_init(open).is_some()
}

/// Writes one event line. Use the [`trace!`](crate::trace!) macro, which
/// formats nothing when tracing is off.
pub fn write(event: std::fmt::Arguments) {
    let Some(Some(sink)) = SINK.get() else { return };
    if let Ok(mut sink) = sink.lock() {
        put(&mut sink, &event.to_string());
    }
}

/// One line, `TIME entratool[PID] event`, to the sink. A trace that cannot be
/// written changes nothing: the event is dropped.
fn put(sink: &mut Sink, event: &str) {
    let line = format!(
        "{} entratool[{}] {}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        std::process::id(),
        crate::output::one_line(event)
    );
    drop(match sink {
        Sink::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
        Sink::File(f) => f.write_all(line.as_bytes()),
    });
}

/// One trace event, formatted only when tracing is on.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            $crate::trace::write(format_args!($($arg)*));
        }
    };
}

fn open() -> Option<Mutex<Sink>> {
    let value = std::env::var_os("ENTRATOOL_TRACE")?;
    let text = value.to_string_lossy();
    let sink = match text.trim() {
        "" | "0" | "false" => return None,
        "1" | "true" => Sink::Stderr,
        _ => match open_file(Path::new(&value)) {
            Ok(f) => Sink::File(f),
            Err(why) => {
                crate::output::warn(&format!("ENTRATOOL_TRACE: not tracing to {}: {why}", Path::new(&value).display()));
                return None;
            }
        },
    };
    let mut sink = sink;
    let os = std::env::consts::OS;
    put(&mut sink, &format!("entratool {} on {os} {}", env!("CARGO_PKG_VERSION"), std::env::consts::ARCH));
    Some(Mutex::new(sink))
}

/// The trace file: an absolute path, in a folder no other user can write,
/// appended to (created `0600`), never through a symlink, a regular file of ours.
fn open_file(path: &Path) -> Result<File, String> {
    if !path.is_absolute() {
        return Err("give 1, or an absolute path".into());
    }
    let folder = path.parent().ok_or("the path names no folder")?;
    crate::fsutil::check_trusted_folder(folder).map_err(|e| e.to_string())?;
    if !folder.is_dir() {
        return Err("its folder does not exist".into());
    }
    let file = crate::fsutil::open_append_private(path).map_err(|e| e.to_string())?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err("not a regular file".into());
    }
    crate::fsutil::trusted_file(&file, path).map_err(|e| e.to_string())?;
    Ok(file)
}

/// A URL as a trace (or a message) shows it: no user name or password, and
/// the query's names, never their values (`?api-version&resource&client_id`).
pub fn url_for_trace(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Only a URL that cannot have them refuses these, and then it has none to hide.
    shown.set_username("").ok();
    shown.set_password(None).ok();
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let mut text = shown.to_string();
    if !names.is_empty() {
        text.push('?');
        text.push_str(&names.join("&"));
    }
    text
}

/// `url_for_trace` of URL text (a profile's `authorityHost`, an endpoint
/// variable). Text that is no URL is shown as it is unless it could hold
/// userinfo or a query (`@`, `?`): then by its length alone.
pub fn url_text_for_trace(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => url_for_trace(&url),
        Err(_) if !text.contains(['@', '?']) => crate::output::one_line(text),
        Err(_) => format!("(not a URL, {} characters)", text.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_values() {
        let u =
            url::Url::parse("http://169.254.169.254/metadata?api-version=2018-02-01&resource=r&client_id=c").unwrap();
        assert_eq!(url_for_trace(&u), "http://169.254.169.254/metadata?api-version&resource&client_id");
        let u = url::Url::parse("https://login.example/t/oauth2/v2.0/token").unwrap();
        assert_eq!(url_for_trace(&u), "https://login.example/t/oauth2/v2.0/token");
        let u = url::Url::parse("https://user:s3cret@host.example/x?sig=abc#frag").unwrap();
        assert_eq!(url_for_trace(&u), "https://host.example/x?sig");
    }

    /// A URL written in text (an `authorityHost`, a variable): the same rule, and
    /// text that is no URL is shown by its length alone.
    #[test]
    fn url_text_loses_userinfo_and_query_values() {
        assert_eq!(url_text_for_trace("http://u:p@127.0.0.1:9/a?b=c"), "http://127.0.0.1:9/a?b");
        assert_eq!(url_text_for_trace("not a url"), "not a url");
        assert_eq!(url_text_for_trace("https://u:p@h:99999/"), "(not a URL, 20 characters)");
    }
}
