//! entratool: Entra ID access tokens, handed to the tools people already
//! use, each in its own protocol. This binary is a thin layer: it picks the
//! protocol by the name it was started as (the links `install` makes), parses
//! the command line, and turns the outcome into an exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use entratool::protocols;

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
    match program {
        "git-credential-entratool" => {
            entratool::trace!("entry point: git credential helper");
            return cli::exit(protocols::git::run_argv(&args[1..]));
        }
        "docker-credential-entratool" => {
            entratool::trace!("entry point: docker credential helper, operation '{first}'");
            return cli::exit(protocols::docker::run(first));
        }
        "az" => {
            entratool::trace!("entry point: az shim");
            return cli::exit(protocols::az::run_shim(&args[1..]));
        }
        "azd" => {
            entratool::trace!("entry point: azd shim");
            return cli::exit(protocols::az::run_azd(&args[1..]));
        }
        _ => {}
    }
    // The command's words, never its values (which may be paths or names, but are not needed).
    let words: Vec<&str> = args[1..].iter().map(String::as_str).take_while(|a| !a.starts_with('-')).take(2).collect();
    entratool::trace!("entry point: entratool {}", words.join(" "));
    let outcome = if first == "get-token" {
        cli::run_get_token(std::env::args_os().skip(2))
    } else if args.len() == 2 && (first == "--version" || first == "-V") {
        // What clap prints, without building every subcommand's arguments first.
        entratool::output::stdout(&format!("entratool {}\n", env!("ENTRATOOL_VERSION_LINE"))).map(|()| 0)
    } else {
        cli::run(cli::Cli::parse())
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            entratool::output::print_error(&e, entratool::output::PLAIN);
            e.kind.exit_code()
        }
    }
}
