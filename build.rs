//! Link settings of the entratool binary that shape a cache hit's start-up
//! (docs/performance.md). The binary stays a position-independent executable
//! with full RELRO, as Rust links it by default: exploit mitigations are never
//! traded for start-up time (scripts/hardening-check.sh checks them).
//! - Release builds, when the linker takes it (lld, Rust's default linker on
//!   x86_64-unknown-linux-gnu): `src/hot-path.order` lays out the functions a
//!   hit runs side by side, so a hit maps about 0.5 MiB of code instead of 2.2
//!   MiB scattered over 8 MB. scripts/hot-path-order.sh writes that file.
//! - ENTRATOOL_LINK_MAP=PATH writes the linker's map there (for that script).
// cargo reads a build script's stdout: println! is its protocol (clippy.toml bars these macros in entratool itself).
#![allow(clippy::disallowed_macros)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORDER_FILE: &str = "src/hot-path.order";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=ENTRATOOL_LINK_MAP");
    println!("cargo:rerun-if-env-changed=ENTRATOOL_HOT_PATH_ORDER");
    if let Ok(map) = env::var("ENTRATOOL_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map},--no-demangle");
    }
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let wanted = env::var("ENTRATOOL_HOT_PATH_ORDER").map_or(true, |v| v != "0");
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(ORDER_FILE);
    if release && wanted && order.is_file() {
        let arg = format!("-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering", order.display());
        if linker_takes(&arg) {
            println!("cargo:rustc-link-arg-bins={arg}");
        } else {
            println!(
                "cargo:warning=the linker does not take --symbol-ordering-file (not lld): the hot path is not laid out together"
            );
        }
    }
}

/// Links an empty program with `arg`, as cargo would link the binary: GNU ld
/// and gold reject --symbol-ordering-file, and a failed link is the only
/// portable way to tell.
fn linker_takes(arg: &str) -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut rustc = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc.arg(&source).arg("-o").arg(out.join("probe")).arg("-Cdebuginfo=0").arg(format!("-Clink-arg={arg}"));
    if let Ok(target) = env::var("TARGET") {
        rustc.arg("--target").arg(target);
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        rustc.arg("-C").arg(format!("linker={}", linker.to_string_lossy()));
    }
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        rustc.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    rustc.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}
