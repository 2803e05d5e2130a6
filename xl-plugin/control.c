/*
 * control.c - xl-relocate's subcommands that talk to the local relocd over
 * its control socket: migrate (with progress), list, cancel.
 *
 * The migration itself runs in relocd, so closing this terminal does not
 * stop it; Ctrl-C asks relocd to cancel, and the guest stays here.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "wire/anatomy.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "config/conf.h"
#include "wire/msg.h"
#include "xl-plugin/xl-relocate.h"

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
    (void)sig;
    got_int = 1;
}

/* A connected chan to relocd's control socket, or NULL after saying why. */
static struct chan *ctl_connect(const struct relocd_conf *conf)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct chan *c;
    int fd;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", conf->control_socket);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        fprintf(stderr,
                "xl-relocate: cannot reach relocd at %s: %s (is it "
                "running? see relocd(8))\n",
                conf->control_socket, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    c = chan_new(fd);
    if (!c) close(fd);
    return c;
}

/* Sends the frame in out and receives one reply; NULL after an error. */
static struct proto_frame *ctl_call(struct chan *c, struct buf *out,
                                    struct proto_frame *f)
{
    enum proto_err e = chan_send(c, out);

    if (!e) e = chan_recv_frame(c, f);
    if (e) {
        fprintf(stderr, "xl-relocate: relocd: %s\n", proto_strerror(e));
        return NULL;
    }
    return f;
}

/*
 * An ERROR frame from relocd, printed verbatim and kept in msg (NULL: not
 * kept); 1 when f was one.
 */
static int ctl_error(const struct proto_frame *f, char *msg, size_t msglen)
{
    struct msg_error m;
    char why[256];

    if (f->type != PROTO_ERROR) return 0;
    if (msg_get_error(f, &m, why, sizeof(why)) == PERR_OK) {
        fprintf(stderr, "xl-relocate: %s: %s\n", proto_err_name(m.code),
                m.message);
        if (msg) snprintf(msg, msglen, "%s", m.message);
    } else {
        fprintf(stderr, "xl-relocate: relocd sent a bad error: %s\n", why);
        if (msg) snprintf(msg, msglen, "relocd sent a bad error");
    }
    return 1;
}

static const char *jstr(yajl_val root, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);

    return v && YAJL_GET_STRING(v) ? YAJL_GET_STRING(v) : "";
}

static double jnum(yajl_val root, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);

    return v ? YAJL_GET_DOUBLE(v) : 0;
}

static int jbool(yajl_val root, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_true);

    return v != NULL;
}

struct view {
    int tty, json, quiet, bar_shown, id;
    const char *domain, *target; /* of the migration followed */
    char *msg; /* the result's message goes here, when not NULL */
    size_t msglen;
};

/* --copy-storage's figures of an event ("disk"), or 0 when it has none. */
static int disk_of(yajl_val ev, const char *key, double *v_r)
{
    const char *path[] = {"disk", key, NULL};
    yajl_val v = yajl_tree_get(ev, path, yajl_t_number);

    *v_r = v ? YAJL_GET_DOUBLE(v) : 0;
    return v != NULL;
}

/* The disks' part of a progress line: "disk 12/32 MiB, era 1.5 MiB". */
static void show_disk(yajl_val ev, int nl)
{
    double data, alloc, era, passes;

    if (!disk_of(ev, "data_bytes", &data)) return;
    disk_of(ev, "allocated_bytes", &alloc);
    disk_of(ev, "era_bytes", &era);
    disk_of(ev, "passes", &passes);
    fprintf(stderr, "%sdisk %.0f/%.0f MiB sent, pass %.0f, era %.1f MiB%s",
            "  ", data / 1048576, alloc / 1048576, passes, era / 1048576,
            nl ? "\n" : "   ");
}

static void show_iteration(struct view *v, yajl_val ev)
{
    double sent = jnum(ev, "sent_bytes"), mem = jnum(ev, "guest_bytes");
    double down = jnum(ev, "expected_downtime_ms");
    int pct = mem > 0 ? (int)(100 * (sent > mem ? 1 : sent / mem)) : 0;
    char expect[32] = "?";

    if (down >= 0) snprintf(expect, sizeof(expect), "%.0f ms", down);
    if (v->tty) {
        fprintf(stderr,
                "\r  round %2.0f  %4.0f MiB sent (%3d%% of memory)  %6.1f "
                "MB/s  dirty %7.0f pages  downtime ~%s  %s%s   ",
                jnum(ev, "iteration"), sent / 1048576, pct,
                jnum(ev, "rate_mbps"), jnum(ev, "dirty_pages"), expect,
                jstr(ev, "decision"),
                jnum(ev, "throttle_pct") > 0 ? " (throttled)" : "");
        show_disk(ev, 0);
        v->bar_shown = 1;
        return;
    }
    fprintf(stderr,
            "round %.0f: %.0f MiB sent, %.1f MB/s, %.0f dirty pages, "
            "expected downtime %s, throttle %.0f%%: %s (%s)\n",
            jnum(ev, "iteration"), sent / 1048576, jnum(ev, "rate_mbps"),
            jnum(ev, "dirty_pages"), expect, jnum(ev, "throttle_pct"),
            jstr(ev, "decision"), jstr(ev, "why"));
    show_disk(ev, 1);
}

/* Where the downtime went, when relocd measured it (anatomy.h). */
static void show_anatomy(yajl_val ev)
{
    const char *path[] = {"anatomy", NULL};
    struct anatomy a;
    char text[512];

    anat_from_json(yajl_tree_get(ev, path, yajl_t_object), &a);
    if (anat_format(&a, text, sizeof(text)) > 0)
        fprintf(stderr, "downtime anatomy: %s\n", text);
}

static void show_result(struct view *v, yajl_val ev)
{
    double bytes = jnum(ev, "bytes"), mem = jnum(ev, "guest_bytes");

    if (v->bar_shown) fputc('\n', stderr);
    if (!jbool(ev, "ok")) {
        fprintf(stderr, "xl-relocate: migration of %s to %s failed: %s\n",
                jstr(ev, "domain"), jstr(ev, "target"), jstr(ev, "message"));
        return;
    }
    if (v->quiet) return;
    fprintf(stderr,
            "migrated %s to %s in %.1f s, downtime %.0f ms, %.0f MiB on the "
            "wire (%.2fx guest memory), %.0f rounds\n",
            jstr(ev, "domain"), jstr(ev, "target"), jnum(ev, "total_s"),
            jnum(ev, "downtime_ms"), bytes / 1048576, mem > 0 ? bytes / mem : 0,
            jnum(ev, "iterations"));
    show_disk(ev, 1);
    show_anatomy(ev);
}

/* Shows one event; returns 1 after the final result, with *ok_r set. */
static int show_event(struct view *v, const struct proto_frame *f, int *ok_r)
{
    yajl_val ev = yajl_tree_parse((const char *)f->payload, NULL, 0);
    const char *name = ev ? jstr(ev, "event") : "";
    int done = !strcmp(name, "result");

    /* Each event as it comes, into a pipe too: a consumer follows live. */
    if (v->json) {
        printf("%s\n", (const char *)f->payload);
        fflush(stdout);
    }
    if (!strcmp(name, "accepted")) v->id = (int)jnum(ev, "id");
    if (done) {
        *ok_r = jbool(ev, "ok");
        if (v->msg) snprintf(v->msg, v->msglen, "%s", jstr(ev, "message"));
        if (!v->json) show_result(v, ev);
    } else if (!v->json && !v->quiet) {
        if (!strcmp(name, "iteration"))
            show_iteration(v, ev);
        else if (*jstr(ev, "message"))
            fprintf(stderr, "%s%s: %s\n", v->bar_shown ? "\n" : "", name,
                    jstr(ev, "message"));
        if (strcmp(name, "iteration")) v->bar_shown = 0;
    }
    yajl_tree_free(ev);
    return done;
}

static void request_cancel(const struct relocd_conf *conf, int id)
{
    struct buf *out = buf_new(256);
    struct chan *c = ctl_connect(conf);

    fprintf(stderr, "\nxl-relocate: cancelling migration %d...\n", id);
    if (c && out && msg_put_ctl_cancel(out, id) == 0) chan_send(c, out);
    chan_free(c);
    buf_free(out);
}

/*
 * relocd went away mid-move (killed, restarted): this client cannot know
 * the outcome, but says who settles it and how the admin checks.
 */
static void lost_relocd(const struct view *v, enum proto_err e)
{
    fprintf(stderr,
            "xl-relocate: lost relocd (%s) while it moved %s to %s: the "
            "outcome is in relocd's log. A relocd that restarts resumes the "
            "guest here unless the target was already cleared to run it; "
            "check with xl list %s, here and on %s\n",
            proto_strerror(e), v->domain, v->target, v->domain, v->target);
}

/* Follows the events of the migration until its result. */
static int follow(const struct relocd_conf *conf, struct chan *c,
                  struct view *v)
{
    /* Static: 256 KiB, too big for the stack; one call at a time. */
    static struct proto_frame f;
    enum proto_err e;
    int ok = 0, cancel_sent = 0;

    for (;;) {
        chan_set_timeout(c, 500);
        e = chan_recv_frame(c, &f);
        if (got_int && !cancel_sent && v->id) {
            request_cancel(conf, v->id);
            cancel_sent = 1;
        }
        if (e == PERR_TIMEOUT) continue;
        if (e) {
            lost_relocd(v, e);
            if (v->msg) snprintf(v->msg, v->msglen, "lost relocd");
            return 1;
        }
        if (ctl_error(&f, v->msg, v->msglen)) return 1;
        if (f.type == PROTO_CTL_EVENT && show_event(v, &f, &ok))
            return ok ? 0 : 1;
    }
}

/* What the user chose; relocd fills in the rest from its configuration. */
static void fill_req(const struct opts *o, const char *domain,
                     const char *target, struct msg_ctl_migrate *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->domain, sizeof(r->domain), "%s", domain);
    snprintf(r->target, sizeof(r->target), "%s", target);
    r->port = o->port;
    r->ssl = o->ssl;
    r->live = o->live;
    r->max_downtime_ms = o->max_downtime_ms;
    r->bandwidth_mbps = o->bandwidth_mbps;
    r->converge_set = o->converge_set;
    r->on_no_converge = o->on_no_converge;
    r->timeout_s = o->timeout_s;
    if (o->via) {
        r->via_set = 1;
        snprintf(r->via, sizeof(r->via), "%s", o->via);
    }
    r->paused = o->paused;
    r->copy_storage = o->copy_storage;
    r->nmaps = o->nmaps;
    memcpy(r->maps, o->maps, sizeof(r->maps));
}

/* Asks relocd to move domain to target and follows it; 0 when it moved. */
static int run_migrate(const struct opts *o, const struct relocd_conf *conf,
                       const char *domain, const char *target, struct view *v)
{
    struct msg_ctl_migrate req;
    struct buf *out = NULL;
    struct chan *c = NULL;
    int rc = 1;

    fill_req(o, domain, target, &req);
    v->domain = domain;
    v->target = target;
    signal(SIGINT, on_int);
    out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    c = ctl_connect(conf);
    if (!c && v->msg) snprintf(v->msg, v->msglen, "cannot reach relocd");
    if (c && out && msg_put_ctl_migrate(out, &req) == 0 &&
        chan_send(c, out) == PERR_OK)
        rc = follow(conf, c, v);
    chan_free(c);
    buf_free(out);
    return rc;
}

int ctl_migrate_one(const struct opts *o, const struct relocd_conf *conf,
                    const char *domain, const char *target, char *msg,
                    size_t msglen)
{
    struct view v = {.quiet = 1, .msg = msg, .msglen = msglen};

    snprintf(msg, msglen, "no result from relocd");
    return run_migrate(o, conf, domain, target, &v);
}

int cmd_migrate(const struct opts *o, int argc, char **argv)
{
    struct view v = {.tty = isatty(2), .json = o->json, .quiet = o->quiet};
    struct relocd_conf *conf;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: xl-relocate migrate [OPTIONS] DOMAIN "
                        "HOST[:PORT]\n");
        return 2;
    }
    if (o->nmaps && !o->copy_storage) {
        fprintf(stderr, "xl-relocate: --disk-map needs --copy-storage\n");
        return 2;
    }
    if (!(conf = cli_load_conf(o))) return 1;
    rc = run_migrate(o, conf, argv[0], argv[1], &v);
    conf_free(conf);
    return rc;
}

static void print_list(const struct proto_frame *f)
{
    const char *path[] = {"migrations", NULL};
    yajl_val root = yajl_tree_parse((const char *)f->payload, NULL, 0);
    yajl_val list = root ? yajl_tree_get(root, path, yajl_t_array) : NULL;
    size_t i, n = list ? YAJL_GET_ARRAY(list)->len : 0;

    printf("%-4s %-20s %-24s %s\n", "ID", "Domain", "Target", "Last event");
    for (i = 0; i < n; i++) {
        yajl_val m = YAJL_GET_ARRAY(list)->values[i];

        printf("%-4.0f %-20s %-24s %.80s\n", jnum(m, "id"), jstr(m, "domain"),
               jstr(m, "target"), jstr(m, "last_event"));
    }
    yajl_tree_free(root);
}

/* list and cancel: one request, one reply. */
static int simple_call(const struct opts *o, unsigned type, int id)
{
    /* Static: 256 KiB, too big for the stack; one call at a time. */
    static struct proto_frame f;
    struct relocd_conf *conf = cli_load_conf(o);
    struct buf *out = buf_new(1024);
    struct chan *c = conf ? ctl_connect(conf) : NULL;
    int rc = 1;

    if (c && out &&
        (type == PROTO_CTL_CANCEL ? msg_put_ctl_cancel(out, id)
                                  : proto_frame_put(out, type, "{}", 2)) == 0 &&
        ctl_call(c, out, &f) && !ctl_error(&f, NULL, 0)) {
        if (f.type == PROTO_CTL_LIST_RESULT)
            print_list(&f);
        else
            printf("cancel of migration %d requested; the guest stays "
                   "here\n",
                   id);
        rc = 0;
    }
    chan_free(c);
    buf_free(out);
    conf_free(conf);
    return rc;
}

int cmd_list(const struct opts *o, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "usage: xl-relocate list\n");
        return 2;
    }
    return simple_call(o, PROTO_CTL_LIST, 0);
}

int cmd_cancel(const struct opts *o, int argc, char **argv)
{
    int id = argc == 1 ? atoi(argv[0]) : 0;

    if (id <= 0) {
        fprintf(stderr, "usage: xl-relocate cancel ID (see xl-relocate "
                        "list)\n");
        return 2;
    }
    return simple_call(o, PROTO_CTL_CANCEL, id);
}
