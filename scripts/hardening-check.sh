#!/usr/bin/env bash
# Checks the exploit mitigations of a built entratool (docs/reliability.md, "Exploit mitigations"):
# - a position-independent executable (ELF type DYN: ASLR moves the binary and its static OpenSSL),
# - full RELRO (a GNU_RELRO segment and BIND_NOW: the GOT is read-only after start),
# - a non-executable stack (GNU_STACK without E),
# - the C code built with stack protection and fortify: the binary imports __stack_chk_fail and
#   glibc's checked __*_chk functions. Rust code imports neither, so they come from the C code
#   linked in (the static OpenSSL).
# Usage: scripts/hardening-check.sh [BINARY]   (default: target/release/entratool). Exit 1 on a miss.
#        scripts/hardening-check.sh --static BINARY   a static musl build before it is stripped
#   (scripts/release.sh): a static PIE (DYN, FLAGS_1 PIE) with no loader (no INTERP), full RELRO,
#   a non-executable stack. A static link holds musl's and libunwind's own stack-protected code, so
#   the symbol proves nothing about OpenSSL: scripts/cross-env.sh reads OpenSSL's build flags from
#   openssl-sys's build output instead. musl's headers have no fortify, so that check is the glibc
#   build's alone (docs/install.md).
set -euo pipefail
static=0
if [ "${1:-}" = --static ]; then
  static=1
  shift
fi
bin=${1:-target/release/entratool}
[ -f "$bin" ] || { echo "hardening-check: $bin does not exist (build it: cargo build --release)" >&2; exit 2; }
command -v readelf >/dev/null || { echo "hardening-check: readelf is missing (apt-get install binutils)" >&2; exit 2; }
failed=0
check() { # name, then a command that succeeds when the mitigation is there
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok    $name"; else echo "MISS  $name"; failed=1; fi
}
header=$(readelf -hW "$bin")
segments=$(readelf -lW "$bin")
dynamic=$(readelf -dW "$bin")
symbols=$(readelf --dyn-syms -W "$bin")
check "position-independent executable (ELF type DYN)" grep -q 'Type:[[:space:]]*DYN' <<<"$header"
check "RELRO segment (GNU_RELRO)" grep -q 'GNU_RELRO' <<<"$segments"
check "immediate binding (BIND_NOW)" grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dynamic"
check "non-executable stack (GNU_STACK RW)" grep -Eq 'GNU_STACK([[:space:]]+0x[0-9a-f]+){5}[[:space:]]+RW[[:space:]]' <<<"$segments"
if ((static)); then
  check "static PIE (FLAGS_1 PIE)" grep -Eq '\(FLAGS_1\).*PIE' <<<"$dynamic"
  check "no dynamic loader (no INTERP segment)" bash -c '! grep -q INTERP <<<"$1"' _ "$segments"
  check "no shared library needed (no NEEDED)" bash -c '! grep -q "(NEEDED)" <<<"$1"' _ "$dynamic"
  exit $failed
fi
check "stack protector in C code (__stack_chk_fail)" grep -q '__stack_chk_fail' <<<"$symbols"
check "fortify in C code (__*_chk)" grep -Eq ' __[a-z0-9_]+_chk(@|$)' <<<"$(grep -v __stack_chk_fail <<<"$symbols")"
exit $failed
