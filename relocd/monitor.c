/*
 * monitor.c - the monitor's side of a session's privsep conversation
 * (privsep.h, README.xen 10): it takes the slave's messages in the order
 * privsep_step() allows and decides everything itself: pre-flight, the
 * guest policy, MIGRATE's mode and flags, the parent's slot, tunnels.  It
 * trusts nothing the slave sends: a subverted slave is an authenticated
 * peer at worst.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "config/diag.h"
#include "relocd/guestpol.h"
#include "relocd/hostdev.h"
#include "relocd/privsep.h"
#include "relocd/session_int.h"
#include "relocd/storage_rx.h"
#include "tunnel/guestnet.h"
#include "tunnel/mig.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "xen/xen.h"

/*
 * The slave's next message other than a log line, which it logs: 0 with
 * s->frame, or -1 when the slave ended or broke the sequence.
 */
static int monitor_recv(struct session *s)
{
    enum proto_err e;
    unsigned type;

    for (;;) {
        if ((e = chan_recv_frame(s->mon, s->frame))) {
            if (e != PERR_EOF)
                session_log(s, 'W', "%s (%s): the session's sandbox: %s",
                            s->fqdn, s->ip, proto_strerror(e));
            return -1;
        }
        type = s->frame->type;
        if (!privsep_step(&s->st, type)) {
            session_log(s, 'W',
                        "%s (%s): the session's sandbox sent %s (0x%x) out "
                        "of sequence; ending the session",
                        s->fqdn, s->ip, proto_type_name(type), type);
            return -1;
        }
        if (type != PS_LOG) return 0;
        if (s->frame->len < 2 || s->frame->len > PS_LOG_MAX ||
            (s->frame->payload[0] != 'W' && s->frame->payload[0] != 'I'))
            return -1;
        /*
         * A subverted slave must not flood the log either: a cap per
         * session, and session_log() takes warnings before admission
         * through the parent's limit.  Not info lines: asking the parent
         * counts as a refusal of the peer's address.
         */
        if (++s->slave_lines > PS_LOG_LINES) continue;
        session_log(s, (char)s->frame->payload[0], "%.*s",
                    (int)s->frame->len - 1, s->frame->payload + 1);
    }
}

/*
 * What the guest may use in dom0 (guestpol.h): checked here, not in xen/,
 * so that every path a config takes to xl migrate-receive (and the test
 * double) meets the same rules.
 */
static void monitor_guestpol(struct session *s, const char *config,
                             struct msg_preflight_result *res)
{
    const struct relocd_conf *c = s->env->conf;
    struct guestpol_env env = {
        c->disk_allow, c->allow_scripts, c->allow_dm_args, NULL, NULL, NULL};
    struct hostdev dom0;
    char why[256];

    if (hostdev_load(&dom0, why, sizeof(why)) == 0)
        env.dom0 = &dom0;
    else
        env.dom0_err = why;
    guestpol_check(config, strlen(config), &env, res);
}

static int monitor_preflight(struct session *s)
{
    struct msg_preflight req;
    struct msg_preflight_result res = {.ok = 1};
    char why[256];
    enum proto_err e;
    unsigned i;

    e = msg_get_preflight(s->frame, &req, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    /* On loopback the running source holds the guest's name and UUID. */
    req.local = !strncmp(s->ip, "127.", 4) || !strcmp(s->ip, "::1");
    xen_preflight(&req, &res, s->guest, sizeof(s->guest));
    monitor_guestpol(s, req.config, &res);
    /* --copy-storage: the disks this host is to create (not shared ones). */
    storage_rx_check(req.disks, &req.ndisks, s->env->conf->disk_allow, &res);
    s->ndisks = req.ndisks;
    memcpy(s->disks, req.disks, sizeof(s->disks));
    if (guestnet_parse(req.config, strlen(req.config), &s->net, why,
                       sizeof(why)) < 0)
        msg_check_add(&res, "network", 0, "%s", why);
    /* The stream must carry this very config (gate.h). */
    free(s->config);
    s->config = req.config;
    req.config = NULL;
    msg_preflight_clear(&req);
    s->preflight_ok = res.ok;
    for (i = 0; i < res.nchecks; i++)
        if (!res.checks[i].ok)
            log_warnx("%s (%s): pre-flight %s failed: %s", s->fqdn, s->ip,
                      res.checks[i].check, res.checks[i].message);
    if (msg_put_preflight_result(s->out, &res) < 0)
        return session_fail(s, PERR_INTERNAL, "encoding PREFLIGHT_RESULT");
    session_answered(s);
    return session_send(s);
}

/*
 * xl migrate-receive's flags that a peer may ask for (tools/xl/xl_migrate.c:
 * the rune is "xl [-t] [-T] [-v..] migrate-receive [-e] [-d] [-p]").  Any
 * other word is refused, so a peer can never choose what relocd runs.
 */
static int flag_allowed(const char *f)
{
    static const char *const ok[] = {"-t", "-T", "-e", "-d", "-p", "-F"};
    size_t i;

    if (f[0] == '-' && f[1] == 'v' && strspn(f + 1, "v") == strlen(f + 1))
        return strlen(f) <= 6;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(f, ok[i])) return 1;
    return 0;
}

/*
 * Asks the parent for one of relocd-max-migrations slots, and to reserve
 * the guest's name: two receives of one name would both pass pre-flight,
 * and one's cleanup would destroy the other's NAME--incoming.
 */
static int monitor_take_slot(struct session *s)
{
    struct pollfd pfd = {.fd = s->env->slot_fd, .events = POLLIN};
    char req[1 + sizeof(s->guest)], reply = 0;
    int len = snprintf(req, sizeof(req), "M%s", s->guest);

    if (write(s->env->slot_fd, req, (size_t)len + 1) != len + 1 ||
        poll(&pfd, 1, 5000) != 1 || read(s->env->slot_fd, &reply, 1) != 1)
        return session_fail(s, PERR_INTERNAL, "no answer from relocd");
    if (reply == 'D')
        return session_fail(s, PERR_BUSY,
                            "%s is being received already, from another "
                            "connection",
                            s->guest);
    if (reply != 'Y')
        return session_fail(s, PERR_BUSY,
                            "%d migrations are already running "
                            "(relocd-max-migrations)",
                            s->env->conf->max_migrations);
    return 0;
}

/*
 * --copy-storage: the disks pre-flight checked, created now, one token
 * each for their connections (storage_rx.h).
 */
static int monitor_make_disks(struct session *s, const struct msg_migrate *m)
{
    char dir[600], why[700];

    if (m->ntokens != s->ndisks)
        return session_fail(s, PERR_BAD_MESSAGE,
                            "MIGRATE has %u disk tokens for %u disks "
                            "pre-flighted",
                            m->ntokens, s->ndisks);
    if (!s->ndisks) return 0;
    memcpy(s->tokens, m->tokens, sizeof(s->tokens));
    /* Recorded before the disks exist: a death in between leaves none
     * that a restarted relocd would not know of. */
    session_mark(s);
    if (!session_disk_dir(s, dir, sizeof(dir)) ||
        storage_rx_create(dir, s->disks, s->ndisks, s->tokens, why,
                          sizeof(why)) < 0)
        return session_fail(s, PERR_PREFLIGHT, "%s",
                            session_disk_dir(s, dir, sizeof(dir))
                                ? why
                                : "no run directory for disks");
    s->disks_made = 1;
    log_info("%s (%s): created %u disk(s) for %s, first %s", s->fqdn, s->ip,
             s->ndisks, s->guest, s->disks[0].path);
    return 0;
}

/*
 * A disk connection (mode "disk"): its token names a disk that a receive
 * in flight created; no pre-flight, no slot of its own.
 */
static int monitor_disk(struct session *s, const struct msg_migrate *m)
{
    char dir[600], why[600];

    if (m->ntokens != 1 || m->nflags)
        return session_fail(s, PERR_BAD_MESSAGE,
                            "a disk connection has one token and no flags");
    if (!session_disk_dir(s, dir, sizeof(dir)))
        return session_fail(s, PERR_INTERNAL, "no run directory for disks");
    s->disk_fd = storage_rx_open(dir, m->tokens[0], &s->disk_size, s->disk_path,
                                 sizeof(s->disk_path), why, sizeof(why));
    if (s->disk_fd < 0) return session_fail(s, PERR_UNEXPECTED, "%s", why);
    return 0;
}

static int monitor_migrate(struct session *s, struct msg_migrate *m)
{
    char why[256];
    enum proto_err e;
    unsigned i;

    e = msg_get_migrate(s->frame, m, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    if (!strcmp(m->mode, "disk")) return monitor_disk(s, m);
    if (strcmp(m->mode, "xl-stream"))
        return session_fail(s, PERR_BAD_MESSAGE, "unknown mode '%s'", m->mode);
    for (i = 0; i < m->nflags; i++)
        if (!flag_allowed(m->flags[i]))
            return session_fail(s, PERR_BAD_FLAGS,
                                "'%s' is not a flag of xl migrate-receive "
                                "that relocd passes on",
                                m->flags[i]);
    if (!s->preflight_ok)
        return session_fail(s, PERR_UNEXPECTED,
                            "MIGRATE needs a successful PREFLIGHT first");
    if (monitor_take_slot(s)) return -1;
    /* Before the receiver starts: the guest may resume as soon as it ends. */
    if (migtun_prepare(s->env->conf, MIGTUN_TARGET, s->ip, &s->net, &s->tunnels,
                       why, sizeof(why)) < 0)
        return session_fail(s, PERR_PREFLIGHT, "%s", why);
    return monitor_make_disks(s, m);
}

int monitor_accept(struct session *s, int pair[2])
{
    if (privsep_send(s->mon, s->out, PS_OK, NULL, 0) < 0 ||
        monitor_recv(s) < 0 || s->frame->type != PS_ACCEPTED ||
        s->frame->len != 2)
        return -1;
    s->direct = s->frame->payload[0] == 1;
    s->tls = s->frame->payload[1] == 1;
    /* Which path ran, for the admin and the lab (relocd-ktls). */
    log_info("%s (%s): the stream %s", s->fqdn, s->ip,
             !s->tls     ? "is plain TCP: xl uses the socket itself"
             : s->direct ? "is kernel TLS both ways: xl uses the socket "
                           "itself, no relay"
                         : "is TLS in user space: the sandbox relays it");
    if (!s->direct && privsep_send_fd(chan_fd(s->mon), pair[0]) < 0) {
        log_warn("%s (%s): passing the stream to the sandbox", s->fqdn, s->ip);
        return -1;
    }
    return 0;
}

int monitor_negotiate(struct session *s, struct msg_migrate *m)
{
    for (;;) {
        if (monitor_recv(s) < 0) return -1;
        switch (s->frame->type) {
        case PS_ADMITTED:
            /* Who TLS proved the peer is, named on every later line. */
            if (s->frame->len > 0 && s->frame->len < 256)
                diag_appendf(s->fqdn, sizeof(s->fqdn), " as %.*s",
                             (int)s->frame->len, s->frame->payload);
            s->admitted = 1;
            break;
        case PROTO_PREFLIGHT:
            if (monitor_preflight(s)) return -1;
            break;
        case PROTO_MIGRATE:
            return monitor_migrate(s, m);
        }
    }
}
