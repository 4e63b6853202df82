#!/usr/bin/env bash
# The host's gcc standing in for another target's C compiler in type-checks (scripts/cross-check.sh):
# openssl-sys only expands its headers there, nothing is linked. Target-only flags are dropped.
args=()
skip=0
for a in "$@"; do
  if ((skip)); then skip=0; continue; fi
  case $a in
    -arch | -isysroot) skip=1 ;;
    -mmacosx-version-min=* | -mtargetos=* | --target=* | -m64) ;;
    *) args+=("$a") ;;
  esac
done
exec gcc "${args[@]}"
