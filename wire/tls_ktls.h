/*
 * tls_ktls.h - the receiving direction of TLS 1.3 handed to the kernel by
 * relocd itself, since OpenSSL 3.0 (Debian 12) offloads only the sending
 * one.  tls.c captures the peer's application traffic secret (keylog
 * callback) and counts the records it has read with it (message callback);
 * this module turns the secret into the record key and IV (RFC 8446 7.3)
 * and gives them, with the record sequence number, to the kernel's TLS_RX
 * (Documentation/networking/tls.rst).  Pure computation apart from
 * tls_ktls_rx(), so the derivation is tested against RFC 8448's vectors
 * on a host without kernel TLS.
 */
#ifndef RELOCD_TLS_KTLS_H
#define RELOCD_TLS_KTLS_H

#include <stddef.h>
#include <stdint.h>

#define TLS_KTLS_SECRET_MAX 48 /* SHA-384 */
#define TLS_KTLS_KEY_MAX 32
#define TLS_KTLS_IV_LEN 12

/* One direction's record protection: the suite, its key and IV. */
struct tls_ktls_keys {
    uint16_t suite; /* 0x1301 AES-128-GCM, 0x1302 AES-256-GCM, 0x1303 ChaCha */
    size_t keylen;
    uint8_t key[TLS_KTLS_KEY_MAX];
    uint8_t iv[TLS_KTLS_IV_LEN];
};

/*
 * HKDF-Expand-Label(secret, label, "", outlen) of RFC 8446 7.1 with the
 * suite's hash; label without the "tls13 " prefix.  0, or -1 with errno
 * EINVAL (a suite the kernel cannot take, a secret of the wrong length) or
 * EIO (OpenSSL failed).
 */
int tls_ktls_expand_label(uint16_t suite, const uint8_t *secret,
                          size_t secretlen, const char *label, uint8_t *out,
                          size_t outlen);
/*
 * The key and IV of a traffic secret (RFC 8446 7.3) into *k.  0, or -1 with
 * errno as tls_ktls_expand_label().  The caller wipes *k after use.
 */
int tls_ktls_keys(uint16_t suite, const uint8_t *secret, size_t secretlen,
                  struct tls_ktls_keys *k);
/*
 * The secret of an NSS key log line (SSL_CTX_set_keylog_callback) when the
 * line's label is label, e.g. "CLIENT_TRAFFIC_SECRET_0": its length, 0 for
 * another label, -1 for a malformed line.  secret holds max bytes.
 */
int tls_ktls_keylog(const char *line, const char *label, uint8_t *secret,
                    size_t max);
/*
 * Hands fd's receiving direction to the kernel: TLS 1.3 records with keys
 * k, the next one having sequence number seq.  The socket must carry the
 * "tls" upper layer already (OpenSSL set it for the sending direction).
 * 0, or -1 with errno from setsockopt(2) (ENOPROTOOPT, EBUSY, ...), or
 * EINVAL for a suite this build cannot describe to the kernel.
 */
int tls_ktls_rx(int fd, const struct tls_ktls_keys *k, uint64_t seq);

#endif
