//! entratool's library: everything but the command line.
//!
//! Data flows one way: a tool's request is parsed by its adapter
//! ([`protocols`]), bound to a profile ([`binding`], [`routing`],
//! [`profile`]), and answered by the token source ([`token`]: cache, then the
//! profile's [`credential`] at Entra ID, ACR or a managed identity endpoint).
//! The adapters format the reply through [`output`]. Nothing here knows the
//! command line; the `entratool` binary is a thin layer of clap over it.
//! docs/architecture.md has the map.

pub mod binding;
pub mod claims;
pub mod clock;
pub mod codec;
pub mod credential;
pub mod entra;
pub mod error;
pub mod fsutil;
pub mod graph;
pub mod http;
pub mod net;
pub mod output;
pub mod pop;
pub mod profile;
pub mod protocols;
pub mod rotation;
pub mod routing;
pub mod token;
pub mod toolconfig;
pub mod trace;
