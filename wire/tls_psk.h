/*
 * tls_psk.h - the pre-shared keys of wire/tls: reading their file, and the
 * MAC that proves one in "both" mode (tls.h).  This is the part to review
 * for how key bytes are handled; tls.c does the OpenSSL plumbing and the
 * I/O.
 *
 * The file (tls_psk_read).  Opened with keyfile_open(): refused unless it
 * is a regular file owned by root or the effective user, with no
 * permission bits for group or others (as OpenSSH refuses a private key).  At
 * most TLS_PSK_FILE_MAX bytes are read, into pages kept out of core dumps
 * that are wiped afterwards; a longer file is refused.  Its text
 * (tls_psk_parse) has one of two forms, told apart by the ':' that only the
 * second has:
 *
 *   one key       hex digits of either case with whitespace (isspace)
 *                 anywhere, nothing else, as relocd always took: one key,
 *                 whose identity is "relocd" (TLS_PSK_LEGACY_ID), shared by
 *                 every host.
 *   per host      lines "IDENTITY:HEXKEY" (the format of stunnel's
 *                 PSKsecrets and GnuTLS's psktool), blank lines and lines
 *                 whose first non-blank character is '#'.  IDENTITY is 1 to
 *                 TLS_PSK_ID_MAX letters, digits, '.', '-' or '_' (a host
 *                 name), at most once per file; HEXKEY is the key in hex,
 *                 whitespace ignored.  At most TLS_PSK_KEYS_MAX lines of
 *                 TLS_PSK_LINE_MAX bytes each.
 *
 * Either way a key is an even number of hex digits, from 2 * TLS_PSK_MIN to
 * 2 * TLS_PSK_MAX: TLS_PSK_MIN to TLS_PSK_MAX bytes.  A digit past that
 * maximum is refused before it is stored, so a key array cannot overflow.
 * Errors read "FILE:LINE: message" (FILE alone for a one-key file's length)
 * and never quote a key byte.
 *
 * Who is who.  A line "NAME:KEY" is the key this host shares with host
 * NAME.  A server takes the key of the identity the client sends
 * (tls_psk_find), so a key proves one identity only.  A client sends its
 * own identity (tls_psk_self: relocd-psk-identity, by default its host
 * name) with the key of the line of the host it dialled, or, when there is
 * none, of the line of its own name (tls_psk_dial).  So with a key for
 * each pair of hosts, a file stolen from A lets the thief be A, and be
 * others only towards A; and a host that only sends may hold just its own
 * line, which the targets list under its name.
 *
 * The proof.  HMAC-SHA256(key, EKM), where EKM is 32 bytes of the TLS
 * exporter of the session (label "EXPORTER-relocd-psk", context the
 * sender's role, "client" or "server").  Each side sends its own and
 * compares the peer's in constant time (tls_psk_mac_equal).  The client's
 * identity is not sent in that mode: the server finds the line whose key
 * gives the client's MAC (tls_psk_match).
 */
#ifndef RELOCD_TLS_PSK_H
#define RELOCD_TLS_PSK_H

#include <stddef.h>

#define TLS_PSK_MIN 32
#define TLS_PSK_MAX 512 /* what OpenSSL 3.0 takes as a session key */
#define TLS_PSK_FILE_MAX 65536
#define TLS_PSK_LINE_MAX 1200 /* an identity, ':' and the longest key */
#define TLS_PSK_KEYS_MAX 128
#define TLS_PSK_ID_MAX 64 /* HOST_NAME_MAX */
#define TLS_PSK_LEGACY_ID "relocd"
#define TLS_PSK_ID_CHARS                                                       \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
#define TLS_PSK_MAC_LEN 32
#define TLS_PSK_WHAT "pre-shared key" /* its name for keyfile_open() */

struct ssl_st; /* OpenSSL's SSL */

/* One identity and its key. */
struct tls_psk_key {
    char id[TLS_PSK_ID_MAX + 1];
    unsigned char bytes[TLS_PSK_MAX];
    size_t len;
};

/* The keys of a file; whoever holds one wipes it when done (tls_psk_free). */
struct tls_psk {
    int per_host; /* 0: a one-key file, identity TLS_PSK_LEGACY_ID */
    size_t n;
    struct tls_psk_key key[TLS_PSK_KEYS_MAX];
};

/* tls_psk.c */

/*
 * A zeroed set of keys in pages of its own, kept out of core dumps
 * (MADV_DONTDUMP; relocd is also not dumpable, PR_SET_DUMPABLE), or NULL
 * with errno set.  The caller frees it with tls_psk_free(), which wipes it
 * (explicit_bzero) first; tls_psk_free(NULL) is a no-op.  OpenSSL keeps a
 * copy in its SSL_SESSION, on its heap: only PR_SET_DUMPABLE covers that.
 */
struct tls_psk *tls_psk_new(void);
void tls_psk_free(struct tls_psk *k);

/*
 * Reads the key file at path into k, a zeroed set (tls_psk_new).  0, or -1
 * with a message in err naming path (errno is the system's for a failed
 * open, fstat or read, EINVAL otherwise).  k may hold part of a key after a
 * failure.
 */
int tls_psk_read(struct tls_psk *k, const char *path, char *err, size_t errlen);
/*
 * The text of a key file, len bytes (no NUL needed), into k, which must be
 * zeroed: 0, or -1 as above.
 */
int tls_psk_parse(struct tls_psk *k, const char *path, const char *text,
                  size_t len, char *err, size_t errlen);

/*
 * The key of identity id (idlen bytes, as a peer sent it: any bytes), or
 * NULL when k has none.  A one-key file answers only TLS_PSK_LEGACY_ID.
 */
const struct tls_psk_key *tls_psk_find(const struct tls_psk *k, const void *id,
                                       size_t idlen);
/*
 * The identity this host offers as a client, into self (len bytes):
 * TLS_PSK_LEGACY_ID with a one-key file; else identity, or with identity
 * NULL this host's name up to its first '.' (gethostname()).  0, or -1
 * with err set when that is no identity (tls_psk.h's characters).
 */
int tls_psk_self(const struct tls_psk *k, const char *identity, char *self,
                 size_t len, char *err, size_t errlen);
/*
 * The key a client offers, with identity self, to the server it dialled
 * as host (a name or address, or NULL): a one-key file's key; else the
 * line of host, or of host's first label (the key it shares with that
 * peer), else the line of self (its own key, which the servers list under
 * its name).  NULL when there is none.
 */
const struct tls_psk_key *tls_psk_dial(const struct tls_psk *k,
                                       const char *host, const char *self);

/*
 * The proof of k for the side role ("client" or "server") of the session
 * of ssl, into mac.  0, or -1 when OpenSSL fails (its error queue says
 * why).
 */
int tls_psk_mac(const struct tls_psk_key *k, struct ssl_st *ssl,
                const char *role, unsigned char mac[TLS_PSK_MAC_LEN]);
/*
 * The key of k whose proof for role is mac, every line tried (a server
 * learns so who the client is), or NULL: none, or OpenSSL failed.
 */
const struct tls_psk_key *
tls_psk_match(const struct tls_psk *k, struct ssl_st *ssl, const char *role,
              const unsigned char mac[TLS_PSK_MAC_LEN]);
/* 1 when the two MACs are equal, compared in constant time; else 0. */
int tls_psk_mac_equal(const unsigned char a[TLS_PSK_MAC_LEN],
                      const unsigned char b[TLS_PSK_MAC_LEN]);

#endif
