/*
 * test_sender.c - the sender worker's state machine (relocd/sender.c),
 * run in this process against the Xen double, each case checked against
 * what stock xl 4.17 does in the same spot (tools/xl/xl_migrate.c,
 * migrate_domain()).
 *
 * sender_run() goes `-s ""` style (via_set, via ""): the stream goes into
 * `sh -c TARGET`, and TARGET runs this very program as the receiver
 * ("--receiver MODE LOG"), which parses the stream and then plays xl
 * migrate-receive's side of the commit handshake exactly as MODE says.  It
 * appends what it saw to LOG, with the fake guest's state at each step
 * (RELOCD_FAKE_STATE): the sender's state machine seen from the far end.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "config/conf.h"
#include "relocd/sender.h"
#include "wire/fdio.h"
#include "wire/log.h"
#include "wire/xlstream.h"
#include "t.h"

#define GUEST "g1"
#define AWAY GUEST "--migratedaway"

static char dir[] = "/tmp/test_sender.XXXXXX";
static char self[4096];

/* --- the receiver (a child of sender_run, through sh) -------------------- */

static void recv_note(const char *log, const char *what)
{
    const char *dir_r = getenv("RELOCD_FAKE_STATE");
    char path[512], state[128] = "";
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir_r ? dir_r : ".", GUEST);
    if ((f = fopen(path, "r"))) {
        n = fread(state, 1, sizeof(state) - 1, f);
        state[n] = '\0';
        state[strcspn(state, "\n")] = '\0';
        fclose(f);
    }
    if ((f = fopen(log, "a"))) {
        fprintf(f, "%s %s\n", what, state);
        fclose(f);
    }
}

static int skip(size_t n)
{
    static char junk[65536];
    size_t chunk;

    for (; n; n -= chunk) {
        chunk = n < sizeof(junk) ? n : sizeof(junk);
        if (fdio_read_exact(0, junk, chunk)) return -1;
    }
    return 0;
}

/* Records (u32 type, u32 length, body padded to 8) up to END (type 0). */
static int skip_records(int libxl)
{
    uint32_t rec[2];

    for (;;) {
        if (fdio_read_exact(0, rec, sizeof(rec)) || skip((rec[1] + 7u) & ~7u))
            return -1;
        if (rec[0] == 0) return 0;
        /* LIBXC_CONTEXT: libxc's image and domain headers, its records. */
        if (libxl && rec[0] == 1 && (skip(24 + 12) || skip_records(0)))
            return -1;
    }
}

/* The banner, then the whole stream, as xl migrate-receive reads it. */
static int recv_stream(int cut)
{
    uint8_t hdr[XLS_HDR_LEN];
    struct xls_header h;
    char err[256];

    if (fdio_write_all(1, XLS_BANNER, XLS_BANNER_LEN) ||
        fdio_read_exact(0, hdr, sizeof(hdr)) ||
        xls_parse_header(hdr, sizeof(hdr), &h, err, sizeof(err)) ||
        skip(h.optional_data_len) || skip(16 /* libxl stream header */))
        return -1;
    return cut ? -1 : skip_records(1);
}

static int receiver(const char *mode, const char *log)
{
    char status = strcmp(mode, "ok") ? 3 /* -ERROR_FAIL */ : 0;
    char go[sizeof(XLS_MSG_GO)], garbage[sizeof(XLS_MSG_READY)];
    char pid[32];

    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    recv_note(log, pid);
    if (!strcmp(mode, "no-banner")) return 1;
    if (recv_stream(!strcmp(mode, "cut")) < 0) {
        recv_note(log, "stream-broken");
        return 1;
    }
    recv_note(log, "stream-end");
    if (!strcmp(mode, "no-ready")) return 1;
    if (!strcmp(mode, "garbage")) {
        memset(garbage, '?', sizeof(garbage));
        fdio_write_all(1, garbage, sizeof(garbage));
        skip(SIZE_MAX); /* until the sender hangs up */
        return 1;
    }
    if (fdio_write_all(1, XLS_MSG_READY, sizeof(XLS_MSG_READY)) ||
        fdio_read_exact(0, go, sizeof(go)) ||
        memcmp(go, XLS_MSG_GO, sizeof(go))) {
        recv_note(log, "no-go");
        return 1;
    }
    recv_note(log, "go");
    if (!strcmp(mode, "gone-after-go")) return 1;
    fdio_write_all(1, XLS_MSG_REPORT, sizeof(XLS_MSG_REPORT));
    fdio_write_all(1, &status, 1);
    /* xl's target destroyed its copy: the sender may have the guest back. */
    if (!strcmp(mode, "fail"))
        fdio_write_all(1, XLS_MSG_GO, sizeof(XLS_MSG_GO));
    return status ? 1 : 0;
}

/* --- the sender (here) --------------------------------------------------- */

struct events {
    char text[65536];
    size_t len;
    int cancel; /* sender_cancel() at the first pre-copy iteration */
    int cancelled;
};

/* What a case left behind. */
struct outcome {
    int rc;
    int ok;        /* the result event's "ok", -1 without one */
    int nresults;  /* result events: exactly one */
    int last;      /* the result was the last event */
    int cancelled; /* the case's sender_cancel() was called */
    int downtime;  /* the result has downtime_ms: it was suspended */
    char message[1024];
    char state[128]; /* the fake guest's last state */
    char seen[1024]; /* the receiver's log */
    int reaped;      /* no child of ours is left */
    int gone;        /* the receiver process is gone */
    int marked;      /* markers of the move left in outgoing/, -1: none made */
};

static void collect(void *data, const char *json)
{
    struct events *ev = data;
    int n =
        snprintf(ev->text + ev->len, sizeof(ev->text) - ev->len, "%s\n", json);

    if (n > 0 && (size_t)n < sizeof(ev->text) - ev->len) ev->len += (size_t)n;
    if (ev->cancel && !ev->cancelled &&
        strstr(json, "\"event\":\"iteration\"")) {
        ev->cancelled = 1;
        sender_cancel();
    }
}

static void read_text(const char *name, char *out, size_t len)
{
    char path[sizeof(dir) + 16];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "r"))) {
        n = fread(out, 1, len - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

static void parse_result(const char *line, struct outcome *o)
{
    const char *okp[] = {"ok", NULL}, *msgp[] = {"message", NULL};
    const char *dtp[] = {"downtime_ms", NULL};
    yajl_val root = yajl_tree_parse(line, NULL, 0), v;

    o->nresults++;
    if (!root) return;
    v = yajl_tree_get(root, okp, yajl_t_any);
    o->ok = YAJL_IS_TRUE(v) ? 1 : YAJL_IS_FALSE(v) ? 0 : -1;
    v = yajl_tree_get(root, msgp, yajl_t_string);
    snprintf(o->message, sizeof(o->message), "%s", v ? YAJL_GET_STRING(v) : "");
    o->downtime = yajl_tree_get(root, dtp, yajl_t_number) != NULL;
    yajl_tree_free(root);
}

/* Whether the worker left a marker of its move: it never should. */
static int marker_left(void)
{
    char path[sizeof(dir) + 16];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "%s/outgoing", dir);
    if (!(d = opendir(path))) return -1; /* never made: no marker at all */
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void run(const char *mode, int cancel, struct outcome *o)
{
    static struct events ev;
    struct relocd_conf *conf = NULL;
    struct sender_req req = {.domain = GUEST,
                             .live = 1,
                             .max_downtime_ms = 300,
                             .on_stuck = CONVERGE_ABORT,
                             .via_set = 1};
    char err[256], log[sizeof(dir) + 16], sxp[sizeof(dir) + 64], *line, *next;
    long pid;

    memset(o, 0, sizeof(*o));
    memset(&ev, 0, sizeof(ev));
    ev.cancel = cancel;
    o->ok = -1;
    snprintf(log, sizeof(log), "%s/recv.log", dir);
    unlink(log);
    /* req.target is 300 bytes: the program's path must fit in it. */
    if (snprintf(req.target, sizeof(req.target), "exec %.200s --receiver %s %s",
                 self, mode, log) >= (int)sizeof(req.target) ||
        strlen(self) > 200)
        abort();
    /* The run directory, where the worker keeps the marker of its move. */
    snprintf(sxp, sizeof(sxp), "(relocd-control-socket %s/relocd.sock)", dir);
    if (conf_parse(sxp, strlen(sxp), "t.sxp", &conf, err, sizeof(err)) < 0)
        abort();
    o->rc = sender_run(conf, &req, collect, &ev);
    conf_free(conf);
    o->marked = marker_left();
    o->reaped = waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
    for (line = ev.text; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        o->last = strstr(line, "\"event\":\"result\"") != NULL;
        if (o->last) parse_result(line, o);
    }
    o->cancelled = ev.cancelled;
    read_text(GUEST, o->state, sizeof(o->state));
    o->state[strcspn(o->state, "\n")] = '\0';
    read_text("recv.log", o->seen, sizeof(o->seen));
    o->gone = sscanf(o->seen, "pid %ld", &pid) == 1 &&
              kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* What every case shares: one result, agreeing with rc; nothing left. */
static void expect(const char *test, const struct outcome *o, int rc)
{
    T_OK(o->rc == rc, "%s: sender_run() returned %d, wanted %d (%s)", test,
         o->rc, rc, o->message);
    T_OK(o->nresults == 1, "%s: %d result events", test, o->nresults);
    T_OK(o->last, "%s: events after the result", test);
    T_OK(o->ok == !rc, "%s: result ok %d with rc %d", test, o->ok, rc);
    T_OK(o->reaped, "%s: a child of the sender was not reaped", test);
    T_OK(o->gone, "%s: the receiver still runs (log: %s)", test, o->seen);
    /* Settled by the worker itself: nothing for the parent to redo. */
    T_OK(o->marked == 0, "%s: %d marker(s) left in outgoing/", test, o->marked);
}

#define T_HAS(hay, needle)                                                     \
    T_OK(strstr((hay), (needle)) != NULL, "no \"%s\" in \"%s\"", (needle),     \
         (hay))

/*
 * xl: "ready" read, rename to NAME--migratedaway, "go" written, a report
 * of 0: libxl_domain_destroy() here, "Migration successful.", exit 0.
 */
static void test_happy_path_destroys_the_guest_here(void)
{
    struct outcome o;

    run("ok", 0, &o);
    expect(__func__, &o, 0);
    T_EQ_STR(o.message, "the guest runs on the target");
    T_EQ_STR(o.state, "destroyed");
    /* Suspended when the stream ended, renamed away before "go". */
    T_HAS(o.seen, "stream-end suspended\n");
    T_HAS(o.seen, "go renamed:" AWAY "\n");
    T_OK(o.downtime, "no downtime_ms in the result");
}

/*
 * xl: migrate_read_fixedmessage() of the ready message fails (EOF), goto
 * failed_resume: "Migration failed, resuming at sender.",
 * libxl_domain_resume(suspend_cancel=1), still under its own name.
 */
static void test_receiver_gone_before_ready_resumes_here(void)
{
    struct outcome o;

    run("no-ready", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_HAS(o.seen, "stream-end suspended\n");
    T_HAS(o.message, "the target did not take the guest");
    T_HAS(o.message, "resumed here");
}

/*
 * xl: report status != 0: "Target reports startup failure", then it
 * reads the target's permission to resume (sent once the target destroyed
 * its copy), renames the guest back, libxl_domain_resume(suspend_cancel=1),
 * "Migration failed due to problems at target.", exit 1.
 */
static void test_target_unpause_failure_resumes_here(void)
{
    struct outcome o;

    run("fail", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_HAS(o.seen, "go renamed:" AWAY "\n");
    T_HAS(o.message, "the target could not start the guest");
    T_HAS(o.message, "resumed here");
}

/*
 * xl: a failure report without the permission that follows it (the target
 * failed to destroy its copy: xl migrate-receive exits without granting
 * it; the copy may still exist there): migrate_read_fixedmessage() of
 * "permission for sender to resume" fails, goto failed_badly: the guest
 * stays suspended as NAME--migratedaway, "Domain state is now undefined".
 */
static void test_failure_report_without_permission_leaves_it_suspended(void)
{
    struct outcome o;

    run("fail-gone", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "renamed:" AWAY);
    T_HAS(o.message, "suspended here as " AWAY);
    T_HAS(o.message, "run `xl destroy ");
}

/*
 * xl: "go" written, reading the report fails: goto failed_badly, "**
 * Migration failed during final handshake **", nothing resumed, nothing
 * destroyed, the guest left suspended as NAME--migratedaway.
 */
static void test_receiver_gone_after_go_leaves_it_suspended(void)
{
    struct outcome o;

    run("gone-after-go", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "renamed:" AWAY);
    T_HAS(o.seen, "go renamed:" AWAY "\n");
    T_HAS(o.message, "connection lost during the final handshake: the guest "
                     "is suspended here as " AWAY);
    T_HAS(o.message, "if not, run `relocd --resume ");
}

/*
 * xl: "migration receiver stream contained unexpected data instead of
 * ready message", goto failed_resume: resumed under its own name.
 */
static void test_garbage_instead_of_ready_resumes_here(void)
{
    struct outcome o;

    run("garbage", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_HAS(o.seen, "stream-end suspended\n");
    T_OK(!strstr(o.seen, "go "), "the sender gave permission: %s", o.seen);
    T_HAS(o.message, "the target did not take the guest");
    T_HAS(o.message, "resumed here");
}

/*
 * xl: no banner, migrate_do_preamble() exits before libxl_domain_suspend():
 * the guest was never touched.
 */
static void test_receiver_without_banner_touches_nothing(void)
{
    struct outcome o;

    run("no-banner", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_OK(!o.downtime, "the guest was suspended");
    T_HAS(o.message, "the target's receiver did not start");
}

/*
 * xl: libxl_domain_suspend() fails with the stream cut during pre-copy
 * (EPIPE: the guest was never suspended), goto failed_resume, whose
 * resume of a running guest is a no-op.  The guest keeps running.
 */
static void test_receiver_gone_during_precopy_keeps_it_running(void)
{
    struct outcome o;

    run("cut", 0, &o);
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_HAS(o.seen, "stream-broken running\n");
    T_OK(!o.downtime, "the guest was suspended");
}

/*
 * xl has no cancel: Ctrl-C kills it, and during pre-copy the guest was
 * never suspended, so it keeps running.  relocd cuts the stream and says
 * so.  Last: sender_cancel() holds for the rest of the process (a worker
 * sends one guest, relocd/sender.c).
 */
static void test_cancel_during_precopy_keeps_it_running(void)
{
    struct outcome o;

    run("ok", 1, &o);
    T_OK(o.cancelled, "no pre-copy iteration to cancel in");
    expect(__func__, &o, 1);
    T_EQ_STR(o.state, "running");
    T_HAS(o.seen, "stream-broken running\n");
    T_OK(!o.downtime, "the guest was suspended");
    T_EQ_STR(o.message, "cancelled; the guest keeps running here");
}

static void cleanup(void)
{
    static const char *const files[] = {GUEST, "recv.log"};
    char path[sizeof(dir) + 16];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--receiver"))
        return receiver(argv[2], argv[3]);
    log_init("test_sender", 0, 0); /* the result events say it all */
    if (!realpath("/proc/self/exe", self) || !mkdtemp(dir)) {
        perror("test_sender");
        return 1;
    }
    setenv("RELOCD_FAKE_DOMAINS", GUEST, 1);
    setenv("RELOCD_FAKE_STATE", dir, 1);
    /* Larger than a socket's buffer: a cut stream fails in pre-copy. */
    setenv("RELOCD_FAKE_GUEST_MB", "2", 1);
    test_happy_path_destroys_the_guest_here();
    test_receiver_gone_before_ready_resumes_here();
    test_target_unpause_failure_resumes_here();
    test_failure_report_without_permission_leaves_it_suspended();
    test_receiver_gone_after_go_leaves_it_suspended();
    test_garbage_instead_of_ready_resumes_here();
    test_receiver_without_banner_touches_nothing();
    test_receiver_gone_during_precopy_keeps_it_running();
    test_cancel_during_precopy_keeps_it_running();
    cleanup();
    return t_done("test_sender");
}
