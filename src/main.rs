//! entratool: Entra ID access tokens, handed to the tools people already
//! use, each in its own protocol. This binary is a thin layer: it picks the
//! entry point by the name it was started as (the links `install` makes) or
//! its first argument, runs it, and turns the outcome into an exit code: the
//! one place an error is printed.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use entratool::error::Result;
use entratool::output;
use entratool::protocols::{self, ExitRule};

fn main() -> ExitCode {
    let code = dispatch();
    entratool::trace!("exit {code}");
    ExitCode::from(code)
}

/// Runs what the name and arguments ask for; the process's exit code.
fn dispatch() -> u8 {
    // Not UTF-8 arguments are never ours to match; lossy text is enough to route.
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let program =
        args.first().map(std::path::Path::new).and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("");
    let first = args.get(1).map(String::as_str).unwrap_or("");
    // A helper, by its link's name, or as `entratool <subcommand>` (unless that asks for clap's help).
    let helper = protocols::by_name(program).map(|h| (h, &args[1..])).or_else(|| {
        let asks_help = matches!(args.get(2).map(String::as_str), Some("-h" | "--help"));
        protocols::by_subcommand(first).filter(|_| !asks_help).map(|h| (h, &args[2..]))
    });
    if let Some((h, rest)) = helper {
        output::speak_as(h.style);
        entratool::trace!("entry point: {}", h.what);
        return finish((h.entry)(rest), h.exit);
    }
    output::speak_as(output::PLAIN);
    // The command's words, never its values (which may be paths or names, but are not needed).
    let words: Vec<&str> = args[1..].iter().map(String::as_str).take_while(|a| !a.starts_with('-')).take(2).collect();
    entratool::trace!("entry point: entratool {}", words.join(" "));
    let outcome = if first == "get-token" {
        cli::run_get_token(std::env::args_os().skip(2))
    } else if args.len() == 2 && (first == "--version" || first == "-V") {
        // What clap prints, without building every subcommand's arguments first.
        output::stdout(&format!("entratool {}\n", env!("ENTRATOOL_VERSION_LINE"))).map(|()| 0)
    } else {
        cli::run(cli::Cli::parse())
    };
    finish(outcome, ExitRule::ByKind)
}

/// An outcome as an exit code: an error is printed once, in the style the
/// entry point set, and its code follows the entry point's rule.
fn finish(outcome: Result<u8>, exit: ExitRule) -> u8 {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            exit.code(&e)
        }
    }
}
