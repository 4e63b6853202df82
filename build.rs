//! Links the entratool binary at a fixed address on Linux x86-64. A position-
//! independent executable applies its ~29,000 relative relocations at every
//! start, touching every page of .data.rel.ro: a third of a cache hit's page
//! faults and a millisecond on the hot path (docs/performance.md).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "linux" && arch == "x86_64" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
