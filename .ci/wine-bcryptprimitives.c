/* wine-bcryptprimitives.c: a stand-in for bcryptprimitives.dll under Debian 12's wine 8.0, which
 * lacks it; the Go runtime (1.24 and later) calls its ProcessPrng at start-up. .ci/dist-test builds
 * it with mingw-w64 and puts it beside poplar.exe in the test's folder only: it is never shipped
 * (real Windows 8 and later have the DLL). ProcessPrng fills the buffer from BCryptGenRandom. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
