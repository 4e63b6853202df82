#!/usr/bin/env bash
# The C compiler and linker of the static musl builds (scripts/cross-env.sh build_musl): gcc (the
# aarch64 cross gcc for arm64) with musl's headers, start files and libc instead of glibc's, linking
# a static position-independent executable (rcrt1.o relocates it at start: ASLR with no loader),
# with full RELRO. Rust's std unwinds with LLVM's libunwind (Debian's libunwind-14-dev). rustc links
# with -nodefaultlibs, so the fortify shim goes in with the end files, after every library.
#   MUSL_ARCH     x86_64 (musl-tools, libunwind-14-dev) or aarch64 (the arm64 packages that
#                 scripts/cross-env.sh musl_root unpacks under target/cross/musl-aarch64/root)
#   MUSL_DIR      where the specs file and the fortify shim are made (target/cross/musl-ARCH)
set -euo pipefail
arch=${MUSL_ARCH:-x86_64}
dir=${MUSL_DIR:?scripts/cross-env.sh sets MUSL_DIR}
here=$(cd "$(dirname "$0")" && pwd)
case $arch in
  x86_64) root= gcc=gcc ;;
  aarch64) root=$dir/root gcc=aarch64-linux-gnu-gcc ;;
  *) echo "musl-cc.sh: unknown MUSL_ARCH $arch" >&2; exit 2 ;;
esac
inc=$root/usr/include/$arch-linux-musl
lib=$root/usr/lib/$arch-linux-musl
unwind=$root/usr/lib/llvm-14/lib
specs=$dir/static-pie.specs
shim=$dir/libfortify-shim.a
if [ ! -s "$specs" ] || [ ! -s "$shim" ]; then
  mkdir -p "$dir"
  cat > "$specs.tmp" <<SPECS
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $inc -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $inc -isystem include%s

*link_libgcc:
-L$lib -L$unwind -L .%s

*startfile:
$lib/rcrt1.o $lib/crti.o crtbeginS.o%s

*endfile:
$shim crtendS.o%s $lib/crtn.o

*link:
-nostdlib -static -pie --no-dynamic-linker -z text -z relro -z now -z noexecstack
SPECS
  "$gcc" -specs "$specs.tmp" -O2 -fPIE -c "$here/musl/fortify-shim.c" -o "$dir/fortify-shim.o"
  ar rcs "$shim.tmp" "$dir/fortify-shim.o"
  mv "$shim.tmp" "$shim"
  mv "$specs.tmp" "$specs"
fi
exec "$gcc" -specs "$specs" "$@"
