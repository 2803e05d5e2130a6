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

/* --- the keys in memory ------------------------------------------------- */

static size_t tls_psk_round(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (len + page - 1) / page * page;
}

/*
 * len zeroed bytes in anonymous pages (page-aligned, so madvise() applies)
 * kept out of core dumps, or NULL with errno set.
 */
static void *tls_psk_pages(size_t len)
{
    size_t size = tls_psk_round(len);
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

static void tls_psk_unpages(void *p, size_t len)
{
    if (!p) return;
    explicit_bzero(p, len);
    munmap(p, tls_psk_round(len));
}

struct tls_psk *tls_psk_new(void)
{
    return tls_psk_pages(sizeof(struct tls_psk));
}

void tls_psk_free(struct tls_psk *k)
{
    tls_psk_unpages(k, sizeof(*k));
}

/* --- the file ------------------------------------------------------------ */

static int tls_psk_hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/*
 * A key in hex, whitespace ignored, from len bytes of text that start on
 * line `line` of path; at names the key in the length messages ("FILE" or
 * "FILE:LINE").  0, or -1 with err set.
 */
static int tls_psk_hex(struct tls_psk_key *k, const char *path, size_t line,
                       const char *at, const char *text, size_t len, char *err,
                       size_t errlen)
{
    size_t i, nd = 0;
    int v;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];

        line += ch == '\n';
        if (isspace(ch)) continue;
        v = tls_psk_hexval(ch);
        if (v < 0)
            return diag_errf(err, errlen, "%s:%zu: '%c' is not a hex digit%s",
                             path, line, isprint(ch) ? ch : '?',
                             strcmp(at, path) ? ""
                                              : " (or, for a key per host, "
                                                "write lines IDENTITY:HEXKEY)");
        if (nd == 2 * TLS_PSK_MAX)
            return diag_errf(err, errlen, "%s: the key is longer than %d bytes",
                             at, TLS_PSK_MAX);
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
                         at, nd);
    k->len = nd / 2;
    return 0;
}

/* A host name's characters: safe to log, and no ':' or space. */
static int tls_psk_idchar(int ch)
{
    return ch && strchr(TLS_PSK_ID_CHARS, ch) != NULL;
}

/* The identity that starts line, len bytes before its ':'; 0, or -1. */
static int tls_psk_ident(struct tls_psk *k, const char *at, const char *line,
                         size_t len, char *err, size_t errlen)
{
    size_t i;

    while (len && isspace((unsigned char)line[len - 1]))
        len--;
    if (len == 0 || len > TLS_PSK_ID_MAX)
        return diag_errf(err, errlen,
                         "%s: the identity before ':' must be 1 to %d "
                         "characters",
                         at, TLS_PSK_ID_MAX);
    for (i = 0; i < len; i++)
        if (!tls_psk_idchar((unsigned char)line[i]))
            return diag_errf(err, errlen,
                             "%s: '%c' in the identity: a host name has only "
                             "letters, digits, '.', '-' and '_'",
                             at,
                             isprint((unsigned char)line[i]) ? line[i] : '?');
    if (tls_psk_find(k, line, len))
        return diag_errf(err, errlen, "%s: identity '%.*s' is listed twice", at,
                         (int)len, line);
    memcpy(k->key[k->n].id, line, len);
    k->key[k->n].id[len] = '\0';
    return 0;
}

/* One line of a per-host file, without its '\n'; 0, or -1. */
static int tls_psk_line(struct tls_psk *k, const char *path, size_t lineno,
                        const char *line, size_t len, char *err, size_t errlen)
{
    const char *colon;
    char at[512];
    size_t skip = 0;

    snprintf(at, sizeof(at), "%s:%zu", path, lineno);
    while (skip < len && isspace((unsigned char)line[skip]))
        skip++;
    if (skip == len || line[skip] == '#') return 0;
    if (len > TLS_PSK_LINE_MAX)
        return diag_errf(err, errlen, "%s: longer than %d bytes", at,
                         TLS_PSK_LINE_MAX);
    colon = memchr(line, ':', len);
    if (!colon)
        return diag_errf(err, errlen,
                         "%s: expected IDENTITY:HEXKEY (a file with one "
                         "identity per line)",
                         at);
    if (k->n == TLS_PSK_KEYS_MAX)
        return diag_errf(err, errlen, "%s: more than %d identities", at,
                         TLS_PSK_KEYS_MAX);
    if (tls_psk_ident(k, at, line + skip, (size_t)(colon - line) - skip, err,
                      errlen) < 0 ||
        tls_psk_hex(&k->key[k->n], path, lineno, at, colon + 1,
                    len - (size_t)(colon + 1 - line), err, errlen) < 0)
        return -1;
    k->n++;
    return 0;
}

static int tls_psk_lines(struct tls_psk *k, const char *path, const char *text,
                         size_t len, char *err, size_t errlen)
{
    const char *p = text, *end = text + len, *nl;
    size_t lineno = 1;

    k->per_host = 1;
    for (; p < end; p = nl + 1, lineno++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        if (tls_psk_line(k, path, lineno, p, (size_t)(nl - p), err, errlen) < 0)
            return -1;
    }
    if (k->n == 0)
        return diag_errf(err, errlen, "%s: no IDENTITY:HEXKEY line", path);
    return 0;
}

int tls_psk_parse(struct tls_psk *k, const char *path, const char *text,
                  size_t len, char *err, size_t errlen)
{
    /* A ':' is never part of a one-key file, which stays as it was. */
    if (memchr(text, ':', len))
        return tls_psk_lines(k, path, text, len, err, errlen);
    if (tls_psk_hex(&k->key[0], path, 1, path, text, len, err, errlen) < 0)
        return -1;
    snprintf(k->key[0].id, sizeof(k->key[0].id), "%s", TLS_PSK_LEGACY_ID);
    k->n = 1;
    return 0;
}

int tls_psk_read(struct tls_psk *k, const char *path, char *err, size_t errlen)
{
    const size_t cap = TLS_PSK_FILE_MAX + 1;
    char *text = NULL;
    size_t len = 0;
    ssize_t r = 1;
    int fd, rc = -1, e;

    /* Refused unless only its owner, root or us, may read it (keyfile.h). */
    fd = keyfile_open(path, TLS_PSK_WHAT, err, errlen);
    if (fd < 0) return -1;
    text = tls_psk_pages(cap);
    if (!text) {
        diag_errnof(err, errlen, errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (r > 0 && len < cap) {
        r = read(fd, text + len, cap - len);
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
out:
    e = errno;
    tls_psk_unpages(text, cap);
    close(fd);
    errno = e;
    return rc;
}

/* --- who is who ---------------------------------------------------------- */

const struct tls_psk_key *tls_psk_find(const struct tls_psk *k, const void *id,
                                       size_t idlen)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (strlen(k->key[i].id) == idlen && !memcmp(k->key[i].id, id, idlen))
            return &k->key[i];
    return NULL;
}

int tls_psk_self(const struct tls_psk *k, const char *identity, char *self,
                 size_t len, char *err, size_t errlen)
{
    char host[256] = "";

    if (!k->per_host) identity = TLS_PSK_LEGACY_ID;
    if (!identity && gethostname(host, sizeof(host) - 1) < 0)
        return diag_errnof(err, errlen, errno, "gethostname: %s",
                           strerror(errno));
    if (!identity) {
        host[strcspn(host, ".")] = '\0';
        identity = host;
    }
    if (!*identity || strlen(identity) > TLS_PSK_ID_MAX ||
        strspn(identity, TLS_PSK_ID_CHARS) != strlen(identity))
        return diag_errf(err, errlen,
                         "this host's identity '%s' is not a host name of 1 "
                         "to %d characters: set relocd-psk-identity",
                         identity, TLS_PSK_ID_MAX);
    if (strlen(identity) >= len)
        return diag_errf(err, errlen, "identity '%s' too long", identity);
    memcpy(self, identity, strlen(identity) + 1);
    return 0;
}

const struct tls_psk_key *tls_psk_dial(const struct tls_psk *k,
                                       const char *host, const char *self)
{
    const struct tls_psk_key *key = NULL;

    if (!k->per_host) return &k->key[0];
    if (host) key = tls_psk_find(k, host, strlen(host));
    if (host && !key) key = tls_psk_find(k, host, strcspn(host, "."));
    return key ? key : tls_psk_find(k, self, strlen(self));
}

/* --- the proof ----------------------------------------------------------- */

int tls_psk_mac(const struct tls_psk_key *k, SSL *ssl, const char *role,
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

const struct tls_psk_key *
tls_psk_match(const struct tls_psk *k, SSL *ssl, const char *role,
              const unsigned char mac[TLS_PSK_MAC_LEN])
{
    const struct tls_psk_key *found = NULL;
    unsigned char want[TLS_PSK_MAC_LEN];
    size_t i;

    for (i = 0; i < k->n && !found; i++) {
        if (tls_psk_mac(&k->key[i], ssl, role, want) < 0) break;
        if (tls_psk_mac_equal(want, mac)) found = &k->key[i];
    }
    explicit_bzero(want, sizeof(want));
    return found;
}
