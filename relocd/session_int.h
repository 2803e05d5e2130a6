/*
 * session_int.h - one incoming session's state, shared by the files that
 * serve it (README.xen 10), and by the fuzz harnesses of its two trust
 * boundaries (tests/fuzz/fuzz_slave.c, fuzz_monitor.c):
 *
 *   session.c   its life: allow-list, fork, verdict, markers, logging
 *   slave.c     the sandboxed slave: TLS, every frame of the peer's
 *   monitor.c   the monitor's side of the privsep conversation
 *   stream.c    the stream phase: gate, receiver, feeder, idle watch
 */
#ifndef RELOCD_SESSION_INT_H
#define RELOCD_SESSION_INT_H

#include <netdb.h>
#include <stdint.h>
#include <sys/types.h>

#include "relocd/privsep.h"
#include "relocd/sandbox.h"
#include "relocd/session.h"
#include "tunnel/guestnet.h"
#include "wire/msg.h"
#include "wire/proto.h"

struct msg_migrate;

struct session {
    const struct session_env *env;
    struct chan *chan; /* the peer's connection */
    struct chan *mon;  /* the monitor <-> slave socket (privsep.h) */
    struct buf *out;
    struct proto_frame *frame;
    char ip[64];
    /* The peer's name for the log, then "NAME as IDENTITY" once TLS has
     * proved who it is (tls_conn_peer), so every later line says so. */
    char fqdn[NI_MAXHOST + 256];
    int slave;    /* 1 in the sandboxed process that speaks to the peer */
    int admitted; /* allow-listed (and authenticated on the TLS port) */
    int log_ok;   /* before admission: the parent's verdict, -1: not asked */
    int preflight_ok;
    char *config;          /* the last PREFLIGHT's guest config: gate.h */
    enum privsep_state st; /* the monitor's view of the slave */
    pid_t slave_pid;       /* the monitor's child; -1: none */
    int direct, tls;       /* PS_ACCEPTED: xl reads the socket; over TLS */
    int relaying;          /* the slave relays to a running receiver */
    struct sandbox_id id;  /* relocd-privsep-user */
    unsigned slave_lines;  /* PS_LOG lines taken */
    char peer_id[256];     /* the slave's: who TLS authenticated */
    char guest[128];
    int guest_before;       /* a domain had the guest's name before: 1 */
    uint32_t domid_before;  /* its domid (a move within this host) */
    struct guestnet net;    /* the guest's vifs, from its PREFLIGHT config */
    struct migtun *tunnels; /* held from MIGRATE to the end of the stream */
    /* --copy-storage (storage_rx.h): the last PREFLIGHT's disks, their
     * tokens once MIGRATE created them (disks_made) */
    unsigned ndisks;
    int disks_made;
    struct msg_disk disks[MSG_MAX_DISKS];
    char tokens[MSG_MAX_DISKS][MSG_TOKEN_LEN + 1];
    /* A disk connection: the registered disk it writes, or -1 */
    int disk_fd;
    uint64_t disk_size;
    char disk_path[MSG_DISK_PATH_MAX];
};

/* An ERROR frame gets this long to leave; the session ends either way. */
#define SESSION_ERROR_SEND_MS 2000
/* The monitor waits this much longer than the slave's deadline. */
#define SESSION_MONITOR_SLACK_MS 5000

/* session.c */

/*
 * Sets s up to serve the peer's connection fd, which it owns from now on
 * (closed even on failure), receiving into the caller's frame (256 KiB:
 * a fuzz harness keeps one).  0, or -1 (logged); session_clear() either
 * way.
 */
int session_init(struct session *s, const struct session_env *env, int fd,
                 struct proto_frame *frame);
/* Ends the slave, if any, and frees what s holds, but for the frame. */
void session_clear(struct session *s);

/*
 * Logs a line: level 'W' or 'I'.  The slave has neither the parent's log
 * limit nor, in its chroot, syslog: it hands the line to the monitor.
 */
void session_log(struct session *s, char level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Sends ERROR (the slave to the peer, the monitor to the slave) and logs
 * the same text once.  Returns -1.
 */
int session_fail(struct session *s, enum proto_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends s->out where this process's frames go.  0, or session_fail(). */
int session_send(struct session *s);
/*
 * An authenticated peer's request is answered: the peer has a whole
 * relocd-handshake-timeout to take the answer and send its next request
 * (the monitor, the slack more).  The deadline bounds the peer; the time this
 * host's own checks took (lvm, libxl, seconds on a loaded dom0) is not the
 * peer's.
 */
void session_answered(struct session *s);
/*
 * Records the receive in flight (again, once MIGRATE named its disk tokens)
 * for a relocd that restarts before it ends.
 */
void session_mark(const struct session *s);
/* Where disk tokens are registered (storage_rx.h), into buf; NULL: none. */
const char *session_disk_dir(const struct session *s, char *buf, size_t len);

/* slave.c */

/*
 * The slave's work on the peer's connection, its monitor on sock (which
 * s owns from now on): TLS, HELLO, PREFLIGHTs, MIGRATE.  Runs in the
 * sandbox, or in a fuzz harness.  0 once ACCEPT left, or -1.
 */
int slave_serve(struct session *s, int sock);
/* The forked slave's process: enters the sandbox, serves, exits. */
void slave_main(struct session *s, int sock, const char *empty, pid_t monitor)
    __attribute__((noreturn));

/* monitor.c */

/*
 * What the slave asks, in the order privsep_step() allows, until a
 * MIGRATE was approved (its request in *m).  0 then, or -1.
 */
int monitor_negotiate(struct session *s, struct msg_migrate *m);
/*
 * Approves the MIGRATE (PS_OK) and takes the slave's PS_ACCEPTED: whether
 * xl reads the socket itself; for a relay, passes it pair[0].  0, or -1.
 */
int monitor_accept(struct session *s, int pair[2]);

/* stream.c */

/*
 * Runs the receiver on the stream of the approved MIGRATE m and waits for
 * it.  0 with xl's wait status in *status_r, or -1 when it never ran or
 * the stream's head was refused.
 */
int stream_run(struct session *s, struct msg_migrate *m, int *status_r);
/*
 * A disk connection's stream phase: the sender's passes into s->disk_fd
 * (diskrecv.h), up to its ACK.  0, or -1 (logged).
 */
int stream_disk(struct session *s);

#endif
