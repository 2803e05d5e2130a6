/*
 * tls_psk.h - the pre-shared key of wire/tls: reading its file, and the MAC
 * that proves it in "both" mode (tls.h).  This is the part to review for
 * how key bytes are handled; tls.c does the OpenSSL plumbing and the I/O.
 *
 * The file (tls_psk_read).  Opened with keyfile_open(): refused unless it
 * is a regular file owned by root or the effective user, with no
 * permission bits for group or others (as OpenSSH refuses a private key).  At
 * most TLS_PSK_FILE_MAX bytes are read, into a stack buffer of TLS_PSK_FILE_MAX
 * + 1 that is wiped afterwards; a longer file is refused.  Its text
 * (tls_psk_parse) is hex digits of either case with whitespace (isspace)
 * anywhere, nothing else: an even number of digits, from 2 * TLS_PSK_MIN to 2 *
 * TLS_PSK_MAX, gives a key of TLS_PSK_MIN to TLS_PSK_MAX bytes.  A digit past
 * that maximum is refused before it is stored, so the key array cannot
 * overflow.  Errors name the file (and the line, for a character that is not a
 * hex digit), never a key byte.
 *
 * The proof.  HMAC-SHA256(key, EKM), where EKM is 32 bytes of the TLS
 * exporter of the session (label "EXPORTER-relocd-psk", context the
 * sender's role, "client" or "server").  Each side sends its own and
 * compares the peer's in constant time (tls_psk_mac_equal).
 */
#ifndef RELOCD_TLS_PSK_H
#define RELOCD_TLS_PSK_H

#include <stddef.h>

#define TLS_PSK_MIN 32
#define TLS_PSK_MAX 512 /* what OpenSSL 3.0 takes as a session key */
#define TLS_PSK_FILE_MAX 4096
#define TLS_PSK_MAC_LEN 32
#define TLS_PSK_WHAT "pre-shared key" /* its name for keyfile_open() */

struct ssl_st; /* OpenSSL's SSL */

/* A key; whoever holds one wipes it with explicit_bzero when done. */
struct tls_psk {
    unsigned char bytes[TLS_PSK_MAX];
    size_t len;
};

/* tls_psk.c */

/*
 * A zeroed key in pages of its own, kept out of core dumps
 * (MADV_DONTDUMP; relocd is also not dumpable, PR_SET_DUMPABLE), or NULL
 * with errno set.  The caller frees it with tls_psk_free(), which wipes it
 * (explicit_bzero) first; tls_psk_free(NULL) is a no-op.  OpenSSL keeps a
 * copy in its SSL_SESSION, on its heap: only PR_SET_DUMPABLE covers that.
 */
struct tls_psk *tls_psk_new(void);
void tls_psk_free(struct tls_psk *k);

/*
 * Reads the key file at path into k.  0, or -1 with a message in err
 * naming path (errno is the system's for a failed open, fstat or read,
 * EINVAL otherwise).  k may hold part of a key after a failure.
 */
int tls_psk_read(struct tls_psk *k, const char *path, char *err, size_t errlen);
/* The text of a key file, len bytes (no NUL needed): 0, or -1 as above. */
int tls_psk_parse(struct tls_psk *k, const char *path, const char *text,
                  size_t len, char *err, size_t errlen);

/*
 * The proof of k for the side role ("client" or "server") of the session
 * of ssl, into mac.  0, or -1 when OpenSSL fails (its error queue says
 * why).
 */
int tls_psk_mac(const struct tls_psk *k, struct ssl_st *ssl, const char *role,
                unsigned char mac[TLS_PSK_MAC_LEN]);
/* 1 when the two MACs are equal, compared in constant time; else 0. */
int tls_psk_mac_equal(const unsigned char a[TLS_PSK_MAC_LEN],
                      const unsigned char b[TLS_PSK_MAC_LEN]);

#endif
