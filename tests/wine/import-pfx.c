/* Imports a PFX with its key into CurrentUser\My, as Import-PfxCertificate does (tests/wine/smoke.sh):
 *   import-pfx.exe FILE.pfx PASSWORD
 * The key goes to a CNG provider when the system has one (PKCS12_PREFER_CNG_KSP). */
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>

#ifndef PKCS12_PREFER_CNG_KSP
#define PKCS12_PREFER_CNG_KSP 0x00000100
#endif

int wmain(int argc, wchar_t **argv) {
    if (argc != 3) { fwprintf(stderr, L"usage: import-pfx FILE.pfx PASSWORD\n"); return 2; }
    HANDLE f = CreateFileW(argv[1], GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE) { fwprintf(stderr, L"CreateFileW: %lu\n", GetLastError()); return 1; }
    static BYTE bytes[1 << 20];
    DWORD n = 0;
    if (!ReadFile(f, bytes, sizeof bytes, &n, NULL)) { fwprintf(stderr, L"ReadFile: %lu\n", GetLastError()); return 1; }
    CloseHandle(f);
    CRYPT_DATA_BLOB blob = { n, bytes };
    HCERTSTORE pfx = PFXImportCertStore(&blob, argv[2], CRYPT_USER_KEYSET | PKCS12_PREFER_CNG_KSP);
    if (!pfx) {
        /* Wine knows no CNG key storage provider flag: the key goes to its CryptoAPI provider. */
        fwprintf(stderr, L"PFXImportCertStore(PKCS12_PREFER_CNG_KSP): error %lu; ", GetLastError());
        pfx = PFXImportCertStore(&blob, argv[2], CRYPT_USER_KEYSET);
    }
    if (!pfx) { fwprintf(stderr, L"PFXImportCertStore: error %lu\n", GetLastError()); return 1; }
    HCERTSTORE my = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"My");
    if (!my) { fwprintf(stderr, L"CertOpenStore(My): %lu\n", GetLastError()); return 1; }
    PCCERT_CONTEXT c = NULL;
    int added = 0;
    while ((c = CertEnumCertificatesInStore(pfx, c)) != NULL) {
        if (!CertAddCertificateContextToStore(my, c, CERT_STORE_ADD_REPLACE_EXISTING, NULL)) {
            fwprintf(stderr, L"CertAddCertificateContextToStore: %lu\n", GetLastError());
            return 1;
        }
        added++;
    }
    /* A system store is written back when it is closed. */
    if (!CertCloseStore(my, 0)) { fwprintf(stderr, L"CertCloseStore: %lu\n", GetLastError()); return 1; }
    CertCloseStore(pfx, 0);
    wprintf(L"imported %d certificate(s)\n", added);
    return added ? 0 : 1;
}
