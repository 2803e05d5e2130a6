/*
 * fuzz_psk.c - libFuzzer harness for the pre-shared key file's text
 * (wire/tls_psk.h), both forms: any bytes give keys within their bounds,
 * identities of the allowed characters, or a clean error, and the parser
 * never reads past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/tls_psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bounds tls_psk.h promises for what a parse returned. */
static int psk_sane(const struct tls_psk *k)
{
    size_t i, j, len;

    if (k->n < 1 || k->n > TLS_PSK_KEYS_MAX) return 0;
    if (!k->per_host && (k->n != 1 || strcmp(k->key[0].id, TLS_PSK_LEGACY_ID)))
        return 0;
    for (i = 0; i < k->n; i++) {
        len = strnlen(k->key[i].id, sizeof(k->key[i].id));
        if (len < 1 || len > TLS_PSK_ID_MAX ||
            strspn(k->key[i].id,
                   "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != len)
            return 0;
        if (k->key[i].len < TLS_PSK_MIN || k->key[i].len > TLS_PSK_MAX)
            return 0;
        if (tls_psk_find(k, k->key[i].id, len) != &k->key[i]) return 0;
        for (j = 0; j < i; j++)
            if (!strcmp(k->key[i].id, k->key[j].id)) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_psk *k;
    char err[256];

    /* tls_psk_read never passes more than the file's cap. */
    if (size > TLS_PSK_FILE_MAX) return 0;
    if (!k && !(k = tls_psk_new())) abort();
    memset(k, 0, sizeof(*k));
    if (tls_psk_parse(k, "psk", (const char *)data, size, err, sizeof(err)) ==
            0 &&
        !psk_sane(k))
        abort();
    return 0;
}
