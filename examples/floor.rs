//! The floor of the hot path, for scripts/bench.sh: the least any process can
//! do to answer from a cache — read one small file and print it. entratool's
//! cache hit is measured against this, not against an absolute number.

use std::io::Write;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else { return std::process::ExitCode::from(2) };
    match std::fs::read(path) {
        Ok(bytes) if std::io::stdout().write_all(&bytes).is_ok() => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}
