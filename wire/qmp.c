/*
 * qmp.c - QMP client: one command at a time, every wait bounded.
 *
 * QEMU writes each message as one line of JSON (its monitor escapes
 * control characters inside strings), so a newline ends a message.  The
 * session is synchronous, as libxl's qmp_run_command is: relocd's sender
 * worker blocks in libxenguest anyway while it asks QEMU something.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "wire/buf.h"
#include "wire/clock.h"
#include "wire/json.h"
#include "wire/qmp.h"

struct qmp {
    int fd;
    long long next_id;
    int version;
    struct buf *in;
};

/* --- decoding -------------------------------------------------------------
 */

static yajl_val member(yajl_val obj, const char *key, yajl_type type)
{
    const char *path[] = {key, NULL};

    return obj ? yajl_tree_get(obj, path, type) : NULL;
}

static int int_member(yajl_val obj, const char *key)
{
    yajl_val v = member(obj, key, yajl_t_number);

    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
        YAJL_GET_INTEGER(v) > 9999)
        return -1;
    return (int)YAJL_GET_INTEGER(v);
}

static void decode_greeting(yajl_val qmp, struct qmp_msg *m)
{
    const char *path[] = {"version", "qemu", NULL};
    yajl_val v = yajl_tree_get(qmp, path, yajl_t_object);

    m->kind = QMP_GREETING;
    m->version[0] = int_member(v, "major");
    m->version[1] = int_member(v, "minor");
    m->version[2] = int_member(v, "micro");
}

/* The kind of the object root; -1 with a reason when it is none of them. */
static int decode_kind(yajl_val root, struct qmp_msg *m, char *err,
                       size_t errlen)
{
    yajl_val v, id = member(root, "id", yajl_t_number);

    m->has_id = id && YAJL_IS_INTEGER(id);
    m->id = m->has_id ? YAJL_GET_INTEGER(id) : 0;
    if ((v = member(root, "QMP", yajl_t_object))) {
        decode_greeting(v, m);
    } else if (member(root, "return", yajl_t_any)) {
        m->kind = QMP_RETURN;
    } else if ((v = member(root, "error", yajl_t_object))) {
        yajl_val cls = member(v, "class", yajl_t_string);
        yajl_val desc = member(v, "desc", yajl_t_string);

        if (!desc) {
            snprintf(err, errlen, "QMP error without a description");
            return -1;
        }
        m->kind = QMP_ERROR;
        snprintf(m->text, sizeof(m->text), "%s: %s",
                 cls ? YAJL_GET_STRING(cls) : "Error", YAJL_GET_STRING(desc));
    } else if ((v = member(root, "event", yajl_t_string))) {
        m->kind = QMP_EVENT;
        snprintf(m->text, sizeof(m->text), "%s", YAJL_GET_STRING(v));
    } else {
        snprintf(err, errlen,
                 "not a QMP message (no QMP, return, error or "
                 "event member)");
        return -1;
    }
    return 0;
}

int qmp_decode(const uint8_t *p, size_t len, struct qmp_msg *m, char *err,
               size_t errlen)
{
    char why[128];
    char *text;
    yajl_val root;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    m->version[0] = m->version[1] = m->version[2] = -1;
    if (len && p[len - 1] == '\r') len--;
    if (len > QMP_MAX_LINE) {
        snprintf(err, errlen, "QMP message of %zu bytes", len);
        return -1;
    }
    if (memchr(p, '\0', len)) {
        snprintf(err, errlen, "NUL byte in a QMP message");
        return -1;
    }
    if (json_too_deep(p, len, QMP_MAX_DEPTH)) {
        snprintf(err, errlen, "QMP message nested too deeply");
        return -1;
    }
    if (!(text = malloc(len + 1))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    root = yajl_tree_parse(text, why, sizeof(why));
    free(text);
    if (!root)
        snprintf(err, errlen, "QMP message is not JSON: %s", strtok(why, "\n"));
    else if (!YAJL_IS_OBJECT(root))
        snprintf(err, errlen, "QMP message is not a JSON object");
    else
        rc = decode_kind(root, m, err, errlen);
    yajl_tree_free(root);
    return rc;
}

/* --- the session ----------------------------------------------------------
 */

static int left_ms(long long deadline)
{
    long long now = clock_ms();

    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Waits for ev on the socket until deadline: 0, or -1 (timed out). */
static int wait_for(struct qmp *q, short ev, long long deadline)
{
    struct pollfd pfd = {q->fd, ev, 0};
    int r;

    do {
        r = poll(&pfd, 1, left_ms(deadline));
    } while (r < 0 && errno == EINTR);
    return r > 0 ? 0 : -1;
}

/* Reads more of QEMU's bytes: 0, or -1 with a reason. */
static int fill(struct qmp *q, long long deadline, char *err, size_t errlen)
{
    uint8_t *p;
    ssize_t n;

    if (buf_avail(q->in) == 0) {
        snprintf(err, errlen, "QEMU sent a line longer than %d bytes",
                 QMP_MAX_LINE);
        return -1;
    }
    if (wait_for(q, POLLIN, deadline) < 0) {
        snprintf(err, errlen, "QEMU did not answer in time");
        return -1;
    }
    if (buf_reserve(q->in, buf_avail(q->in), &p) < 0) return -1;
    do {
        n = read(q->fd, p, buf_avail(q->in));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        buf_commit(q->in, 0);
        /* A reset is a close with our command unread: QEMU went away. */
        snprintf(err, errlen, "QEMU's QMP socket %s",
                 n == 0 || errno == ECONNRESET ? "closed" : strerror(errno));
        return -1;
    }
    return buf_commit(q->in, (size_t)n);
}

/* The next message from QEMU, whole: 0, or -1 with a reason. */
static int next_msg(struct qmp *q, struct qmp_msg *m, long long deadline,
                    char *err, size_t errlen)
{
    const uint8_t *p, *nl;
    int rc;

    for (;;) {
        p = buf_ptr(q->in);
        nl = buf_len(q->in) ? memchr(p, '\n', buf_len(q->in)) : NULL;
        if (nl) break;
        if (fill(q, deadline, err, errlen) < 0) return -1;
    }
    rc = qmp_decode(p, (size_t)(nl - p), m, err, errlen);
    buf_consume(q->in, (size_t)(nl - p) + 1);
    return rc;
}

static int send_all(struct qmp *q, const char *s, size_t len,
                    long long deadline, char *err, size_t errlen)
{
    ssize_t n;

    while (len) {
        n = send(q->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && wait_for(q, POLLOUT, deadline) == 0)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            snprintf(err, errlen, "QEMU's QMP socket closed");
            return -1;
        }
        if (n < 0) {
            snprintf(err, errlen, "writing to QEMU: %s",
                     errno == EAGAIN ? "timed out" : strerror(errno));
            return -1;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Command names are QAPI identifiers; anything else is the caller's bug. */
static int cmd_ok(const char *cmd)
{
    return cmd[0] &&
           strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(cmd);
}

int qmp_execute(struct qmp *q, const char *cmd, const char *args,
                int timeout_ms, char *err, size_t errlen)
{
    long long deadline = clock_ms() + timeout_ms, id = q->next_id++;
    struct qmp_msg m;
    char *line = NULL;
    int len, rc = -1;

    if (!cmd_ok(cmd) ||
        (len = asprintf(&line, "{\"execute\":\"%s\",\"id\":%lld%s%s}\r\n", cmd,
                        id, args ? ",\"arguments\":" : "", args ? args : "")) <
            0) {
        snprintf(err, errlen, "bad QMP command %s", cmd);
        return -1;
    }
    if (send_all(q, line, (size_t)len, deadline, err, errlen) < 0) goto out;
    do {
        if (next_msg(q, &m, deadline, err, errlen) < 0) goto out;
    } while (m.kind == QMP_EVENT);
    if (m.kind == QMP_ERROR && (!m.has_id || m.id == id))
        snprintf(err, errlen, "QEMU refused %s: %s", cmd, m.text);
    else if (m.kind != QMP_RETURN || !m.has_id || m.id != id)
        snprintf(err, errlen, "QEMU answered %s out of turn", cmd);
    else
        rc = 0;
out:
    free(line);
    return rc;
}

struct qmp *qmp_open(int fd, int timeout_ms, char *err, size_t errlen)
{
    long long deadline = clock_ms() + timeout_ms;
    struct qmp *q = calloc(1, sizeof(*q));
    struct qmp_msg m;

    if (!q || !(q->in = buf_new(QMP_MAX_LINE))) {
        snprintf(err, errlen, "out of memory");
        free(q);
        close(fd);
        return NULL;
    }
    q->fd = fd;
    q->next_id = 1;
    if (next_msg(q, &m, deadline, err, errlen) < 0) goto fail;
    if (m.kind != QMP_GREETING) {
        snprintf(err, errlen, "QEMU did not greet (QMP)");
        goto fail;
    }
    if (m.version[0] >= 0 && m.version[1] >= 0 && m.version[2] >= 0)
        q->version = m.version[0] * 10000 + m.version[1] * 100 + m.version[2];
    if (qmp_execute(q, "qmp_capabilities", NULL, left_ms(deadline), err,
                    errlen) < 0)
        goto fail;
    return q;
fail:
    qmp_close(q);
    return NULL;
}

struct qmp *qmp_connect(const char *path, int timeout_ms, char *err,
                        size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    long long start = clock_ms();
    int fd;

    if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
        (int)sizeof(sun.sun_path)) {
        snprintf(err, errlen, "QMP socket path too long: %s", path);
        return NULL;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A full accept queue blocks connect(): bounded like the rest. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
        connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
        snprintf(err, errlen, "connecting to QEMU at %s: %s", path,
                 strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    return qmp_open(fd, timeout_ms - (int)(clock_ms() - start), err, errlen);
}

int qmp_version(const struct qmp *q)
{
    return q->version;
}

void qmp_close(struct qmp *q)
{
    if (!q) return;
    close(q->fd);
    buf_free(q->in);
    free(q);
}
