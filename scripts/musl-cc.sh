#!/usr/bin/env bash
# The C compiler and linker for the static musl builds (scripts/cross-env.sh build_musl): gcc with
# musl's specs (Debian's musl-tools) instead of glibc's start files and headers. MUSL_ARCH picks
# x86_64 (musl-gcc) or aarch64 (the aarch64 gcc with musl's arm64 libc, unpacked by release.sh).
set -euo pipefail
case ${MUSL_ARCH:-x86_64} in
  x86_64) exec musl-gcc "$@" ;;
  aarch64)
    specs=${MUSL_AARCH64_SPECS:?release.sh sets MUSL_AARCH64_SPECS to the arm64 musl specs}
    exec aarch64-linux-gnu-gcc -specs "$specs" "$@" ;;
  *) echo "musl-cc.sh: unknown MUSL_ARCH $MUSL_ARCH" >&2; exit 2 ;;
esac
