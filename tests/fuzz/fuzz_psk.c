/*
 * fuzz_psk.c - libFuzzer harness for the pre-shared key file's text
 * (wire/tls_psk.h): any bytes give a key within its bounds or a clean
 * error, and the parser never reads past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/tls_psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_psk k;
    char err[256];

    /* tls_psk_read never passes more than the file's cap. */
    if (size > TLS_PSK_FILE_MAX) return 0;
    if (tls_psk_parse(&k, "psk", (const char *)data, size, err, sizeof(err)) ==
            0 &&
        (k.len < TLS_PSK_MIN || k.len > TLS_PSK_MAX))
        abort();
    return 0;
}
