/*
 * tls_ktls.c - TLS 1.3 receive keys for the kernel (see tls_ktls.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/tls.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "wire/tls_ktls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define TLS_KTLS_PREFIX "tls13 "

/* The hash of a TLS 1.3 suite and its key length; NULL for another. */
static const char *tls_ktls_suite(uint16_t suite, size_t *keylen_r,
                                  size_t *hashlen_r)
{
    switch (suite) {
    case 0x1301:
        *keylen_r = 16;
        *hashlen_r = 32;
        return "SHA256";
    case 0x1302:
        *keylen_r = 32;
        *hashlen_r = 48;
        return "SHA384";
    case 0x1303:
        *keylen_r = 32;
        *hashlen_r = 32;
        return "SHA256";
    }
    return NULL;
}

/* HkdfLabel of RFC 8446 7.1 with an empty context: its length, or 0. */
static size_t tls_ktls_info(const char *label, size_t outlen, uint8_t *info,
                            size_t max)
{
    size_t plen = strlen(TLS_KTLS_PREFIX), llen = strlen(label);

    if (outlen > 0xffff || plen + llen > 255 || 4 + plen + llen > max) return 0;
    info[0] = (uint8_t)(outlen >> 8);
    info[1] = (uint8_t)outlen;
    info[2] = (uint8_t)(plen + llen);
    memcpy(info + 3, TLS_KTLS_PREFIX, plen);
    memcpy(info + 3 + plen, label, llen);
    info[3 + plen + llen] = 0; /* context: empty */
    return 4 + plen + llen;
}

int tls_ktls_expand_label(uint16_t suite, const uint8_t *secret,
                          size_t secretlen, const char *label, uint8_t *out,
                          size_t outlen)
{
    size_t keylen = 0, hashlen = 0, infolen;
    const char *md = tls_ktls_suite(suite, &keylen, &hashlen);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, r = 0;
    uint8_t info[4 + 255];
    OSSL_PARAM p[5];
    EVP_KDF_CTX *kctx = NULL;
    EVP_KDF *kdf;

    infolen = tls_ktls_info(label, outlen, info, sizeof(info));
    if (!md || secretlen != hashlen || !infolen) {
        errno = EINVAL;
        return -1;
    }
    p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    p[1] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
                                             secretlen);
    p[3] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, infolen);
    p[4] = OSSL_PARAM_construct_end();
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf) kctx = EVP_KDF_CTX_new(kdf);
    if (kctx) r = EVP_KDF_derive(kctx, out, outlen, p);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    if (r == 1) return 0;
    errno = EIO;
    return -1;
}

int tls_ktls_keys(uint16_t suite, const uint8_t *secret, size_t secretlen,
                  struct tls_ktls_keys *k)
{
    size_t keylen = 0, hashlen = 0;

    memset(k, 0, sizeof(*k));
    if (!tls_ktls_suite(suite, &keylen, &hashlen)) {
        errno = EINVAL;
        return -1;
    }
    k->suite = suite;
    k->keylen = keylen;
    if (tls_ktls_expand_label(suite, secret, secretlen, "key", k->key, keylen) <
            0 ||
        tls_ktls_expand_label(suite, secret, secretlen, "iv", k->iv,
                              sizeof(k->iv)) < 0) {
        explicit_bzero(k, sizeof(*k));
        return -1;
    }
    return 0;
}

static int tls_ktls_hex(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int tls_ktls_keylog(const char *line, const char *label, uint8_t *secret,
                    size_t max)
{
    size_t llen = strlen(label), n = 0;
    const char *p;
    int hi, lo;

    if (strncmp(line, label, llen) || line[llen] != ' ') return 0;
    /* LABEL <client random, hex> <secret, hex> */
    p = strchr(line + llen + 1, ' ');
    if (!p) return -1;
    for (p++; *p; p += 2) {
        hi = tls_ktls_hex(p[0]);
        lo = hi < 0 ? -1 : tls_ktls_hex(p[1]);
        if (lo < 0 || n == max) {
            explicit_bzero(secret, max);
            return -1;
        }
        secret[n++] = (uint8_t)(hi << 4 | lo);
    }
    return n ? (int)n : -1;
}

/* The kernel's crypto_info for k; its length, or 0 for another suite. */
static size_t tls_ktls_info_of(const struct tls_ktls_keys *k, uint64_t seq,
                               void *buf)
{
    uint8_t be[8];
    int i;

    for (i = 0; i < 8; i++)
        be[i] = (uint8_t)(seq >> (56 - 8 * i));
    if (k->suite == 0x1301) {
        struct tls12_crypto_info_aes_gcm_128 *ci = buf;

        ci->info.version = TLS_1_3_VERSION;
        ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
        memcpy(ci->key, k->key, sizeof(ci->key));
        memcpy(ci->salt, k->iv, sizeof(ci->salt)); /* the IV's first 4 */
        memcpy(ci->iv, k->iv + sizeof(ci->salt), sizeof(ci->iv));
        memcpy(ci->rec_seq, be, sizeof(ci->rec_seq));
        return sizeof(*ci);
    }
    if (k->suite == 0x1302) {
        struct tls12_crypto_info_aes_gcm_256 *ci = buf;

        ci->info.version = TLS_1_3_VERSION;
        ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
        memcpy(ci->key, k->key, sizeof(ci->key));
        memcpy(ci->salt, k->iv, sizeof(ci->salt));
        memcpy(ci->iv, k->iv + sizeof(ci->salt), sizeof(ci->iv));
        memcpy(ci->rec_seq, be, sizeof(ci->rec_seq));
        return sizeof(*ci);
    }
#ifdef TLS_CIPHER_CHACHA20_POLY1305
    if (k->suite == 0x1303) {
        struct tls12_crypto_info_chacha20_poly1305 *ci = buf;

        ci->info.version = TLS_1_3_VERSION;
        ci->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
        memcpy(ci->key, k->key, sizeof(ci->key));
        memcpy(ci->iv, k->iv, sizeof(ci->iv)); /* no salt: all 12 bytes */
        memcpy(ci->rec_seq, be, sizeof(ci->rec_seq));
        return sizeof(*ci);
    }
#endif
    return 0;
}

int tls_ktls_rx(int fd, const struct tls_ktls_keys *k, uint64_t seq)
{
    union {
        struct tls12_crypto_info_aes_gcm_128 g128;
        struct tls12_crypto_info_aes_gcm_256 g256;
#ifdef TLS_CIPHER_CHACHA20_POLY1305
        struct tls12_crypto_info_chacha20_poly1305 cc;
#endif
    } ci;
    size_t len;
    int r, e;

    memset(&ci, 0, sizeof(ci));
    len = tls_ktls_info_of(k, seq, &ci);
    if (!len) {
        errno = EINVAL;
        return -1;
    }
    r = setsockopt(fd, SOL_TLS, TLS_RX, &ci, (socklen_t)len);
    e = errno;
    explicit_bzero(&ci, sizeof(ci));
    errno = e;
    return r < 0 ? -1 : 0;
}
