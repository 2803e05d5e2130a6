/*
 * tls_psk.c - the pre-shared key file and its proof (see tls_psk.h).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "config/diag.h"
#include "wire/keyfile.h"
#include "wire/tls_psk.h"

#define TLS_PSK_EXPORTER "EXPORTER-relocd-psk"

/* --- the key in memory --------------------------------------------------- */

static size_t tls_psk_size(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (sizeof(struct tls_psk) + page - 1) / page * page;
}

/* Anonymous pages: page-aligned, zeroed, and madvise() applies to them. */
struct tls_psk *tls_psk_new(void)
{
    size_t size = tls_psk_size();
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int e;

    if (p == MAP_FAILED) return NULL;
    if (madvise(p, size, MADV_DONTDUMP) < 0) {
        e = errno;
        munmap(p, size);
        errno = e;
        return NULL;
    }
    return p;
}

void tls_psk_free(struct tls_psk *k)
{
    if (!k) return;
    explicit_bzero(k, sizeof(*k));
    munmap(k, tls_psk_size());
}

/* --- the file ------------------------------------------------------------ */

static int tls_psk_hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int tls_psk_parse(struct tls_psk *k, const char *path, const char *text,
                  size_t len, char *err, size_t errlen)
{
    size_t i, nd = 0, line = 1;
    int v;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];

        line += ch == '\n';
        if (isspace(ch)) continue;
        v = tls_psk_hexval(ch);
        if (v < 0)
            return diag_errf(err, errlen, "%s:%zu: '%c' is not a hex digit",
                             path, line, isprint(ch) ? ch : '?');
        if (nd == 2 * TLS_PSK_MAX)
            return diag_errf(err, errlen, "%s: the key is longer than %d bytes",
                             path, TLS_PSK_MAX);
        k->bytes[nd / 2] =
            (unsigned char)(nd % 2 ? k->bytes[nd / 2] | v : v << 4);
        nd++;
    }
    if (nd % 2 || nd < 2 * TLS_PSK_MIN)
        return diag_errf(err, errlen,
                         nd % 2 ? "%s: odd number of hex digits (%zu)"
                                : "%s: the key is %zu hex digits; at least 64 "
                                  "(32 bytes) are needed: openssl rand -hex "
                                  "32",
                         path, nd);
    k->len = nd / 2;
    return 0;
}

int tls_psk_read(struct tls_psk *k, const char *path, char *err, size_t errlen)
{
    char text[TLS_PSK_FILE_MAX + 1];
    size_t len = 0;
    ssize_t r = 1;
    int fd, rc = -1, e;

    /* Refused unless only its owner, root or us, may read it (keyfile.h). */
    fd = keyfile_open(path, TLS_PSK_WHAT, err, errlen);
    if (fd < 0) return -1;
    while (r > 0 && len < sizeof(text)) {
        r = read(fd, text + len, sizeof(text) - len);
        if (r < 0 && errno == EINTR) continue;
        len += r > 0 ? (size_t)r : 0;
    }
    if (r < 0)
        diag_errnof(err, errlen, errno, "%s: %s", path, strerror(errno));
    else if (len > TLS_PSK_FILE_MAX)
        diag_errf(err, errlen, "%s: longer than %d bytes", path,
                  TLS_PSK_FILE_MAX);
    else
        rc = tls_psk_parse(k, path, text, len, err, errlen);
    e = errno;
    explicit_bzero(text, sizeof(text));
    close(fd);
    errno = e;
    return rc;
}

/* --- the proof ----------------------------------------------------------- */

int tls_psk_mac(const struct tls_psk *k, SSL *ssl, const char *role,
                unsigned char mac[TLS_PSK_MAC_LEN])
{
    unsigned char ekm[TLS_PSK_MAC_LEN];
    unsigned int maclen = TLS_PSK_MAC_LEN;
    int ok;

    ok = SSL_export_keying_material(
             ssl, ekm, sizeof(ekm), TLS_PSK_EXPORTER, strlen(TLS_PSK_EXPORTER),
             (const unsigned char *)role, strlen(role), 1) == 1 &&
         HMAC(EVP_sha256(), k->bytes, (int)k->len, ekm, sizeof(ekm), mac,
              &maclen) != NULL;
    explicit_bzero(ekm, sizeof(ekm));
    return ok ? 0 : -1;
}

int tls_psk_mac_equal(const unsigned char a[TLS_PSK_MAC_LEN],
                      const unsigned char b[TLS_PSK_MAC_LEN])
{
    return CRYPTO_memcmp(a, b, TLS_PSK_MAC_LEN) == 0;
}
