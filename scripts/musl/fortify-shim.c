/* The one glibc fortify entry point that Debian's static LLVM libunwind (libunwind-14-dev, built
 * with -D_FORTIFY_SOURCE=2 against glibc) calls, for the static musl builds (scripts/musl-cc.sh):
 * musl has no __*_chk functions. The check glibc adds here (%n in a writable format) cannot
 * apply to libunwind's constant formats. */
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *stream, int flag, const char *format, ...) {
    (void)flag;
    va_list args;
    va_start(args, format);
    int written = vfprintf(stream, format, args);
    va_end(args);
    return written;
}
