/*
 * tls.h - TLS 1.3 for relocation connections (OpenSSL), blocking with
 * deadlines, on a socket the caller owns.
 *
 * Authentication.  A context is built from up to four files:
 *   key_file + cert_file  this host's key (PEM, unencrypted: no one is there
 *                         to type a passphrase; refused unless only root or
 *                         its owner, us, may read it: keyfile.h) and
 *                         certificate (PEM, may
 *                         hold the chain).  Each dom0 uses one pair for both
 *                         roles, so with a CA file the certificate must
 *                         verify under it as a TLS server and as a TLS
 *                         client (an extendedKeyUsage, if any, lists
 *                         serverAuth and clientAuth); tls_ctx_new() checks
 *                         that, and the dates.
 *   ca_file               the only CAs trusted for the peer (never the
 *                         system store).  A server requires and verifies a
 *                         client certificate; a client verifies the server's
 *                         chain, and that it is valid for the name or
 *                         address dialled (tls_connect).  tls_conn_peer()
 *                         gives the subject CN for the log, and
 *                         tls_conn_check_host() matches a name on request.
 *   crl_file              with ca_file: certificate revocation lists (PEM);
 *                         a revoked peer certificate fails the handshake
 *                         ("certificate revoked"), a revoked own one
 *                         tls_ctx_new().  The file must hold a current CRL
 *                         of every CA that issues the hosts' certificates.
 *   psk_file              TLS 1.3 external PSKs of 32 to 512 bytes in hex,
 *                         in a regular file no one but its owner may access:
 *                         one key (identity "relocd"), or lines NAME:HEXKEY,
 *                         the key shared with host NAME (tls_psk.h).  A
 *                         server takes the key of the identity the client
 *                         sends; a client sends psk_identity (default: its
 *                         host name) with the key of the line of the host
 *                         it dials, else of its own line.
 *
 * Every context must authenticate its peer: a server needs ca_file or
 * psk_file, and its certificate unless it uses the PSK alone; a client
 * needs ca_file or psk_file.  The modes, from either end:
 *   certificates  server key+cert, client ca_file; no psk_file.
 *   PSK           psk_file, without a server certificate / a client CA
 *                 file: a PSK handshake (with ECDHE, so forward secret);
 *                 no certificate is sent or asked for.  A peer holding
 *                 another key fails the handshake.
 *   both          certificates and psk_file.  TLS 1.3 cannot carry
 *                 certificates and an external PSK in one handshake
 *                 (RFC 8773 is not in OpenSSL), so the certificate handshake
 *                 runs, with ALPN "relocd-psk" announcing the mode, and
 *                 then, still inside tls_accept/tls_connect, the client
 *                 sends HMAC-SHA256(psk, exporter), the server finds the
 *                 line whose key made it and answers with its own: 32
 *                 bytes, exporter label "EXPORTER-relocd-psk", context
 *                 "client" or "server", length 32.  So a peer must pass
 *                 both, and a peer set up for only one of them is refused
 *                 with an error that says so.
 * In TLS 1.3 a client finishes its handshake before the server has judged
 * the client's certificate: a refusal reaches the client as the failure of
 * its first tls_read() (or tls_write()), and tls_conn_error() then gives
 * the server's alert, e.g. "tlsv1 alert unknown ca".
 *
 * Kernel TLS.  OpenSSL is asked to move the record layer into the kernel
 * after the handshake.  That needs the kernel "tls" module and an OpenSSL
 * built with it (Debian's is); OpenSSL 3.0 and 3.1 offload only the sending
 * direction of TLS 1.3, receiving came with 3.2.  So tls_conn_ktls_rx()
 * hands the receiving direction to the kernel itself, at a point of the
 * protocol where the peer sends nothing until answered (tls_ktls.h): the
 * keys come from the peer's application traffic secret, the sequence
 * number from the records read so far.  When tls_conn_ktls_full() says so,
 * the socket may be handed to another process (xl migrate-receive) which
 * then reads and writes plaintext; otherwise every byte must go through
 * tls_read/tls_write.  Not having kernel TLS is never an error.  Session
 * tickets are off, as a ticket would be a handshake record after the
 * handshake, which a plain read(2) of a kTLS socket fails on.
 *
 * I/O.  Each call takes a timeout in milliseconds (negative: none) that
 * bounds the whole call, so a silent or slow-dripping peer cannot hold the
 * process; it fails with errno ETIMEDOUT.  A timeout of 0 does not wait at
 * all: a read finding nothing ready fails at once with ETIMEDOUT.  Inside a
 * call the socket is made non-blocking; its flags are put back before the
 * call returns, so between calls the fd is as the caller left it, unless
 * the caller asked tls_conn_hold_nonblock() to skip that.  EINTR is retried
 * within the deadline.  A read that timed out may be retried; after a
 * failed write (timeout included) the connection is spent.  Writes to a
 * closed peer raise SIGPIPE: callers ignore it.
 *
 * Without kernel TLS, received records are read from the socket 256 KiB at
 * a time and buffered in user space, and the records of one tls_write()
 * are collected and sent in a few large writes before it returns: a
 * migration stream costs a few system calls per 256 KiB instead of two or
 * three per 16 KiB record.  So poll(2) on the fd cannot tell whether data
 * is waiting: ask tls_conn_pending() first.
 */
#ifndef RELOCD_TLS_H
#define RELOCD_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What keyfile_open() calls key_file in its messages. */
#define TLS_KEY_WHAT "private key"

/* Paths, any of which may be NULL; see above for the valid combinations. */
struct tls_opts {
    const char *key_file, *cert_file, *ca_file, *psk_file;
    const char *crl_file; /* revocations of ca_file's certificates (PEM) */
    /* client: the line of psk_file it offers; NULL: this host's name */
    const char *psk_identity;
};

struct tls_ctx;
struct tls_conn;

/*
 * A context for the server (server != 0) or client role.  Every file is
 * read and checked now, so a bad key, certificate, CA or PSK file is
 * reported at start-up or SIGHUP, not at the first connection.  NULL on
 * failure, with a message in err naming the file and OpenSSL's reason.
 * The caller frees it with tls_ctx_free(); the PSK is wiped then.
 */
struct tls_ctx *tls_ctx_new(int server, const struct tls_opts *o, char *err,
                            size_t errlen);
void tls_ctx_free(struct tls_ctx *t);

/*
 * The handshake on a connected socket fd, as server or client, within
 * timeout_ms.  A client with certificates (a CA file) refuses a server
 * whose certificate is not valid for host, the DNS name or IP address it
 * dialled (subjectAltName, X509_check_host / X509_check_ip_asc rules, no
 * partial wildcards): "... (hostname mismatch); the server's certificate
 * CN=x is not valid for HOST ...".  host NULL skips that check (tests);
 * with the PSK alone there is no certificate and the key proves the peer.  A
 * connection, or NULL with errno set (ETIMEDOUT, EPROTO for a TLS failure, or
 * the socket's error) and the reason in err, e.g. "certificate verify failed"
 * or "tlsv1 alert unknown ca".  The fd stays the caller's; the connection is
 * freed with tls_conn_free().
 */
struct tls_conn *tls_accept(struct tls_ctx *t, int fd, int timeout_ms,
                            char *err, size_t errlen);
struct tls_conn *tls_connect(struct tls_ctx *t, int fd, const char *host,
                             int timeout_ms, char *err, size_t errlen);

/*
 * Up to len bytes: the count read (> 0), 0 at the end of the stream, or -1
 * with errno set.  The end is 0 whether the peer sent close_notify or just
 * closed TCP; tls_conn_eof_clean() tells which.
 */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t len, int timeout_ms);
/* All len bytes, or -1 with errno set; the timeout covers the whole call. */
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t len,
                  int timeout_ms);
/*
 * Sends close_notify, waiting up to a second for room in the socket buffer
 * but not for the peer's reply.  0 when sent, -1 when not, e.g. after a
 * failure or an unclean end, when TLS forbids it.
 */
int tls_shutdown(struct tls_conn *c);
/* Frees c (NULL is a no-op); does not shut down TLS or close the fd. */
void tls_conn_free(struct tls_conn *c);

/* 1 when the last tls_read() that returned 0 had seen close_notify. */
int tls_conn_eof_clean(const struct tls_conn *c);
/*
 * 1 when bytes of the stream wait in user space, decrypted or not, where
 * poll(2) on the fd cannot see them: a poll loop must call tls_read() then,
 * not wait on the fd (the read may still wait for the rest of a record).
 */
int tls_conn_pending(const struct tls_conn *c);
/*
 * on: the socket stays non-blocking between calls too, which saves the two
 * fcntl(2)s of every call in a loop that polls the fd itself (relay_run);
 * off: the caller's flags come back.  0, or -1 with errno set.
 */
int tls_conn_hold_nonblock(struct tls_conn *c, int on);
/* Why the last tls_read/tls_write/tls_shutdown failed, for the log. */
const char *tls_conn_error(const struct tls_conn *c);

/* Whether the kernel carries the sending and receiving directions. */
void tls_conn_ktls(const struct tls_conn *c, int *tx_r, int *rx_r);
/*
 * 1 when the kernel carries both directions and no byte is buffered in
 * user space: only then may the fd be used directly by another reader or
 * writer, which sees plaintext.  TLS must not be used through c afterwards
 * except for tls_shutdown().
 */
int tls_conn_ktls_full(const struct tls_conn *c);
/*
 * Hands the receiving direction to the kernel when it carries the sending
 * one already and nothing received waits in user space: the caller calls
 * it where the peer sends nothing until answered, or the records already
 * read would be lost (they are refused then, see tls_conn_pending).  1 when
 * the kernel decrypts what arrives from now on (also when OpenSSL did it);
 * 0 when not, with the reason in tls_conn_error(), and the connection works
 * on as before.  After 1, tls_read() must not be used.
 */
int tls_conn_ktls_rx(struct tls_conn *c);
/*
 * What tls_conn_ktls_rx() gives the kernel: the keys of the peer's records
 * and the sequence number of the next one.  0, or -1 (reason as above).
 * For tests, which decrypt a record with them; the caller wipes *k.
 */
struct tls_ktls_keys;
int tls_conn_rx_keys(struct tls_conn *c, struct tls_ktls_keys *k,
                     uint64_t *seq_r);

/*
 * Who the peer proved to be, for logs: "CN=<name>", "psk:<identity>", or
 * "CN=<name>+psk:<identity>" when both were checked, where identity is the
 * name of the key file's line that the peer's key matched ("relocd" for a
 * one-key file): on a server, the client's name.  Unprintable bytes of a
 * name show as '?'.  Valid until tls_conn_free().
 */
const char *tls_conn_peer(const struct tls_conn *c);
/* The negotiated suite, e.g. "TLS_AES_256_GCM_SHA384". */
const char *tls_conn_cipher(const struct tls_conn *c);
/*
 * 1 when the peer's verified certificate is valid for host, a DNS name or
 * an IP address; 0 when not, or when the peer sent no certificate.
 */
int tls_conn_check_host(const struct tls_conn *c, const char *host);

#endif
