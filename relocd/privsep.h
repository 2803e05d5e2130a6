/*
 * privsep.h - the two processes of an incoming session (OpenSSH's
 * monitor and its unprivileged child; README.xen 10).
 *
 * The monitor stays root and does only what needs it: the allow-list, Xen
 * (pre-flight, the receiver, the verdict), the parent's slots, tunnels and
 * markers.  The slave, in the sandbox (sandbox.h), speaks to the peer: the
 * TLS handshake, every frame, every JSON parse of peer bytes.  It talks to
 * the monitor over a socketpair with the wire framing (proto.h), in the
 * sequence privsep_step() enforces; the monitor trusts none of it.
 *
 *   slave -> monitor        monitor -> slave
 *   PS_LOG  (any time)
 *   PS_ADMITTED             -
 *   PS_HELLO                -
 *   PREFLIGHT (re-encoded)  PREFLIGHT_RESULT, or ERROR
 *   MIGRATE (re-encoded)    PS_OK, or ERROR
 *   PS_ACCEPTED             with userspace TLS: one descriptor (SCM_RIGHTS)
 *
 * ERROR frames from the monitor go to the peer as they are.
 */
#ifndef RELOCD_PRIVSEP_H
#define RELOCD_PRIVSEP_H

#include <stddef.h>

struct buf;
struct chan;

/* Message types of the monitor's socket, beside proto.h's frame types. */
enum privsep_type {
    PS_LOG = 0x201, /* a log line: 'W' or 'I', then the text */
    PS_ADMITTED,    /* allow-listed, authenticated; TLS identity (< 256) */
    PS_HELLO,       /* HELLO exchanged */
    PS_OK,          /* MIGRATE approved: send ACCEPT */
    PS_ACCEPTED,    /* ACCEPT sent; 2 bytes: kernel does the I/O, TLS */
};

/* A log line's cap: longer ones are refused as broken. */
#define PS_LOG_MAX 1024
/* Lines one slave may log; a session of ours needs a handful. */
#define PS_LOG_LINES 32

/* Where the slave is in the session, as the monitor has seen it. */
enum privsep_state {
    PS_ST_START,    /* before PS_ADMITTED */
    PS_ST_ADMITTED, /* before PS_HELLO */
    PS_ST_HELLO,    /* PREFLIGHTs, then MIGRATE */
    PS_ST_MIGRATE,  /* MIGRATE seen: only PS_ACCEPTED */
    PS_ST_ACCEPTED, /* nothing more */
};

/*
 * Whether the monitor takes a message of type from the slave now; when it
 * does, *st moves on.  Returns 1 to take it, 0 to end the session.
 */
int privsep_step(enum privsep_state *st, unsigned type);

/* Sends one message of type with len bytes.  0, or -1. */
int privsep_send(struct chan *c, struct buf *out, unsigned type,
                 const void *data, size_t len);

/*
 * Passes fd over the unix socket sock (SCM_RIGHTS), or receives one within
 * timeout_ms.  0 / the descriptor, or -1 with errno.
 */
int privsep_send_fd(int sock, int fd);
int privsep_recv_fd(int sock, int timeout_ms);

/*
 * Loads the kernel's TLS module while root may: the sandboxed slave's
 * setsockopt(TCP_ULP) could not, and would fall back to a relay.
 */
void privsep_ktls_preload(void);

#endif
