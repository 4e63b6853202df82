#!/usr/bin/env bash
# The linker of the Windows build (scripts/cross-env.sh build_windows; named *-gcc so that rustc
# passes gcc's flags, not ld's): mingw's gcc, with libssp (the stack protector and fortify of
# OpenSSL's C code) linked statically, so entratool.exe needs no
# libssp-0.dll. A folder holding only the static archives comes first on the search path; libssp.a
# calls into msvcrt and advapi32, which are named again after it.
set -euo pipefail
dir=${MINGW_SSP_DIR:?scripts/cross-env.sh sets MINGW_SSP_DIR}
if [ ! -s "$dir/libssp.a" ]; then
  mkdir -p "$dir"
  gcc_dir=$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")
  cp "$gcc_dir/libssp.a" "$gcc_dir/libssp_nonshared.a" "$dir/"
fi
exec x86_64-w64-mingw32-gcc -L "$dir" "$@" -lmsvcrt -ladvapi32
