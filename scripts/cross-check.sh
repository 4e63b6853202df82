#!/usr/bin/env bash
# The code behind cfg(windows) and cfg(target_os = "macos"), compiled and checked (docs/platforms.md):
#   scripts/cross-check.sh          clippy -D warnings (library, binaries, unit and integration tests) for x86_64-pc-windows-gnu, x86_64-pc-windows-msvc,
#                                   aarch64-apple-darwin and x86_64-apple-darwin (type-checks: nothing is linked)
#   scripts/cross-check.sh --wine   also builds entratool.exe (static OpenSSL, mingw) and runs the smoke
#                                   test of tests/wine/smoke.sh under wine64 against the emulator on loopback
#   scripts/cross-check.sh --build-windows   only builds dist's entratool.exe (used by scripts/release.sh)
#
# rustup cannot download other targets on these machines, so the standard library is built from source
# (-Zbuild-std) with Debian's rustc-web toolchain; where `rustup target add` works, the same commands run
# with rustup's toolchain (ENTRATOOL_CROSS_RUSTUP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-check}

if [ "$mode" = check ]; then scripts/cross-env.sh install; else scripts/cross-env.sh install full; fi
# shellcheck source=cross-env.sh
source scripts/cross-env.sh

check() {
  local target=$1
  shift
  local started=$SECONDS
  # Type-checks only: openssl-sys expands the host's OpenSSL headers (OPENSSL_NO_VENDOR) instead of
  # building OpenSSL for a target nothing here can link.
  (
    # OPENSSL_STATIC=0: no library files are looked for (the msvc names are not on a Linux host).
    export OPENSSL_NO_VENDOR=1 OPENSSL_INCLUDE_DIR=/usr/include OPENSSL_LIB_DIR=/usr/lib/x86_64-linux-gnu OPENSSL_STATIC=0 "$@"
    cross_cargo clippy --quiet --target "$target" --no-default-features --all-targets -- -D warnings
  )
  echo "cross-check: $target clippy-clean ($((SECONDS - started)) s)"
}

host_headers=-I/usr/include/x86_64-linux-gnu
if [ "$mode" != --build-windows ]; then
  check x86_64-pc-windows-gnu CFLAGS_x86_64_pc_windows_gnu=$host_headers
  # cl.exe does not exist here: the host gcc expands openssl-sys's headers for the msvc target.
  check x86_64-pc-windows-msvc CC_x86_64_pc_windows_msvc="$root/scripts/host-cc.sh" \
    CFLAGS_x86_64_pc_windows_msvc=$host_headers
  check aarch64-apple-darwin CC_aarch64_apple_darwin="$root/scripts/host-cc.sh" \
    CFLAGS_aarch64_apple_darwin=$host_headers
  check x86_64-apple-darwin CC_x86_64_apple_darwin="$root/scripts/host-cc.sh" \
    CFLAGS_x86_64_apple_darwin=$host_headers
fi

if [ "$mode" = --wine ] || [ "$mode" = --build-windows ]; then
  started=$SECONDS
  build_windows
  echo "cross-check: built $(windows_exe) ($((SECONDS - started)) s)"
fi
if [ "$mode" = --wine ]; then
  tests/wine/smoke.sh "$(windows_exe)"
fi
