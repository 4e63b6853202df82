#!/usr/bin/env bash
# The cross toolchain of scripts/cross-check.sh and scripts/release.sh (docs/platforms.md).
#   scripts/cross-env.sh install   installs what is missing (Debian packages, as root)
#   source scripts/cross-env.sh    defines cross_cargo, build_windows, build_musl, windows_exe, musl_exe
#
# rustup cannot download other targets' standard libraries on these machines, so cross builds use
# Debian's rustc-web (1.96) with its library source (rust-web-src) and build std for the target
# (-Zbuild-std; RUSTC_BOOTSTRAP=1 lets a stable compiler take -Z flags). Debian's cargo and rustc are
# called by path, and with a CARGO_HOME of their own: in ~/.cargo/bin rustup's proxies would run
# instead (cargo runs `cargo-clippy` from CARGO_HOME/bin first). The crate registry is shared.
# ENTRATOOL_CROSS_RUSTUP=1 uses rustup's toolchain with `rustup target add` instead.

cross_packages=(rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64 musl-tools perl make
  gcc-aarch64-linux-gnu qemu-user wine64 zip)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ "${1:-}" = install ] || { echo "usage: $0 install   (or source it)" >&2; exit 2; }
  [ "${ENTRATOOL_CROSS_RUSTUP:-}" = 1 ] && cross_packages=(gcc-mingw-w64-x86-64 musl-tools perl make gcc-aarch64-linux-gnu qemu-user wine64 zip)
  missing=()
  for p in "${cross_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
      echo "missing Debian packages: ${missing[*]} (run: sudo $0 install)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  exit 0
fi

cross_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cross_target_dir=$cross_root/target/cross

# cargo for another target: Debian's toolchain with -Zbuild-std, or rustup's with the target added.
cross_cargo() {
  local sub=$1
  shift
  if [ "${ENTRATOOL_CROSS_RUSTUP:-}" = 1 ]; then
    local t
    t=$(printf '%s\n' "$@" | grep -A1 -x -- --target | tail -n1)
    rustup target add "$t" >/dev/null
    CARGO_TARGET_DIR=$cross_target_dir cargo "$sub" "$@"
    return
  fi
  local home=$cross_target_dir/cargo-home
  mkdir -p "$home"
  [ -e "$home/registry" ] || ln -s "${CARGO_HOME:-$HOME/.cargo}/registry" "$home/registry"
  env PATH=/usr/bin:/bin RUSTC_BOOTSTRAP=1 CARGO_HOME="$home" CARGO_TARGET_DIR="$cross_target_dir" \
    RUSTC=/usr/bin/rustc CLIPPY_DRIVER=/usr/bin/clippy-driver \
    /usr/bin/cargo "$sub" -Zbuild-std=std,panic_abort "$@"
}

windows_exe() { echo "$cross_target_dir/x86_64-pc-windows-gnu/release/entratool.exe"; }
musl_exe() { echo "$cross_target_dir/$1-unknown-linux-musl/release/entratool"; }

# entratool.exe with the static OpenSSL, built by mingw with stack protection and fortify (mingw's
# fortify and stack protector need libssp, linked statically).
build_windows() {
  local flags="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security"
  (
    export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
      CFLAGS_x86_64_pc_windows_gnu="$flags" \
      CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
      CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="-C link-arg=-Wl,-Bstatic -C link-arg=-lssp" \
      ENTRATOOL_HOT_PATH_ORDER=0
    cross_cargo build --quiet --release --target x86_64-pc-windows-gnu --bin entratool
  )
}

# A fully static (static-pie) musl binary with the static OpenSSL. $1: x86_64 or aarch64.
build_musl() {
  local arch=$1 flags="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fstack-clash-protection -Wformat -Werror=format-security"
  local t=${arch}-unknown-linux-musl cc
  cc=$cross_root/scripts/musl-cc.sh
  [ "$arch" = x86_64 ] && flags+=" -fcf-protection"
  local up=${t^^}
  up=${up//-/_}
  (
    export "CC_${t//-/_}=$cc" "CFLAGS_${t//-/_}=$flags" MUSL_ARCH="$arch" "CARGO_TARGET_${up}_LINKER=$cc" \
      "CARGO_TARGET_${up}_RUSTFLAGS=-C link-self-contained=no -C target-feature=+crt-static -C relocation-model=pie" \
      ENTRATOOL_HOT_PATH_ORDER=0
    cross_cargo build --quiet --release --target "$t" --bin entratool
  )
}
