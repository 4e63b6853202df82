//! Link settings of the entratool binary that shape a cache hit's start-up
//! (docs/performance.md). The binary stays a position-independent executable
//! with full RELRO, as Rust links it by default: exploit mitigations are never
//! traded for start-up time (scripts/hardening-check.sh checks them).
//! - Linux: the PIE's relative relocations packed as RELR, where the build
//!   machine's loader runs a probe linked that way.
//! - Release builds, when the linker takes it (lld, Rust's default linker on
//!   x86_64-unknown-linux-gnu): `packaging/hot-path.order` lays out the functions a
//!   hit runs side by side (its effect: docs/performance.md).
//!   scripts/hot-path-order.sh writes that file; scripts/test.sh checks that
//!   it still names the link's functions.
//! - ENTRATOOL_LINK_MAP=PATH writes the linker's map there (for that script).
// cargo reads a build script's stdout: println! is its protocol (clippy.toml bars these macros in entratool itself).
#![allow(clippy::disallowed_macros)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORDER_FILE: &str = "packaging/hot-path.order";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=ENTRATOOL_LINK_MAP");
    println!("cargo:rerun-if-env-changed=ENTRATOOL_HOT_PATH_ORDER");
    version_line();
    if let Ok(map) = env::var("ENTRATOOL_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map},--no-demangle");
    }
    // The PIE's ~29,000 relative relocations as a packed RELR table (a few KiB instead of 700 KB
    // of .rela.dyn that every start reads): the PIE's start-up cost, won back without giving up
    // ASLR. The loader must know DT_RELR (glibc 2.36+): the probe is linked and run here, so a
    // machine whose glibc cannot load it builds without it.
    if env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        let relr = "-Wl,-z,pack-relative-relocs";
        if probe(relr).is_some_and(|bin| runs_here(&bin)) {
            println!("cargo:rustc-link-arg-bins={relr}");
        }
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
    probe(arg).is_some()
}

/// `entratool --version`: the version, the commit it was built from and the
/// target, as `0.1.0 (commit 1a2b3c4d5e6f, x86_64-unknown-linux-musl)`.
/// `ENTRATOOL_COMMIT` names the commit where there is no git checkout (a
/// source tarball); otherwise `git rev-parse`, else "unknown".
fn version_line() {
    println!("cargo:rerun-if-env-changed=ENTRATOOL_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/logs/HEAD");
    let commit = env::var("ENTRATOOL_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).stderr(Stdio::null()).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    });
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    let commit = commit.unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ENTRATOOL_VERSION_LINE={version} (commit {commit}, {target})");
}

/// Whether a probe runs on this machine (built for it: the host is the target).
fn runs_here(bin: &Path) -> bool {
    env::var("HOST").ok() == env::var("TARGET").ok()
        && Command::new(bin).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The probe program linked with `arg`, when the link succeeds.
fn probe(arg: &str) -> Option<PathBuf> {
    let out = env::var_os("OUT_DIR").map(PathBuf::from)?;
    let name: String = arg.chars().filter(char::is_ascii_alphanumeric).collect();
    let source = out.join("probe.rs");
    std::fs::write(&source, "fn main() {}\n").ok()?;
    let bin = out.join(format!("probe-{name}"));
    let mut rustc = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc.arg(&source).arg("-o").arg(&bin).arg("-Cdebuginfo=0").arg(format!("-Clink-arg={arg}"));
    if let Ok(target) = env::var("TARGET") {
        rustc.arg("--target").arg(target);
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        rustc.arg("-C").arg(format!("linker={}", linker.to_string_lossy()));
    }
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        rustc.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    let linked = rustc.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    linked.then_some(bin)
}
