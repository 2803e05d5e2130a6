/*
 * qmp.h - a client of QEMU's machine protocol (QMP), as libxl talks to the
 * device model of an HVM guest (tools/libs/light/libxl_qmp.c): connect to
 * its socket, read the greeting, negotiate capabilities, run a command and
 * wait for its answer, all within a deadline.  QEMU is another process:
 * its bytes go through a bounded buffer and a decoder that refuses what
 * is not one QMP message, like any peer's.  No Xen here: xen/dm.c knows
 * which socket belongs to which guest.
 */
#ifndef RELOCD_QMP_H
#define RELOCD_QMP_H

#include <stddef.h>
#include <stdint.h>

/* QEMU ends every message with a newline; longer lines are refused. */
#define QMP_MAX_LINE (64 * 1024)
/* Nesting of a reply (the greeting nests 4 deep). */
#define QMP_MAX_DEPTH 16

enum qmp_kind {
    QMP_GREETING, /* {"QMP": {"version": ..., "capabilities": ...}} */
    QMP_RETURN,   /* {"return": ..., "id": N} */
    QMP_ERROR,    /* {"error": {"class": C, "desc": D}, "id": N} */
    QMP_EVENT,    /* {"event": NAME, ...}: asynchronous, skipped */
};

struct qmp_msg {
    enum qmp_kind kind;
    int has_id;     /* RETURN, ERROR: whether an integer "id" came */
    long long id;   /* RETURN, ERROR: that id */
    char text[256]; /* ERROR: "class: desc"; EVENT: its name (truncated) */
    int version[3]; /* GREETING: QEMU's major, minor, micro; -1 unknown */
};

/*
 * Decodes one message, the len bytes at p (without the newline; a
 * trailing \r is allowed).  Returns 0, or -1 with a reason in err: not
 * JSON, NUL inside, nested deeper than QMP_MAX_DEPTH, not an object, or
 * none of the four kinds.
 */
int qmp_decode(const uint8_t *p, size_t len, struct qmp_msg *m, char *err,
               size_t errlen);

struct qmp;

/*
 * A session on fd, a connected stream socket (qmp_close closes it, also
 * on failure): waits for QEMU's greeting and negotiates capabilities
 * (qmp_capabilities), within timeout_ms.  Returns NULL with a reason.
 */
struct qmp *qmp_open(int fd, int timeout_ms, char *err, size_t errlen);
/* The same on a new connection to the UNIX socket at path. */
struct qmp *qmp_connect(const char *path, int timeout_ms, char *err,
                        size_t errlen);
/*
 * Runs cmd with args (a JSON object's text, or NULL for none) and waits
 * for its answer within timeout_ms, skipping events.  Returns 0 when QEMU
 * returned, or -1 with a reason in err: QEMU's error ("class: desc"), its
 * silence past the deadline, a closed socket, or a message out of place.
 * After -1 the session is unusable: close it.
 */
int qmp_execute(struct qmp *q, const char *cmd, const char *args,
                int timeout_ms, char *err, size_t errlen);
/* QEMU's version from its greeting: major * 10000 + minor * 100 + micro. */
int qmp_version(const struct qmp *q);
void qmp_close(struct qmp *q);

#endif
