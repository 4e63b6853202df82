/* Stand-in for bcryptprimitives.dll under wine 8, which lacks it (tests/wine/smoke.sh only):
 * Rust's standard library imports ProcessPrng from it for random numbers. This one asks
 * RtlGenRandom (advapi32's SystemFunction036), which wine implements. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
