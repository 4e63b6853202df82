//! entratool: Entra ID access tokens for service principals, handed to the
//! tools people already use, each in its own protocol.

mod cli;
mod credential;
mod error;
mod fsutil;
mod http;
mod profile;
mod protocols;
mod token;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.kind.exit_code());
    }
}
