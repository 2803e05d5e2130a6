/*
 * session.c - one incoming connection, in its own process (README.xen 3,
 * 10): the allow-list, then the sandboxed slave that speaks to the peer
 * (slave.c), the monitor's answers to it (monitor.c) and the stream
 * (stream.c); then the verdict, and the markers of receives in flight.
 *
 * Nothing here touches Xen until the peer is allow-listed, authenticated,
 * has said HELLO and asked to MIGRATE with valid flags; pre-flight only
 * reads.  Every reply to a bad peer is a typed ERROR frame.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/conf.h"
#include "config/diag.h"
#include "relocd/peer.h"
#include "relocd/privsep.h"
#include "relocd/rundir.h"
#include "relocd/sandbox.h"
#include "relocd/session_int.h"
#include "relocd/storage_rx.h"
#include "tunnel/mig.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/fdio.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "xen/xen.h"

/*
 * Before admission a peer is anyone: its failures share the parent's
 * per-source log limit (admit.h), asked once per session ('L').  After
 * it, or without a parent to ask, everything is logged.  A parent that
 * does not answer within a second is busy, most likely with a flood:
 * the line is dropped then, never logged past the limit (the lab saw
 * 1352 lines in 8 minutes of flood when this defaulted to logging).
 */
static int session_may_log(struct session *s)
{
    struct pollfd pfd = {.fd = s->env->slot_fd, .events = POLLIN};
    char reply = 'N';

    if (s->admitted || s->env->slot_fd < 0) return 1;
    if (s->log_ok >= 0) return s->log_ok;
    if (write(s->env->slot_fd, "L", 1) != 1 || poll(&pfd, 1, 1000) != 1 ||
        read(s->env->slot_fd, &reply, 1) != 1)
        reply = 'N';
    s->log_ok = reply == 'Y';
    return s->log_ok;
}

void session_log(struct session *s, char level, const char *fmt, ...)
{
    char line[PS_LOG_MAX];
    struct buf *b;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line + 1, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (!s->slave) {
        if (level == 'I')
            log_info("%s", line + 1);
        else if (session_may_log(s))
            log_warnx("%s", line + 1);
        return;
    }
    line[0] = level;
    if ((b = buf_new(PROTO_HDR_LEN + PS_LOG_MAX))) {
        privsep_send(s->mon, b, PS_LOG, line, strlen(line + 1) + 1);
        buf_free(b);
    }
}

/* Where this process's frames go: the slave forwards the monitor's. */
static struct chan *session_out_chan(struct session *s)
{
    return s->slave || !s->mon ? s->chan : s->mon;
}

int session_fail(struct session *s, enum proto_err code, const char *fmt, ...)
{
    struct chan *c = session_out_chan(s);
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(text, sizeof(text), fmt, ap);
    va_end(ap);
    session_log(s, 'W', "%s (%s): %s: %s", s->fqdn, s->ip, proto_err_name(code),
                text);
    buf_reset(s->out);
    if (code != PERR_EOF && code != PERR_IO &&
        msg_put_error(s->out, code, "%s", text) == 0) {
        if (c == s->chan) chan_set_timeout(c, SESSION_ERROR_SEND_MS);
        chan_send(c, s->out);
    }
    return -1;
}

int session_send(struct session *s)
{
    enum proto_err e = chan_send(session_out_chan(s), s->out);

    return e ? session_fail(s, e, "sending: %s", proto_strerror(e)) : 0;
}

void session_answered(struct session *s)
{
    int ms = s->env->conf->handshake_timeout * 1000;

    if (s->slave || !s->mon)
        chan_set_timeout(s->chan, ms);
    else
        chan_set_timeout(s->mon, ms + SESSION_MONITOR_SLACK_MS);
}

/* The state directory sub beside incoming_dir ("empty", "disks"). */
static const char *beside_incoming(const char *incoming_dir, const char *sub,
                                   char *buf, size_t len)
{
    char dir[512];

    if (!incoming_dir) return NULL; /* a unit test: no run dir */
    snprintf(dir, sizeof(dir), "%s", incoming_dir);
    return snprintf(buf, len, "%s/%s", dirname(dir), sub) < (int)len ? buf
                                                                     : NULL;
}

/* The sandbox's chroot: "empty" beside the incoming markers. */
static const char *session_empty_dir(const struct session *s, char *buf,
                                     size_t len)
{
    return beside_incoming(s->env->incoming_dir, "empty", buf, len);
}

const char *session_disk_dir(const struct session *s, char *buf, size_t len)
{
    return beside_incoming(s->env->incoming_dir, "disks", buf, len);
}

/*
 * Forks the slave, which speaks to the peer from now on.  Nothing of the
 * peer's has been read yet.  0, or -1 (logged).
 */
static int session_fork_slave(struct session *s)
{
    char emptybuf[600], err[256];
    const char *empty = session_empty_dir(s, emptybuf, sizeof(emptybuf));
    pid_t monitor = getpid();
    int sp[2];

    if (empty && sandbox_empty_dir(empty, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): no sandbox for the session: %s", s->fqdn, s->ip,
                  err);
        return -1;
    }
    if (s->env->tls) privsep_ktls_preload();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        log_warn("%s (%s): socketpair", s->fqdn, s->ip);
        return -1;
    }
    s->slave_pid = fork();
    if (s->slave_pid == 0) {
        close(sp[0]);
        slave_main(s, sp[1], empty, monitor);
    }
    close(sp[1]);
    if (s->slave_pid < 0 || !(s->mon = chan_new(sp[0]))) {
        log_warn("%s (%s): fork", s->fqdn, s->ip);
        if (!s->mon) close(sp[0]);
        return -1;
    }
    chan_set_timeout(s->mon,
                     chan_time_left(s->chan) + SESSION_MONITOR_SLACK_MS);
    return 0;
}

/*
 * Ends the slave.  A relay is waited for: it carries the end of the
 * stream.  Otherwise the slave gets the time to pass on the monitor's
 * last ERROR, then is killed.
 */
static void session_reap_slave(struct session *s)
{
    int pfd, status;
    struct pollfd p;

    if (s->slave_pid <= 0) return;
    if (!s->relaying) {
        if (s->mon) shutdown(chan_fd(s->mon), SHUT_WR);
        pfd = pidfd_open(s->slave_pid, 0);
        p = (struct pollfd){.fd = pfd, .events = POLLIN};
        if (pfd >= 0) {
            (void)!poll(&p, 1, SESSION_ERROR_SEND_MS + 500);
            close(pfd);
        }
        kill(s->slave_pid, SIGKILL);
    }
    while (waitpid(s->slave_pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->slave_pid = -1;
}

/* Who the allow-list's DNS lookup runs as (peer.h). */
static const struct sandbox_id *session_lookup_id;

static int session_confine_lookup(void)
{
    char err[256];

    if (sandbox_drop_user(session_lookup_id, err, sizeof(err)) == 0) return 0;
    log_warnx("reverse DNS lookup: %s", err);
    return -1;
}

/* The allow-list, before the slave reads any byte of the peer's. */
static int session_admit(struct session *s, const struct sockaddr *sa,
                         socklen_t salen)
{
    const struct relocd_conf *conf = s->env->conf;
    char err[256];

    if (peer_addr_text(sa, salen, s->ip, sizeof(s->ip)) < 0)
        return session_fail(s, PERR_INTERNAL, "unknown address family");
    if (sandbox_id_lookup(conf->privsep_user, &s->id, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): no sandbox for the session: %s", s->fqdn, s->ip,
                  err);
        return -1;
    }
    session_lookup_id = &s->id;
    peer_lookup_confine = session_confine_lookup;
    /* Reverse DNS and the TLS handshake share the handshake deadline. */
    if (!peer_allowed(conf->acl, s->ip, NULL, chan_time_left(s->chan), s->fqdn,
                      sizeof(s->fqdn))) {
        /* xend's words, so existing log watches keep working. */
        if (session_may_log(s))
            log_warnx("Rejected connection from %s (%s).", s->ip, s->fqdn);
        if (!s->env->tls)
            session_fail(s, PERR_DENIED,
                         "%s is not in "
                         "xend-relocation-hosts-allow of this host",
                         s->ip);
        return -1;
    }
    return session_fork_slave(s);
}

/* The marker of a receive in flight: dir/NAME (names never hold '/'). */
static int marker_path(const char *dir, const char *name, char *path,
                       size_t len)
{
    if (!dir || !name[0] || strchr(name, '/') || name[0] == '.') return -1;
    return snprintf(path, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
}

/*
 * The marker says who receives (this process: a restarted relocd leaves a
 * receive that outlived its parent alone) and which disks it made, so
 * that one cut short can be cleaned up.  Written whole or not at all.
 */
static void marker_write(const struct session *s)
{
    char path[512], tmp[600], text[64 + MSG_MAX_DISKS * (MSG_TOKEN_LEN + 8)];
    size_t n;
    unsigned i;
    int fd;

    if (marker_path(s->env->incoming_dir, s->guest, path, sizeof(path)) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->env->incoming_dir,
                 s->guest) >= (int)sizeof(tmp))
        return;
    n = (size_t)snprintf(text, sizeof(text), "pid %d\n", (int)getpid());
    for (i = 0; i < s->ndisks && s->tokens[i][0]; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "disk %s\n",
                              s->tokens[i]);
    mkdir(s->env->incoming_dir, 0700);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (fdio_write_all(fd, text, n) < 0 || close(fd) < 0 ||
        rename(tmp, path) < 0) {
        log_warn("%s: cannot record the receive in flight", path);
        unlink(tmp);
    }
}

void session_mark(const struct session *s)
{
    marker_write(s);
}

static void marker_clear(const struct session *s)
{
    char path[512];

    if (marker_path(s->env->incoming_dir, s->guest, path, sizeof(path)) == 0)
        unlink(path);
}

/*
 * A marker's content: the receiving pid (0 from an older relocd, which
 * wrote an empty marker) and the disk tokens.  The number of tokens, or -1.
 */
static int marker_read(const char *path, pid_t *pid_r,
                       char tokens[][MSG_TOKEN_LEN + 1])
{
    char line[128], tok[MSG_TOKEN_LEN + 2];
    FILE *f = fopen(path, "re");
    int pid, n = 0;

    *pid_r = 0;
    if (!f) return -1;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "pid %d", &pid) == 1 && pid > 0)
            *pid_r = (pid_t)pid;
        else if (n < MSG_MAX_DISKS && sscanf(line, "disk %33s", tok) == 1 &&
                 msg_token_ok(tok))
            memcpy(tokens[n++], tok, MSG_TOKEN_LEN + 1); /* checked length */
    }
    fclose(f);
    return n;
}

/*
 * The disks a receive cut short made: gone, unless its guest runs here on
 * them (or Xen cannot say).
 */
static void recover_disks(const char *disk_dir, const char *name,
                          char tokens[][MSG_TOKEN_LEN + 1], int n)
{
    char path[MSG_DISK_PATH_MAX];
    uint64_t size;
    int i, used;

    for (i = 0; disk_dir && i < n; i++) {
        if (storage_rx_lookup(disk_dir, tokens[i], &size, path, sizeof(path)) <
            0)
            continue;
        used = xen_disk_used_by(name, path);
        if (storage_rx_reap(disk_dir, tokens[i], used != 0, path,
                            sizeof(path)) < 0)
            continue;
        if (used > 0)
            log_warnx("kept the disk copy %s: %s runs here on it", path, name);
        else if (used < 0)
            log_warnx("kept the disk copy %s: Xen cannot say whether %s "
                      "runs here on it; check with xl list -l %s",
                      path, name, name);
        else
            log_warnx("removed the disk copy %s that the receive of %s made",
                      path, name);
    }
}

int session_recover(const char *dir)
{
    char path[512], disks[600], tokens[MSG_MAX_DISKS][MSG_TOKEN_LEN + 1];
    const char *disk_dir = beside_incoming(dir, "disks", disks, sizeof(disks));
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0, ntok;
    pid_t pid;

    while (d && (e = readdir(d))) {
        if (marker_path(dir, e->d_name, path, sizeof(path))) continue;
        ntok = marker_read(path, &pid, tokens);
        if (pid && rundir_mark_alive(pid)) {
            log_warnx("a receive of %s is still run by its session (pid %d); "
                      "leaving it to that process",
                      e->d_name, (int)pid);
            continue;
        }
        log_warnx("a receive of %s was cut short by relocd's death; "
                  "cleaning up",
                  e->d_name);
        xen_receive_cleanup(e->d_name);
        recover_disks(disk_dir, e->d_name, tokens, ntok);
        unlink(path);
        n++;
    }
    if (d) closedir(d);
    return n;
}

/*
 * Whether the guest runs here now, which xl migrate-receive's exit status
 * does not tell (xl_migrate.c migrate_receive()): it exits 0 when its copy
 * failed to start, after destroying it and giving the guest back, and 1
 * when writing its report failed after the guest had started.  Xen tells;
 * xl's status decides only when Xen cannot be asked.
 */
static int session_verdict(struct session *s, int status)
{
    int xl_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    uint32_t domid;
    int here = s->guest[0] ? xen_domain_lookup(s->guest, &domid) : -1;

    if (here < 0) return xl_ok ? 0 : -1;
    /* Still the source's own copy: the guest moves within this host. */
    if (here && s->guest_before == 1 && domid == s->domid_before) here = 0;
    if (here != xl_ok)
        log_warnx("%s (%s): xl migrate-receive %s, but %s %s here", s->fqdn,
                  s->ip, xl_ok ? "exited 0" : "failed", s->guest,
                  here ? "runs" : "does not run");
    return here ? 0 : -1;
}

/*
 * The disks MIGRATE created: kept when the guest runs here, else removed
 * (the copy is incomplete, or the guest stays on the source).
 */
static void session_disks_end(struct session *s, int keep)
{
    char dir[600];

    if (!s->disks_made) return;
    storage_rx_finish(session_disk_dir(s, dir, sizeof(dir)), s->disks,
                      s->ndisks, s->tokens, keep);
    if (!keep)
        log_warnx("%s (%s): removed the %u disk copie(s) of %s", s->fqdn, s->ip,
                  s->ndisks, s->guest);
    s->disks_made = 0;
}

/* A disk connection: no guest, no marker; its disk belongs to a receive. */
static int session_disk(struct session *s)
{
    int rc;

    log_info("%s (%s): receiving disk %s", s->fqdn, s->ip, s->disk_path);
    rc = stream_disk(s);
    session_reap_slave(s);
    return rc;
}

static int session_run(struct session *s, const struct sockaddr *sa,
                       socklen_t salen)
{
    struct msg_migrate m;
    int rc, status;

    chan_set_timeout(s->chan, s->env->conf->handshake_timeout * 1000);
    if (session_admit(s, sa, salen) || monitor_negotiate(s, &m)) return -1;
    if (s->disk_fd >= 0) return session_disk(s);
    log_info("%s (%s): receiving %s", s->fqdn, s->ip, s->guest);
    session_mark(s);
    rc = stream_run(s, &m, &status) ? -1 : session_verdict(s, status);
    session_reap_slave(s);
    migtun_finish(s->tunnels, rc == 0);
    s->tunnels = NULL;
    if (rc == 0) {
        log_info("%s (%s): received %s", s->fqdn, s->ip, s->guest);
    } else {
        log_warnx("%s (%s): receiving %s failed; it stays on the source",
                  s->fqdn, s->ip, s->guest);
        xen_receive_cleanup(s->guest[0] ? s->guest : NULL);
    }
    session_disks_end(s, rc == 0);
    marker_clear(s);
    return rc ? -1 : 0;
}

int session_init(struct session *s, const struct session_env *env, int fd,
                 struct proto_frame *frame)
{
    *s = (struct session){.env = env,
                          .frame = frame,
                          .log_ok = -1,
                          .slave_pid = -1,
                          .disk_fd = -1};
    snprintf(s->ip, sizeof(s->ip), "?");
    snprintf(s->fqdn, sizeof(s->fqdn), "?");
    s->chan = chan_new(fd);
    s->out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    if (s->chan && s->out && s->frame) return 0;
    log_warnx("session: out of memory");
    if (!s->chan) close(fd);
    return -1;
}

void session_clear(struct session *s)
{
    session_reap_slave(s);
    if (s->disk_fd >= 0) close(s->disk_fd);
    s->disk_fd = -1;
    chan_free(s->mon);
    chan_free(s->chan);
    buf_free(s->out);
    free(s->config);
}

int session_serve(const struct session_env *env, int fd,
                  const struct sockaddr *sa, socklen_t salen)
{
    struct proto_frame *frame = malloc(sizeof(*frame));
    struct session s;
    int rc = -1;

    if (session_init(&s, env, fd, frame) == 0) rc = session_run(&s, sa, salen);
    session_clear(&s);
    free(frame);
    return rc < 0 ? 1 : 0;
}
