//! entratool: Entra ID access tokens for service principals, handed to the
//! tools people already use, each in its own protocol.

mod cli;
mod credential;
mod error;
mod fsutil;
mod http;
mod profile;
mod protocols;
mod routing;
mod token;

use clap::Parser;

fn main() {
    // Dispatch on the name we were started as (symlinks made by `install`).
    let args: Vec<String> = std::env::args().collect();
    let program =
        args.first().map(std::path::Path::new).and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("");
    match program {
        "git-credential-entratool" => std::process::exit(protocols::git::run_argv(&args[1..])),
        "docker-credential-entratool" => {
            std::process::exit(protocols::docker::run(args.get(1).map(String::as_str).unwrap_or("")))
        }
        "az" => std::process::exit(protocols::az::run_shim(&args[1..])),
        _ => {}
    }
    let cli = cli::Cli::parse();
    if let Err(e) = cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.kind.exit_code());
    }
}
