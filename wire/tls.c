/*
 * tls.c - TLS 1.3 over a caller's socket with OpenSSL: certificates, an
 * external PSK or both, kernel TLS when available, deadlines via poll(2).
 *
 * Each call makes the socket non-blocking and loops on WANT_READ/WANT_WRITE
 * with poll(), because a blocking SSL call can wait forever on a peer that
 * sends half a record and stops; SO_RCVTIMEO would bound each recv() but
 * not the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config/diag.h"
#include "wire/keyfile.h"
#include "wire/tls.h"
#include "wire/tls_ktls.h"
#include "wire/tls_psk.h"
#include "wire/clock.h"

/*
 * SHA-256 suites first: the PSK is bound to SHA-256 (TLS_PSK_SUITE), so
 * either of them may carry a PSK handshake.  AES-128-GCM costs about 13 %
 * less CPU than AES-256 with AES instructions; without them (old or small
 * CPUs, and QEMU's qemu64 model in the lab) ChaCha20-Poly1305 is several
 * times faster, so tls_suites() puts it first there.
 */
#define TLS_SUITES_AESNI                                                       \
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"                     \
    "TLS_AES_256_GCM_SHA384"
#define TLS_SUITES_SOFT                                                        \
    "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"                     \
    "TLS_AES_256_GCM_SHA384"
#define TLS_PSK_SUITE 0x1301 /* TLS_AES_128_GCM_SHA256: SHA-256 binders */
#define TLS_PSK_LIFETIME (24L * 3600) /* see tls_psk_session */
#define TLS_ALPN_BOTH "relocd-psk"
#define TLS_SHUTDOWN_MS 1000
/*
 * Without kernel TLS, records go through a buffer this big each way: one
 * recv(2) takes in up to 16 records, and the records of one large
 * tls_write() leave in a few send(2)s instead of one each (see tls_buffer).
 */
#define TLS_BUF_LEN (256 * 1024)

struct tls_ctx {
    SSL_CTX *ssl;
    int server;
    int certs; /* certificate handshake: server has a cert, client a CA */
    int psk;
    int encrypted;                 /* a key file asked for a passphrase */
    struct tls_psk *keys;          /* tls_psk_new(): out of core dumps */
    char self[TLS_PSK_ID_MAX + 1]; /* client: the identity it offers */
    const SSL_CIPHER *psk_suite;   /* what a PSK session is bound to */
};

struct tls_conn {
    SSL *ssl;
    int fd, fl;  /* fl: the caller's file status flags, restored */
    int hold_nb; /* tls_conn_hold_nonblock(): fd stays non-blocking */
    int wbuf;    /* the wbio buffers: tls_write() flushes it */
    int server, certs, psk;
    int handshaking, failed, eof_clean;
    int psk_offered; /* server: 1 the client offered our PSK, 2 another */
    const struct tls_psk_key *psk_key; /* the identity proved, or NULL */
    char offered[TLS_PSK_ID_MAX + 1];  /* server: an unknown one, for logs */
    char self[TLS_PSK_ID_MAX + 1];     /* client: the one it offered */
    char host[256];    /* client: the name or address its certificate needs */
    char refused[160]; /* CN of the certificate that failed verification */
    char peer[160 + TLS_PSK_ID_MAX];
    char err[400];
    /* Receive offload done by us (tls_conn_ktls_rx), see tls_msg_cb. */
    int ktls_rx;         /* the kernel decrypts what we receive */
    int rx_counting;     /* the peer's Finished was read */
    int rx_rekeyed;      /* a handshake message came after it */
    uint64_t rx_seq;     /* records read since then */
    size_t rx_secretlen; /* the peer's application traffic secret */
    uint8_t rx_secret[TLS_KTLS_SECRET_MAX];
};

/* --- messages ------------------------------------------------------------ */

/*
 * Appends OpenSSL's error queue, oldest first, to the message in buf and
 * empties it.  The reason strings ("certificate verify failed") read better
 * in a log than ERR_error_string's "error:0A000086:SSL routines::...".
 */
static void tls_errq(char *buf, size_t len)
{
    const char *data, *reason, *sep = len && *buf ? ": " : "";
    unsigned long e, last = 0;
    char code[128];
    int flags;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags))) {
        if (e == last) continue;
        last = e;
        reason = ERR_reason_error_string(e);
        if (!reason) {
            ERR_error_string_n(e, code, sizeof(code));
            reason = code;
        }
        if (!(flags & ERR_TXT_STRING) || !*data) data = NULL;
        diag_appendf(buf, len, "%s%s%s%s%s", sep, reason, data ? " (" : "",
                     data ? data : "", data ? ")" : "");
        sep = "; ";
    }
}

/* diag_errf() ending with OpenSSL's reasons; -1. */
static int tls_errf_ssl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tls_errf_ssl(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(err, errlen, fmt, ap);
    va_end(ap);
    tls_errq(err, errlen);
    errno = EINVAL;
    return -1;
}

/* --- the PSK as OpenSSL takes it (the key itself: tls_psk.c) ---------- */

/* The suite a PSK session is bound to: SHA-256, for its binders. */
static int tls_psk_suite(struct tls_ctx *t, char *err, size_t errlen)
{
    STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(t->ssl);
    int i;

    for (i = 0; i < sk_SSL_CIPHER_num(ciphers) && !t->psk_suite; i++)
        if (SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(ciphers, i)) ==
            TLS_PSK_SUITE)
            t->psk_suite = sk_SSL_CIPHER_value(ciphers, i);
    if (!t->psk_suite)
        return tls_errf_ssl(err, errlen, "cannot set up the pre-shared key");
    return 0;
}

/*
 * The SSL_SESSION through which OpenSSL takes the external PSK k, made for
 * one handshake, which owns it; NULL when OpenSSL fails.  A session
 * expires after OpenSSL's default timeout (about 300 s from its creation)
 * and an expired one is not offered or accepted as a PSK, so it must be
 * fresh: a context-wide session once made a relocd up for five minutes
 * refuse every PSK peer.
 */
static SSL_SESSION *tls_psk_session(const struct tls_ctx *t,
                                    const struct tls_psk_key *k)
{
    SSL_SESSION *sess = SSL_SESSION_new();

    if (sess && SSL_SESSION_set1_master_key(sess, k->bytes, k->len) &&
        SSL_SESSION_set_cipher(sess, t->psk_suite) &&
        SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) &&
        SSL_SESSION_set_time(sess, (long)time(NULL)) &&
        SSL_SESSION_set_timeout(sess, TLS_PSK_LIFETIME))
        return sess;
    SSL_SESSION_free(sess);
    return NULL;
}

/* --- OpenSSL callbacks --------------------------------------------------- */

static struct tls_ctx *tls_ctx_of(SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* Client: offers the PSK; OpenSSL takes the reference. */
static int tls_psk_use_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
                          size_t *idlen, SSL_SESSION **sess)
{
    struct tls_ctx *t = tls_ctx_of(ssl);
    struct tls_conn *c = SSL_get_app_data(ssl);

    *sess = NULL;
    /* After a HelloRetryRequest md is fixed; compare by type, not pointer
     * (a fetched EVP_MD is not the legacy one). */
    if (md &&
        EVP_MD_get_type(md) !=
            EVP_MD_get_type(SSL_CIPHER_get_handshake_digest(t->psk_suite)))
        return 1;
    if (!c->psk_key || !(*sess = tls_psk_session(t, c->psk_key))) return 0;
    *id = (const unsigned char *)t->self;
    *idlen = strlen(t->self);
    return 1;
}

/* The printable part of an identity a peer sent, for the log. */
static void tls_psk_offered(struct tls_conn *c, const unsigned char *id,
                            size_t idlen)
{
    size_t i;

    for (i = 0; i < idlen && i < sizeof(c->offered) - 1; i++)
        c->offered[i] =
            id[i] && strchr(TLS_PSK_ID_CHARS, id[i]) ? (char)id[i] : '?';
    c->offered[i] = '\0';
}

/*
 * Server: the PSK of the identity the client sent, unless certificates
 * are required.  No session for an unknown identity: the handshake fails.
 */
static int tls_psk_find_cb(SSL *ssl, const unsigned char *id, size_t idlen,
                           SSL_SESSION **sess)
{
    struct tls_ctx *t = tls_ctx_of(ssl);
    struct tls_conn *c = SSL_get_app_data(ssl);
    const struct tls_psk_key *k = tls_psk_find(t->keys, id, idlen);

    *sess = NULL;
    c->psk_offered = k ? 1 : 2;
    if (!k) tls_psk_offered(c, id, idlen);
    if (!k || t->certs) return 1;
    if (!(*sess = tls_psk_session(t, k))) return 0;
    c->psk_key = k;
    return 1;
}

/* Server in "both" mode: acknowledges the client's "relocd-psk". */
static int tls_alpn_cb(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    const unsigned int want = sizeof(TLS_ALPN_BOTH) - 1;
    unsigned int i, n;

    (void)ssl;
    (void)arg;
    for (i = 0; i < inlen; i += 1 + n) {
        n = in[i];
        if (n > inlen - i - 1) break;
        if (n == want && !memcmp(in + i + 1, TLS_ALPN_BOTH, n)) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/*
 * The peer's first application traffic secret, which OpenSSL 3.0 does
 * not give the kernel itself (see tls_conn_ktls_rx).
 */
static void tls_keylog_cb(const SSL *ssl, const char *line)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    const char *label =
        c->server ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0";
    int n;

    n = tls_ktls_keylog(line, label, c->rx_secret, sizeof(c->rx_secret));
    if (n > 0) c->rx_secretlen = (size_t)n;
}

/*
 * Counts the records read under the peer's application keys, whose count
 * is the sequence number of the next one: every record header read after
 * the peer's Finished.  A handshake message after that (a KeyUpdate would
 * change the keys; tickets are off) rules the receive offload out.
 */
static void tls_msg_cb(int write_p, int version, int type, const void *buf,
                       size_t len, SSL *ssl, void *arg)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    const unsigned char *p = buf;

    (void)version;
    (void)arg;
    if (write_p || !c) return;
    if (type == SSL3_RT_HEADER && c->rx_counting)
        c->rx_seq++;
    else if (type == SSL3_RT_HANDSHAKE && len > 0 && c->rx_counting)
        c->rx_rekeyed = 1;
    else if (type == SSL3_RT_HANDSHAKE && len > 0 && p[0] == SSL3_MT_FINISHED)
        c->rx_counting = 1;
}

/* A daemon must never stop to ask for a passphrase on a terminal. */
static int tls_no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
    struct tls_ctx *t = arg;

    (void)buf;
    (void)size;
    (void)rwflag;
    t->encrypted = 1;
    return -1;
}

/* --- the context --------------------------------------------------------- */

static int tls_check_opts(int server, const struct tls_opts *o, char *err,
                          size_t errlen)
{
    const char *why = NULL;

    if (!o->key_file != !o->cert_file)
        why = "a key file needs a certificate file and vice versa";
    else if (server && !o->cert_file && !o->psk_file)
        why = "a TLS server needs its key and certificate, or a pre-shared "
              "key";
    else if (server && o->ca_file && !o->cert_file)
        why = "a CA file for client certificates needs this host's key "
              "and certificate too";
    else if (o->crl_file && !o->ca_file)
        why = "a CRL file needs the CA file whose certificates it revokes";
    else if (!o->ca_file && !o->psk_file)
        why = server ? "clients would not be authenticated: give a CA file "
                       "or a pre-shared key"
                     : "the server would not be authenticated: give a CA "
                       "file or a pre-shared key";
    return why ? diag_errf(err, errlen, "%s", why) : 0;
}

/* Our suite order for this CPU. */
static const char *tls_suites(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (!__builtin_cpu_supports("aes")) return TLS_SUITES_SOFT;
#endif
    return TLS_SUITES_AESNI;
}

/* TLS 1.3 only, our suites, kTLS wanted, no session resumption. */
static int tls_ctx_setup(struct tls_ctx *t, char *err, size_t errlen)
{
    t->ssl = SSL_CTX_new(t->server ? TLS_server_method() : TLS_client_method());
    if (!t->ssl || !SSL_CTX_set_min_proto_version(t->ssl, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(t->ssl, tls_suites())) {
        tls_errf_ssl(err, errlen, "cannot set up TLS");
        return -1;
    }
    SSL_CTX_set_app_data(t->ssl, t);
    SSL_CTX_set_options(t->ssl, SSL_OP_ENABLE_KTLS |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(t->ssl, SSL_SESS_CACHE_OFF);
    /* Tickets would be handshake records after the handshake, which a
     * plain read(2) of a kTLS socket cannot take; nor do we resume. */
    SSL_CTX_set_num_tickets(t->ssl, 0);
    SSL_CTX_set_keylog_callback(t->ssl, tls_keylog_cb);
    SSL_CTX_set_default_passwd_cb(t->ssl, tls_no_passphrase_cb);
    SSL_CTX_set_default_passwd_cb_userdata(t->ssl, t);
    return 0;
}

/* Our certificate is checked now as a peer will check it later. */
static int tls_check_own(struct tls_ctx *t, const char *path, int purpose,
                         char *err, size_t errlen)
{
    X509 *x = SSL_CTX_get0_certificate(t->ssl);
    STACK_OF(X509) *chain = NULL;
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    int rc = -1;

    SSL_CTX_get0_chain_certs(t->ssl, &chain);
    if (!sc ||
        !X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(t->ssl), x, chain) ||
        !X509_STORE_CTX_set_purpose(sc, purpose))
        tls_errf_ssl(err, errlen, "%s: cannot check the certificate", path);
    else if (X509_verify_cert(sc) != 1)
        diag_errf(err, errlen,
                  "%s: the certificate is not valid for a TLS %s "
                  "under the CA file: %s",
                  path,
                  purpose == X509_PURPOSE_SSL_SERVER ? "server" : "client",
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
    else
        rc = 0;
    X509_STORE_CTX_free(sc);
    return rc;
}

static int tls_check_dates(struct tls_ctx *t, const char *path, char *err,
                           size_t errlen)
{
    X509 *x = SSL_CTX_get0_certificate(t->ssl);

    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        diag_errf(err, errlen, "%s: the certificate has expired", path);
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        diag_errf(err, errlen, "%s: the certificate is not valid yet", path);
    else
        return 0;
    return -1;
}

/*
 * The key, read from the descriptor keyfile_open() checked: as OpenSSH, an
 * unprotected private key or one owned by another user is refused.
 */
static EVP_PKEY *tls_read_key(struct tls_ctx *t, const char *path, char *err,
                              size_t errlen)
{
    EVP_PKEY *k = NULL;
    BIO *b = NULL;
    int fd = keyfile_open(path, TLS_KEY_WHAT, err, errlen);

    if (fd < 0) return NULL;
    b = BIO_new_fd(fd, BIO_CLOSE);
    if (!b)
        close(fd);
    else
        k = PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase_cb, t);
    BIO_free(b);
    return k;
}

static int tls_load_key(struct tls_ctx *t, const struct tls_opts *o, char *err,
                        size_t errlen)
{
    EVP_PKEY *k;
    int ok;

    ERR_clear_error();
    k = tls_read_key(t, o->key_file, err, errlen);
    if (!k && !ERR_peek_error()) return -1; /* keyfile_open() said why */
    ok = k && SSL_CTX_use_PrivateKey(t->ssl, k) == 1 &&
         SSL_CTX_check_private_key(t->ssl) == 1;
    EVP_PKEY_free(k);
    if (ok) return 0;
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
        tls_errf_ssl(err, errlen, "%s does not match %s", o->key_file,
                     o->cert_file);
    else if (t->encrypted)
        diag_errf(err, errlen,
                  "%s: the key is encrypted; a daemon cannot ask for its "
                  "passphrase",
                  o->key_file);
    else
        tls_errf_ssl(err, errlen, "%s", o->key_file);
    return -1;
}

static int tls_load_own(struct tls_ctx *t, const struct tls_opts *o, char *err,
                        size_t errlen)
{
    const char *cert = o->cert_file;

    if (SSL_CTX_use_certificate_chain_file(t->ssl, cert) != 1) {
        tls_errf_ssl(err, errlen, "%s", cert);
        return -1;
    }
    if (tls_load_key(t, o, err, errlen) < 0) return -1;
    if (!o->ca_file) return tls_check_dates(t, cert, err, errlen);
    /* One pair serves both roles: check both purposes. */
    if (tls_check_own(t, cert, X509_PURPOSE_SSL_SERVER, err, errlen) < 0)
        return -1;
    return tls_check_own(t, cert, X509_PURPOSE_SSL_CLIENT, err, errlen);
}

/*
 * The CRLs of crl_file (PEM), checked for the peer's certificate and our
 * own (X509_V_FLAG_CRL_CHECK: the leaf, whose issuer must have a CRL in
 * the file; an expired CRL fails every verification, as it should).
 */
static int tls_load_crl(struct tls_ctx *t, const char *path, char *err,
                        size_t errlen)
{
    X509_STORE *st = SSL_CTX_get_cert_store(t->ssl);
    X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());

    if (!lu || X509_load_crl_file(lu, path, X509_FILETYPE_PEM) < 1) {
        tls_errf_ssl(err, errlen, "%s: no certificate revocation list", path);
        return -1;
    }
    X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    return 0;
}

/* Sanitised "CN=..." of a certificate, or "" without one. */
static void tls_cert_name(X509 *x, char *buf, size_t len)
{
    char cn[128];
    size_t i;

    buf[0] = '\0';
    if (!x) return;
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                  sizeof(cn)) < 0)
        snprintf(cn, sizeof(cn), "?");
    for (i = 0; cn[i]; i++)
        if ((unsigned char)cn[i] < 0x20 || (unsigned char)cn[i] >= 0x7f)
            cn[i] = '?';
    snprintf(buf, len, "CN=%s", cn);
}

/* Notes whose certificate failed, for the message; OpenSSL's verdict stands. */
static int tls_verify_cb(int ok, X509_STORE_CTX *sc)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;

    if (!ok && c && !c->refused[0])
        tls_cert_name(X509_STORE_CTX_get_current_cert(sc), c->refused,
                      sizeof(c->refused));
    return ok;
}

/* Only the given CAs: the system store would trust any public cert. */
static int tls_load_certs(struct tls_ctx *t, const struct tls_opts *o,
                          char *err, size_t errlen)
{
    if (o->ca_file &&
        SSL_CTX_load_verify_locations(t->ssl, o->ca_file, NULL) != 1) {
        tls_errf_ssl(err, errlen, "%s", o->ca_file);
        return -1;
    }
    if (o->crl_file && tls_load_crl(t, o->crl_file, err, errlen) < 0) return -1;
    if (o->cert_file && tls_load_own(t, o, err, errlen) < 0) return -1;
    if (!t->server)
        SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, tls_verify_cb);
    else if (o->ca_file)
        SSL_CTX_set_verify(
            t->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
}

static int tls_load_psk(struct tls_ctx *t, const struct tls_opts *o, char *err,
                        size_t errlen)
{
    static const unsigned char alpn[] = "\012" TLS_ALPN_BOTH;

    if (!o->psk_file) return 0;
    t->keys = tls_psk_new();
    if (!t->keys)
        return diag_errnof(err, errlen, errno, "the pre-shared key: %s",
                           strerror(errno));
    if (tls_psk_read(t->keys, o->psk_file, err, errlen) < 0 ||
        tls_psk_suite(t, err, errlen) < 0)
        return -1;
    if (!t->server && tls_psk_self(t->keys, o->psk_identity, t->self,
                                   sizeof(t->self), err, errlen) < 0)
        return -1;
    if (t->server)
        SSL_CTX_set_psk_find_session_callback(t->ssl, tls_psk_find_cb);
    else if (!t->certs)
        SSL_CTX_set_psk_use_session_callback(t->ssl, tls_psk_use_cb);
    if (t->server && t->certs)
        SSL_CTX_set_alpn_select_cb(t->ssl, tls_alpn_cb, NULL);
    /* Note the inverted return value of SSL_CTX_set_alpn_protos. */
    if (!t->server && t->certs &&
        SSL_CTX_set_alpn_protos(t->ssl, alpn, sizeof(alpn) - 1) != 0) {
        tls_errf_ssl(err, errlen, "cannot set ALPN");
        return -1;
    }
    return 0;
}

struct tls_ctx *tls_ctx_new(int server, const struct tls_opts *o, char *err,
                            size_t errlen)
{
    struct tls_ctx *t;

    ERR_clear_error();
    if (tls_check_opts(server, o, err, errlen) < 0) return NULL;
    t = calloc(1, sizeof(*t));
    if (!t) {
        diag_errnof(err, errlen, errno, "%s", strerror(errno));
        return NULL;
    }
    t->server = server;
    t->certs = server ? o->cert_file != NULL : o->ca_file != NULL;
    t->psk = o->psk_file != NULL;
    if (tls_ctx_setup(t, err, errlen) < 0 ||
        tls_load_certs(t, o, err, errlen) < 0 ||
        tls_load_psk(t, o, err, errlen) < 0) {
        tls_ctx_free(t);
        ERR_clear_error();
        return NULL;
    }
    return t;
}

void tls_ctx_free(struct tls_ctx *t)
{
    if (!t) return;
    SSL_CTX_free(t->ssl);
    tls_psk_free(t->keys);
    free(t);
}

/* --- waiting ------------------------------------------------------------- */

/* A CLOCK_MONOTONIC deadline in ms, -1 for none. */
static long long tls_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : clock_ms() + timeout_ms;
}

/* Milliseconds left for poll(): -1 for no deadline, 0 when past it. */
static int tls_left(long long deadline)
{
    long long left;

    if (deadline < 0) return -1;
    left = deadline - clock_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* The socket is non-blocking only inside our calls (see tls.h). */
static int tls_nonblock(struct tls_conn *c, int on)
{
    if ((c->fl & O_NONBLOCK) || c->hold_nb) return 0;
    return fcntl(c->fd, F_SETFL, on ? c->fl | O_NONBLOCK : c->fl);
}

/* Before each SSL call: SSL_get_error() and errno must see only its doing. */
static void tls_clear(void)
{
    ERR_clear_error();
    errno = 0;
}

/* What the reason alone would not tell: which setting differs. */
static const char *tls_hint(const struct tls_conn *c, int reason)
{
    int psk_alone = !c->certs && c->psk;

    if (!c->handshaking) return NULL;
    if (c->server && c->certs && c->psk_offered == 1)
        return "the peer offered only the pre-shared key; this host "
               "requires certificates as well";
    if (c->server && psk_alone && c->psk_offered != 1)
        return c->psk_offered ? "the peer offered the pre-shared key of an "
                                "identity not in this host's key file"
                              : "the peer offered no pre-shared key";
    if (reason == SSL_R_BINDER_DOES_NOT_VERIFY)
        return "the peers hold different pre-shared keys";
    /* What OpenSSL's server answers to a PSK binder it cannot verify. */
    if (!c->server && psk_alone &&
        reason == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER)
        return "most likely the peers hold different pre-shared keys";
    if (!c->server && psk_alone && SSL_get_verify_result(c->ssl) != X509_V_OK)
        return "the server sent a certificate: it does not take the "
               "pre-shared key alone";
    return NULL;
}

/* A server certificate for another host: whose it is, and what to do. */
static void tls_hint_host(struct tls_conn *c)
{
    diag_appendf(c->err, sizeof(c->err),
                 "; the server's certificate%s%s is not valid for %s, the "
                 "name or address dialled: its subjectAltName must list it",
                 *c->refused ? " " : "", c->refused, c->host);
}

/* Records why an SSL call failed with error e; always -1. */
static int tls_fail(struct tls_conn *c, int e, int sys_errno)
{
    unsigned long first = ERR_peek_error();
    int reason = ERR_GET_LIB(first) == ERR_LIB_SSL ? ERR_GET_REASON(first) : 0;
    long vr = SSL_get_verify_result(c->ssl);
    const char *hint = tls_hint(c, reason);

    c->failed = 1;
    c->err[0] = '\0';
    if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        snprintf(c->err, sizeof(c->err), "the peer closed the connection");
    }
    tls_errq(c->err, sizeof(c->err));
    if (!c->err[0])
        snprintf(c->err, sizeof(c->err), "%s",
                 sys_errno ? strerror(sys_errno)
                           : "the peer closed the connection");
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK)
        diag_appendf(c->err, sizeof(c->err), " (%s)",
                     X509_verify_cert_error_string(vr));
    if (hint) diag_appendf(c->err, sizeof(c->err), "; %s", hint);
    if (hint && c->psk_offered == 2 && c->offered[0])
        diag_appendf(c->err, sizeof(c->err), ": '%s'", c->offered);
    /* What OpenSSL's server answers to a PSK identity it has no key for. */
    if (!hint && c->handshaking && !c->server && !c->certs && c->psk &&
        reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
        diag_appendf(c->err, sizeof(c->err),
                     "; most likely the server has no key for this host's "
                     "identity '%s' (relocd-psk-identity)",
                     c->self);
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH ||
        vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
        tls_hint_host(c);
    errno = e == SSL_ERROR_SYSCALL && sys_errno ? sys_errno
            : e == SSL_ERROR_SYSCALL            ? ECONNRESET
                                                : EPROTO;
    return -1;
}

/*
 * A write to a peer that has refused us fails with EPIPE or ECONNRESET,
 * while its alert, which says why, may wait unread: a TLS 1.3 client learns
 * only after its handshake that the server refused its certificate.
 */
static void tls_read_alert(struct tls_conn *c)
{
    unsigned char b;
    int e = errno, r;
    size_t n;

    if (e != EPIPE && e != ECONNRESET) return;
    tls_clear();
    r = SSL_read_ex(c->ssl, &b, 1, &n);
    if (r != 1 && SSL_get_error(c->ssl, r) == SSL_ERROR_SSL &&
        ERR_GET_REASON(ERR_peek_error()) >= SSL_AD_REASON_OFFSET) {
        c->err[0] = '\0';
        tls_errq(c->err, sizeof(c->err));
        diag_appendf(c->err, sizeof(c->err), " (then: %s)", strerror(e));
    }
    ERR_clear_error();
    errno = e;
}

/* Waits for events on the socket until the deadline: 0, or -1. */
static int tls_poll(struct tls_conn *c, short events, long long deadline)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    int left, n;

    for (;;) {
        left = tls_left(deadline);
        if (left == 0) {
            snprintf(c->err, sizeof(c->err), "timed out waiting for the peer");
            errno = ETIMEDOUT;
            return -1;
        }
        n = poll(&pfd, 1, left);
        if (n > 0) return 0;
        if (n < 0 && errno != EINTR) {
            snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
            return -1;
        }
    }
}

/*
 * After an SSL call returned r: waits until the socket can do what OpenSSL
 * wants, within the deadline.  0 to retry the call, -1 on failure.
 */
static int tls_wait(struct tls_conn *c, int r, long long deadline)
{
    int sys_errno = errno, e = SSL_get_error(c->ssl, r);

    if (e == SSL_ERROR_WANT_READ) return tls_poll(c, POLLIN, deadline);
    if (e == SSL_ERROR_WANT_WRITE) return tls_poll(c, POLLOUT, deadline);
    return tls_fail(c, e, sys_errno);
}

/*
 * Sends what the write buffer holds (see tls_buffer) within the deadline:
 * 0, or -1 with errno set.
 */
static int tls_flush(struct tls_conn *c, long long deadline)
{
    BIO *b = SSL_get_wbio(c->ssl);

    while (c->wbuf && BIO_wpending(b) > 0) {
        tls_clear();
        if (BIO_flush(b) > 0) break;
        if (!BIO_should_retry(b)) return tls_fail(c, SSL_ERROR_SYSCALL, errno);
        if (tls_poll(c, POLLOUT, deadline) < 0) return -1;
    }
    return 0;
}

/* --- I/O with a deadline; the socket is non-blocking here ---------------- */

/* 1 when the SSL call's failure r is the end of the stream. */
static int tls_eof(struct tls_conn *c, int r)
{
    unsigned long first = ERR_peek_error();
    int e = SSL_get_error(c->ssl, r);

    if (e == SSL_ERROR_ZERO_RETURN) {
        c->eof_clean = 1;
        return 1;
    }
    if (e == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        c->eof_clean = 0;
        c->failed = 1; /* OpenSSL forbids SSL_shutdown() now */
        return 1;
    }
    return 0;
}

static ssize_t tls_read_dl(struct tls_conn *c, void *buf, size_t len,
                           long long deadline)
{
    size_t n;
    int r;

    for (;;) {
        tls_clear();
        r = SSL_read_ex(c->ssl, buf, len, &n);
        if (r == 1) return (ssize_t)n;
        if (tls_eof(c, r)) return 0;
        if (tls_wait(c, r, deadline) < 0) return -1;
    }
}

static ssize_t tls_write_dl(struct tls_conn *c, const void *buf, size_t len,
                            long long deadline)
{
    const unsigned char *p = buf;
    size_t off = 0, n;
    int r;

    while (off < len) {
        tls_clear();
        r = SSL_write_ex(c->ssl, p + off, len - off, &n);
        if (r == 1)
            off += n;
        else if (tls_wait(c, r, deadline) < 0)
            goto fail;
    }
    if (tls_flush(c, deadline) == 0) return (ssize_t)len;
fail:
    /* Half a record may be out: nothing can follow it. */
    c->failed = 1;
    tls_read_alert(c);
    return -1;
}

/* --- the handshake ------------------------------------------------------- */

/* The peer's MAC of "both" mode: 0, or -1 with c->err and errno set. */
static int tls_psk_read_mac(struct tls_conn *c, unsigned char *mac,
                            long long deadline)
{
    size_t len = 0;
    ssize_t r = 1;

    while (len < TLS_PSK_MAC_LEN && r > 0) {
        r = tls_read_dl(c, mac + len, TLS_PSK_MAC_LEN - len, deadline);
        len += r > 0 ? (size_t)r : 0;
    }
    if (r < 0) return -1;
    if (r > 0) return 0;
    snprintf(c->err, sizeof(c->err),
             "the peer closed the connection during the pre-shared key "
             "check");
    errno = ECONNRESET;
    c->failed = 1;
    return -1;
}

/*
 * "Both" mode: the client sends its MAC (tls_psk_mac) first; the server
 * finds whose key it is (tls_psk_match), then answers with its own made
 * with that key, or with zeros when there is none, so the client's
 * message says the keys differ rather than that the peer hung up.
 */
static int tls_psk_confirm(struct tls_conn *c, const struct tls_ctx *t,
                           long long deadline)
{
    unsigned char mine[TLS_PSK_MAC_LEN] = {0}, want[TLS_PSK_MAC_LEN];
    unsigned char got[TLS_PSK_MAC_LEN];
    int rc = -1, ok = 0;

    if (!c->server) {
        if (tls_psk_mac(c->psk_key, c->ssl, "client", mine) < 0 ||
            tls_psk_mac(c->psk_key, c->ssl, "server", want) < 0) {
            tls_fail(c, SSL_ERROR_SSL, 0);
            goto out;
        }
        if (tls_write_dl(c, mine, sizeof(mine), deadline) < 0 ||
            tls_psk_read_mac(c, got, deadline) < 0)
            goto out;
        ok = tls_psk_mac_equal(got, want);
    } else {
        if (tls_psk_read_mac(c, got, deadline) < 0) goto out;
        c->psk_key = tls_psk_match(t->keys, c->ssl, "client", got);
        if (c->psk_key && tls_psk_mac(c->psk_key, c->ssl, "server", mine) < 0) {
            tls_fail(c, SSL_ERROR_SSL, 0);
            goto out;
        }
        if (tls_write_dl(c, mine, sizeof(mine), deadline) < 0) goto out;
        ok = c->psk_key != NULL;
    }
    if (!ok) {
        snprintf(c->err, sizeof(c->err),
                 "the peers hold different pre-shared keys");
        errno = EPROTO;
    }
    rc = ok ? 0 : -1;
out:
    explicit_bzero(mine, sizeof(mine));
    explicit_bzero(want, sizeof(want));
    return rc;
}

/* The mode checks OpenSSL cannot make by itself, then the peer's name. */
static int tls_authenticated(struct tls_conn *c, const struct tls_ctx *t,
                             long long deadline)
{
    const unsigned char *alpn;
    unsigned int alpnlen;
    char cn[sizeof(c->peer) - TLS_PSK_ID_MAX - 16];

    SSL_get0_alpn_selected(c->ssl, &alpn, &alpnlen);
    if (t->psk && !t->certs && !SSL_session_reused(c->ssl))
        snprintf(c->err, sizeof(c->err), "the pre-shared key was not used");
    else if (t->psk && t->certs &&
             (alpnlen != strlen(TLS_ALPN_BOTH) ||
              memcmp(alpn, TLS_ALPN_BOTH, alpnlen)))
        snprintf(c->err, sizeof(c->err),
                 "the peer does not check the pre-shared key on top of "
                 "certificates; both hosts need the same settings");
    else if (!t->server && t->certs && !SSL_get0_peer_certificate(c->ssl))
        snprintf(c->err, sizeof(c->err), "the server sent no certificate");
    else if (t->psk && t->certs && tls_psk_confirm(c, t, deadline) < 0)
        return -1;
    else
        c->err[0] = '\0';
    if (c->err[0]) {
        errno = EPROTO;
        return -1;
    }
    tls_cert_name(SSL_get0_peer_certificate(c->ssl), cn, sizeof(cn));
    snprintf(c->peer, sizeof(c->peer), "%s%s%s%s", cn,
             *cn && c->psk_key ? "+" : "", c->psk_key ? "psk:" : "",
             c->psk_key ? c->psk_key->id : "");
    return 0;
}

static struct tls_conn *tls_conn_new(struct tls_ctx *t, int fd, char *err,
                                     size_t errlen)
{
    struct tls_conn *c = calloc(1, sizeof(*c));

    if (!c) {
        diag_errnof(err, errlen, errno, "%s", strerror(errno));
        return NULL;
    }
    c->fd = fd;
    c->server = t->server;
    c->certs = t->certs;
    c->psk = t->psk;
    c->fl = fcntl(fd, F_GETFL);
    c->ssl = SSL_new(t->ssl);
    if (c->fl < 0 || !c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        if (c->fl < 0)
            diag_errnof(err, errlen, errno, "fcntl: %s", strerror(errno));
        else
            tls_errf_ssl(err, errlen, "cannot set up the connection");
        tls_conn_free(c);
        return NULL;
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_msg_callback(c->ssl, tls_msg_cb);
    return c;
}

/*
 * After the handshake: a buffer between OpenSSL and the socket for each
 * direction that the kernel does not carry (TLS_BUF_LEN).  Without it
 * OpenSSL makes two read(2)s per record (header, then body) and one write(2)
 * per record.  Failing to set it up is no error: it only saves time.
 */
static void tls_buffer(struct tls_conn *c)
{
    BIO *sock = SSL_get_rbio(c->ssl), *b;
    int tx, rx;

    tls_conn_ktls(c, &tx, &rx);
    if ((tx && rx) || sock != SSL_get_wbio(c->ssl)) return;
    b = BIO_new(BIO_f_buffer());
    if (!b || BIO_set_read_buffer_size(b, TLS_BUF_LEN) != 1 ||
        BIO_set_write_buffer_size(b, TLS_BUF_LEN) != 1 || !BIO_up_ref(sock)) {
        BIO_free(b);
        return;
    }
    BIO_push(b, sock); /* b holds a reference to sock now */
    /* SSL_set0_* take a reference each and drop theirs to sock. */
    if (!rx && BIO_up_ref(b)) SSL_set0_rbio(c->ssl, b);
    if (!tx && BIO_up_ref(b)) {
        SSL_set0_wbio(c->ssl, b);
        c->wbuf = 1;
    }
    BIO_free_all(b);
}

/*
 * Client with certificates: the server's must be valid for host, the name
 * or address dialled (as ssh checks the host key of the name it was
 * given).  IPv6 text may carry a zone ("fe80::1%eth0"), which is no part
 * of the address in a certificate.
 */
static int tls_want_host(struct tls_conn *c, const struct tls_ctx *t,
                         const char *host, char *err, size_t errlen)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    char ip[sizeof(c->host)];

    if (!t->certs || !host) return 0;
    if (snprintf(c->host, sizeof(c->host), "%s", host) >= (int)sizeof(c->host))
        return diag_errf(err, errlen, "host name too long: %.64s...", host);
    snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(host, "%"), host);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, ip) == 1) return 0;
    ERR_clear_error();
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1)
        return tls_errf_ssl(err, errlen, "%s: cannot check the server's name",
                            host);
    return 0;
}

/* Client: the key of the line for host, else of this host (tls_psk_dial). */
static int tls_want_psk(struct tls_conn *c, const struct tls_ctx *t,
                        const char *host, char *err, size_t errlen)
{
    if (!t->psk) return 0;
    c->psk_key = tls_psk_dial(t->keys, host, t->self);
    memcpy(c->self, t->self, sizeof(c->self));
    if (c->psk_key) return 0;
    return diag_errf(err, errlen,
                     "the pre-shared key file has no line for %s%s%s nor for "
                     "this host's identity '%s'",
                     host ? "'" : "", host ? host : "the host dialled",
                     host ? "'" : "", t->self);
}

static struct tls_conn *tls_handshake(struct tls_ctx *t, int server, int fd,
                                      const char *host, int timeout_ms,
                                      char *err, size_t errlen)
{
    long long deadline = tls_deadline(timeout_ms);
    struct tls_conn *c;
    int r, e, rc = -1;

    ERR_clear_error();
    if (t->server != server) {
        diag_errf(err, errlen, "a %s context cannot %s",
                  server ? "client" : "server", server ? "accept" : "connect");
        return NULL;
    }
    c = tls_conn_new(t, fd, err, errlen);
    if (!c) return NULL;
    if (!server && (tls_want_host(c, t, host, err, errlen) < 0 ||
                    tls_want_psk(c, t, host, err, errlen) < 0)) {
        tls_conn_free(c);
        return NULL;
    }
    c->handshaking = 1;
    if (tls_nonblock(c, 1) < 0) {
        diag_errnof(err, errlen, errno, "fcntl: %s", strerror(errno));
        tls_conn_free(c);
        return NULL;
    }
    do {
        tls_clear();
        r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
    } while (r != 1 && tls_wait(c, r, deadline) == 0);
    if (r == 1) rc = tls_authenticated(c, t, deadline);
    if (rc == 0) tls_buffer(c);
    e = errno;
    tls_nonblock(c, 0);
    c->handshaking = 0;
    ERR_clear_error();
    if (rc < 0) {
        diag_errf(err, errlen, "%s", c->err);
        tls_conn_free(c);
        errno = e;
        return NULL;
    }
    return c;
}

struct tls_conn *tls_accept(struct tls_ctx *t, int fd, int timeout_ms,
                            char *err, size_t errlen)
{
    return tls_handshake(t, 1, fd, NULL, timeout_ms, err, errlen);
}

struct tls_conn *tls_connect(struct tls_ctx *t, int fd, const char *host,
                             int timeout_ms, char *err, size_t errlen)
{
    return tls_handshake(t, 0, fd, host, timeout_ms, err, errlen);
}

/* --- the connection ------------------------------------------------------ */

/* A failed system call, for tls_conn_error(); always -1, errno kept. */
static int tls_sys_fail(struct tls_conn *c, const char *what)
{
    int e = errno;

    snprintf(c->err, sizeof(c->err), "%s: %s", what, strerror(e));
    errno = e;
    return -1;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t len, int timeout_ms)
{
    ssize_t r;
    int e;

    if (len == 0) return 0;
    if (tls_nonblock(c, 1) < 0) return tls_sys_fail(c, "fcntl");
    r = tls_read_dl(c, buf, len, tls_deadline(timeout_ms));
    e = errno;
    tls_nonblock(c, 0);
    ERR_clear_error();
    errno = e;
    return r;
}

ssize_t tls_write(struct tls_conn *c, const void *buf, size_t len,
                  int timeout_ms)
{
    ssize_t r;
    int e;

    if (tls_nonblock(c, 1) < 0) return tls_sys_fail(c, "fcntl");
    r = tls_write_dl(c, buf, len, tls_deadline(timeout_ms));
    e = errno;
    tls_nonblock(c, 0);
    ERR_clear_error();
    errno = e;
    return r;
}

int tls_shutdown(struct tls_conn *c)
{
    long long deadline = tls_deadline(TLS_SHUTDOWN_MS);
    int r = -1, e;

    if (!c || c->failed) {
        errno = EPIPE;
        return -1;
    }
    if (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN) return 0;
    if (tls_nonblock(c, 1) < 0) return tls_sys_fail(c, "fcntl");
    do {
        tls_clear();
        r = SSL_shutdown(c->ssl); /* 0: sent; we do not wait for the peer */
    } while (r < 0 && tls_wait(c, r, deadline) == 0);
    if (r >= 0 && tls_flush(c, deadline) < 0) r = -1;
    e = errno;
    tls_nonblock(c, 0);
    ERR_clear_error();
    errno = e;
    return r < 0 ? -1 : 0;
}

void tls_conn_free(struct tls_conn *c)
{
    if (!c) return;
    SSL_free(c->ssl);
    explicit_bzero(c->rx_secret, sizeof(c->rx_secret));
    free(c);
}

int tls_conn_eof_clean(const struct tls_conn *c)
{
    return c->eof_clean;
}

int tls_conn_pending(const struct tls_conn *c)
{
    return SSL_has_pending(c->ssl) || BIO_pending(SSL_get_rbio(c->ssl)) > 0;
}

int tls_conn_hold_nonblock(struct tls_conn *c, int on)
{
    if (!on == !c->hold_nb) return 0;
    c->hold_nb = 0;
    if (tls_nonblock(c, on) < 0) return tls_sys_fail(c, "fcntl");
    c->hold_nb = on;
    return 0;
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->err[0] ? c->err : "no error";
}

void tls_conn_ktls(const struct tls_conn *c, int *tx_r, int *rx_r)
{
    *tx_r = BIO_get_ktls_send(SSL_get_wbio(c->ssl)) ? 1 : 0;
    *rx_r = c->ktls_rx || BIO_get_ktls_recv(SSL_get_rbio(c->ssl)) ? 1 : 0;
}

/* Why the receive offload cannot start now; NULL when it can. */
static const char *tls_rx_unready(const struct tls_conn *c)
{
    if (SSL_version(c->ssl) != TLS1_3_VERSION) return "not TLS 1.3";
    if (!c->rx_secretlen) return "no traffic secret";
    if (!c->rx_counting) return "the handshake is not over";
    if (c->rx_rekeyed) return "the peer sent a handshake message";
    if (tls_conn_pending(c)) return "received bytes wait in user space";
    return NULL;
}

int tls_conn_rx_keys(struct tls_conn *c, struct tls_ktls_keys *k,
                     uint64_t *seq_r)
{
    const SSL_CIPHER *ciph = SSL_get_current_cipher(c->ssl);
    const char *why = tls_rx_unready(c);

    if (!why &&
        (!ciph || tls_ktls_keys((uint16_t)SSL_CIPHER_get_protocol_id(ciph),
                                c->rx_secret, c->rx_secretlen, k) < 0))
        why = "the suite is not one the kernel takes";
    if (why) {
        snprintf(c->err, sizeof(c->err), "%s", why);
        errno = EAGAIN;
        return -1;
    }
    *seq_r = c->rx_seq;
    return 0;
}

int tls_conn_ktls_rx(struct tls_conn *c)
{
    struct tls_ktls_keys k;
    uint64_t seq;
    int tx, rx, r;

    tls_conn_ktls(c, &tx, &rx);
    if (rx) return 1;
    if (!tx) {
        /* OpenSSL put no "tls" layer on the socket: the kernel lacks it. */
        snprintf(c->err, sizeof(c->err), "no kernel TLS for sending");
        return 0;
    }
    if (tls_conn_rx_keys(c, &k, &seq) < 0) return 0;
    r = tls_ktls_rx(c->fd, &k, seq);
    explicit_bzero(&k, sizeof(k));
    if (r < 0) {
        tls_sys_fail(c, "setsockopt TLS_RX");
        return 0;
    }
    c->ktls_rx = 1;
    explicit_bzero(c->rx_secret, sizeof(c->rx_secret));
    c->rx_secretlen = 0;
    return 1;
}

int tls_conn_ktls_full(const struct tls_conn *c)
{
    int tx, rx;

    tls_conn_ktls(c, &tx, &rx);
    return tx && rx && !SSL_has_pending(c->ssl);
}

const char *tls_conn_peer(const struct tls_conn *c)
{
    return c->peer;
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
    return SSL_get_cipher_name(c->ssl);
}

int tls_conn_check_host(const struct tls_conn *c, const char *host)
{
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    int r;

    if (!x || SSL_get_verify_result(c->ssl) != X509_V_OK) return 0;
    r = X509_check_ip_asc(x, host, 0);
    if (r == -2) /* not an address */
        r = X509_check_host(x, host, strlen(host), 0, NULL);
    ERR_clear_error();
    return r == 1;
}
