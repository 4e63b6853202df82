#!/usr/bin/env bash
# The cross toolchain of scripts/cross-check.sh and scripts/release.sh (docs/platforms.md).
#   scripts/cross-env.sh install [full]   installs what is missing (Debian packages, as root);
#                                         full: also the Windows, aarch64 and release-check tools
#   source scripts/cross-env.sh    defines cross_cargo, build_windows, build_musl, windows_exe, musl_exe
#
# rustup cannot download other targets' standard libraries on these machines, so cross builds use
# Debian's rustc-web (1.96) with its library source (rust-web-src) and build std for the target
# (-Zbuild-std; RUSTC_BOOTSTRAP=1 lets a stable compiler take -Z flags). Debian's cargo and rustc are
# called by path, and with a CARGO_HOME of their own: in ~/.cargo/bin rustup's proxies would run
# instead (cargo runs `cargo-clippy` from CARGO_HOME/bin first). The crate registry is shared.
# ENTRATOOL_CROSS_RUSTUP=1 uses rustup's toolchain with `rustup target add` instead.

# What the clippy checks, the x86_64 musl build and its tests need (scripts/test.sh runs those) ...
cross_packages=(rustc-web cargo-web rust-web-src rust-web-clippy musl-tools libunwind-14-dev perl make file man-db gcc-mingw-w64-x86-64)
# ... and what only the Windows build, the aarch64 build and the release check add.
full_packages=(gcc-aarch64-linux-gnu qemu-user wine64 zip unzip debootstrap)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ "${1:-}" = install ] || { echo "usage: $0 install [full]   (or source it)" >&2; exit 2; }
  [ "${ENTRATOOL_CROSS_RUSTUP:-}" = 1 ] && cross_packages=("${cross_packages[@]:4}")
  [ "${2:-}" = full ] && cross_packages+=("${full_packages[@]}")
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

# entratool.exe with the static OpenSSL, built by mingw with stack protection and fortify (their
# runtime, libssp, linked statically by scripts/mingw-gcc.sh). Checked: it imports no libssp DLL.
build_windows() {
  local flags="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security"
  (
    export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
      CFLAGS_x86_64_pc_windows_gnu="$flags" MINGW_SSP_DIR="$cross_target_dir/mingw-ssp" \
      CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="$cross_root/scripts/mingw-gcc.sh" ENTRATOOL_HOT_PATH_ORDER=0
    cross_cargo build --quiet --release --target x86_64-pc-windows-gnu --bin entratool
  )
  local dlls
  dlls=$(x86_64-w64-mingw32-objdump -p "$(windows_exe)" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')
  if grep -qi ssp <<<"$dlls"; then
    echo "build_windows: entratool.exe imports libssp: $dlls" >&2
    return 1
  fi
  grep -qs -- '-fstack-protector-strong' "$cross_target_dir"/x86_64-pc-windows-gnu/release/build/openssl-sys-*/output || {
    echo "build_windows: OpenSSL was not built with -fstack-protector-strong" >&2
    return 1
  }
  echo "ok    entratool.exe: OpenSSL built with -fstack-protector-strong -D_FORTIFY_SOURCE=2; DLLs: $dlls" >&2
}

# A fully static (static-pie) musl binary with the static OpenSSL. $1: x86_64 or aarch64.
# OpenSSL is built with Debian's hardening flags; musl's headers have no fortify (_FORTIFY_SOURCE
# is a no-op there: docs/install.md), the stack protector and the rest apply.
build_musl() {
  local arch=$1 flags="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fstack-clash-protection -Wformat -Werror=format-security"
  local t=${arch}-unknown-linux-musl cc=$cross_root/scripts/musl-cc.sh
  [ "$arch" = x86_64 ] && flags+=" -fcf-protection"
  [ "$arch" = aarch64 ] && musl_root_aarch64
  local up=${t^^}
  up=${up//-/_}
  (
    export "CC_${t//-/_}=$cc" "CFLAGS_${t//-/_}=$flags" "AR_${t//-/_}=ar" MUSL_ARCH="$arch" \
      MUSL_DIR="$cross_target_dir/musl-$arch" "CARGO_TARGET_${up}_LINKER=$cc" \
      "CARGO_TARGET_${up}_RUSTFLAGS=-C link-self-contained=no -C target-feature=+crt-static -C relocation-model=pie" \
      ENTRATOOL_HOT_PATH_ORDER=0 CARGO_PROFILE_RELEASE_STRIP=false
    cross_cargo build --quiet --release --target "$t" --bin entratool
  )
}

# The static musl binary as shipped: checked (scripts/hardening-check.sh --static needs its symbols),
# then stripped. $1: x86_64 or aarch64; prints the stripped binary's path.
shipped_musl() {
  local arch=$1 built out strip=strip
  built=$(musl_exe "$arch")
  out=$cross_target_dir/musl-$arch/entratool
  [ "$arch" = aarch64 ] && strip=aarch64-linux-gnu-strip
  "$cross_root/scripts/hardening-check.sh" --static "$built" >&2
  # OpenSSL's C code was compiled with the hardening flags (openssl-src prints its compiler flags).
  grep -qs -- '-fstack-protector-strong' "$cross_target_dir/$arch-unknown-linux-musl"/release/build/openssl-sys-*/output || {
    echo "release: OpenSSL for $arch was not built with -fstack-protector-strong" >&2
    return 1
  }
  echo "ok    OpenSSL built with -fstack-protector-strong ($arch)" >&2
  "$strip" -o "$out" "$built"
  echo "$out"
}

# musl's arm64 libc, headers and start files and LLVM's arm64 libunwind, unpacked from Debian's
# arm64 packages (apt-get download: nothing arm64 is installed on the machine).
musl_root_aarch64() {
  local dir=$cross_target_dir/musl-aarch64
  [ -s "$dir/root/usr/lib/aarch64-linux-musl/libc.a" ] && [ -s "$dir/root/usr/lib/llvm-14/lib/libunwind.a" ] && return
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  mkdir -p "$dir/debs" "$dir/root"
  (cd "$dir/debs" && apt-get download -qq musl:arm64 musl-dev:arm64 libunwind-14-dev:arm64)
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
}
