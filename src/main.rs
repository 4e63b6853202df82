//! entratool: Entra ID access tokens, handed to the tools people already
//! use, each in its own protocol. This binary is a thin layer: it picks the
//! protocol by the name it was started as (the links `install` makes), parses
//! the command line, and turns the outcome into an exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use entratool::protocols;

fn main() -> ExitCode {
    // Not UTF-8 arguments are never ours to match; lossy text is enough to route.
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let program =
        args.first().map(std::path::Path::new).and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("");
    match program {
        "git-credential-entratool" => return cli::exit(protocols::git::run_argv(&args[1..])),
        "docker-credential-entratool" => {
            return cli::exit(protocols::docker::run(args.get(1).map(String::as_str).unwrap_or("")));
        }
        "az" => return cli::exit(protocols::az::run_shim(&args[1..])),
        "azd" => return cli::exit(protocols::az::run_azd(&args[1..])),
        _ => {}
    }
    let outcome = if args.get(1).map(String::as_str) == Some("get-token") {
        cli::run_get_token(std::env::args_os().skip(2))
    } else if args.len() == 2 && (args[1] == "--version" || args[1] == "-V") {
        // What clap prints, without building every subcommand's arguments first.
        entratool::output::stdout(&format!("entratool {}\n", env!("CARGO_PKG_VERSION"))).map(|()| ExitCode::SUCCESS)
    } else {
        cli::run(cli::Cli::parse())
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            entratool::output::print_error(&e, entratool::output::PLAIN);
            ExitCode::from(e.kind.exit_code())
        }
    }
}
