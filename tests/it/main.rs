//! entratool's integration tests: one binary, so the shared helpers in
//! `common` are compiled once. Each module drives the built binaries (and
//! the real clients) against the emulator and test servers on loopback.
// tests print freely (clippy.toml bars these macros in entratool itself).
#![allow(clippy::disallowed_macros)]
// They drive real clients, PTYs and Unix permissions: Windows is covered by tests/wine/smoke.sh
// (docs/platforms.md), so on other targets this binary is empty but still type-checks.
#![cfg(unix)]

mod arc;
mod azure_identity;
mod clients;
mod common;
mod config;
mod diagnostics;
mod hardening;
mod hardening3;
mod hostile;
mod interactive;
mod keyring;
mod kuberc;
mod mi_federation;
mod msal;
mod protocols;
mod rotation;
mod secretless;
mod soak;
mod token;
mod trace;
mod truth;
