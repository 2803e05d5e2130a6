/*
 * test_outgoing.c - markers of moves in flight and what a dead sender's
 * marker makes relocd do (relocd/outgoing.c), against the Xen double: its
 * state file per guest (RELOCD_FAKE_STATE) is what Xen shows.
 *
 * The rules are xl's (tools/xl/xl_migrate.c migrate_domain()): before
 * "go" the source copy is the only one, resumed on failure
 * (failed_resume); after "go" it stays suspended and the admin decides
 * (failed_badly).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relocd/outgoing.h"
#include "wire/log.h"
#include "xen/xen.h"
#include "t.h"

static char dir[] = "/tmp/test_outgoing.XXXXXX";
static char mdir[sizeof(dir) + 16];

static void put_state(const char *name, const char *state)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "%s\n", state);
        fclose(f);
    }
}

static const char *get_state(const char *name)
{
    static char state[128];
    char path[256];
    FILE *f;

    state[0] = '\0';
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "r"))) {
        if (!fgets(state, sizeof(state), f)) state[0] = '\0';
        fclose(f);
    }
    state[strcspn(state, "\n")] = '\0';
    return state;
}

/* The domid the Xen double gives a guest of that name (opening it marks
 * it running: call before put_state()). */
static unsigned domid_of(const char *name)
{
    char err[128];
    struct xen_guest *g = xen_guest_open(name, err, sizeof(err));
    unsigned id = g ? xen_guest_domid(g) : 0;

    xen_guest_close(g);
    return id;
}

/* A marker as a worker pid would have left it, in phase p. */
static void left_marker(struct outgoing *o, pid_t pid, const char *name,
                        enum outgoing_phase p)
{
    memset(o, 0, sizeof(*o));
    o->pid = pid;
    o->domid = domid_of(name);
    o->phase = p;
    snprintf(o->name, sizeof(o->name), "%s", name);
    snprintf(o->away, sizeof(o->away), "%s--migratedaway", name);
    snprintf(o->target, sizeof(o->target), "host-b");
}

static void write_marker(const struct outgoing *o)
{
    char path[256], text[2048];
    FILE *f;

    T_EQ_INT(outgoing_format(o, text, sizeof(text)), 0);
    snprintf(path, sizeof(path), "%s/%d", mdir, (int)o->pid);
    mkdir(mdir, 0700);
    if ((f = fopen(path, "w"))) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_format_parse_round_trip(void)
{
    struct outgoing o, back;
    char text[2048];

    left_marker(&o, 4242, "g1", OUTGOING_RENAMED);
    T_EQ_INT(outgoing_format(&o, text, sizeof(text)), 0);
    T_EQ_INT(outgoing_parse(text, &back), 0);
    T_EQ_INT(back.pid, 4242);
    T_EQ_INT(back.domid, o.domid);
    T_EQ_INT(back.phase, OUTGOING_RENAMED);
    T_EQ_STR(back.name, "g1");
    T_EQ_STR(back.away, "g1--migratedaway");
    T_EQ_STR(back.target, "host-b");
}

/* A marker that is not whole never reads as "before go". */
static void test_parse_refuses_what_is_not_a_marker(void)
{
    struct outgoing o;

    T_EQ_INT(outgoing_parse("", &o), -1);
    T_EQ_INT(outgoing_parse("pid 1\ndomid 2\nname g\naway g--m\n", &o), -1);
    T_EQ_INT(
        outgoing_parse("pid 1\ndomid 2\nphase later\nname g\naway a\n", &o),
        -1);
    T_EQ_INT(outgoing_parse("pid 1\ndomid 2\nphase go\nname g\naway a\n"
                            "colour blue\n",
                            &o),
             -1);
    T_EQ_INT(outgoing_parse("pid 1\ndomid 2\nphase go\nname g\naway a\n", &o),
             0);
}

/* The worker's side: one file, its pid, rewritten whole, gone at the end. */
static void test_worker_marker_follows_the_phases(void)
{
    struct outgoing o, back;
    char path[256], text[2048];
    FILE *f;
    size_t n = 0;

    T_EQ_INT(outgoing_begin(&o, mdir, 7, "g1", "host-b"), 0);
    snprintf(path, sizeof(path), "%s/%d", mdir, (int)getpid());
    T_EQ_STR(o.path, path);
    T_EQ_STR(o.away, "g1--migratedaway");
    T_EQ_INT(outgoing_set(&o, OUTGOING_GO), 0);
    if ((f = fopen(path, "r"))) {
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    T_EQ_INT(outgoing_parse(text, &back), 0);
    T_EQ_INT(back.phase, OUTGOING_GO);
    T_EQ_INT(back.domid, 7);
    outgoing_end(&o);
    T_OK(access(path, F_OK) < 0, "%s survived the end", path);
    T_EQ_INT(outgoing_begin(&o, mdir, 7, "bad\nname", "host-b"), -1);
    T_EQ_STR(o.path, "");
}

/* Killed after suspend, before "ready": resumed here (failed_resume). */
static void test_suspended_before_go_is_resumed(void)
{
    struct outgoing o;
    char msg[1024];

    left_marker(&o, 1, "g1", OUTGOING_SUSPENDED);
    put_state("g1", "suspended");
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), 1);
    T_EQ_STR(get_state("g1"), "running");
    T_EQ_STR(msg, "it died before the hand-over to host-b; g1 was resumed "
                  "here");
}

/* Renamed NAME--migratedaway, no "go" yet: renamed back and resumed. */
static void test_renamed_before_go_is_resumed(void)
{
    struct outgoing o;
    char msg[1024];

    left_marker(&o, 1, "g2", OUTGOING_RENAMED);
    put_state("g2", "renamed:g2--migratedaway");
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), 1);
    T_EQ_STR(get_state("g2"), "running");
}

/* Killed during pre-copy: it runs; resuming it would corrupt it. */
static void test_running_guest_is_left_alone(void)
{
    struct outgoing o;
    char msg[1024];

    left_marker(&o, 1, "g3", OUTGOING_SENDING);
    put_state("g3", "running");
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), 1);
    T_EQ_STR(msg, "it died before the hand-over to host-b; g3 keeps running "
                  "here");
}

/* After "go": never resumed; the admin gets the commands (failed_badly). */
static void test_after_go_stays_suspended_with_commands(void)
{
    struct outgoing o;
    char msg[1024], want[1024];

    left_marker(&o, 1, "g4", OUTGOING_GO);
    put_state("g4", "renamed:g4--migratedaway");
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), -1);
    T_EQ_STR(get_state("g4"), "renamed:g4--migratedaway");
    snprintf(want, sizeof(want),
             "it died during the final handshake with host-b: g4 may run "
             "there now, and stays suspended here as g4--migratedaway "
             "(domain %u). Check both hosts before resuming at most one "
             "copy: if `xl list g4` on host-b shows it, run `xl destroy %u` "
             "here; if not, run `relocd --resume %u g4` here",
             o.domid, o.domid, o.domid);
    T_EQ_STR(msg, want);
}

/* After "go" and gone: the worker destroyed it after the target's "ok". */
static void test_after_go_and_destroyed_was_handed_over(void)
{
    struct outgoing o;
    char msg[1024];

    left_marker(&o, 1, "g5", OUTGOING_GO);
    put_state("g5", "destroyed");
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), 0);
    T_EQ_STR(msg, "it died after the hand-over; g5 runs on host-b (its copy "
                  "here was destroyed)");
}

/* A domid now worn by another guest is not ours to resume. */
static void test_reused_domid_is_not_touched(void)
{
    struct outgoing o;
    char msg[1024];

    left_marker(&o, 1, "g6", OUTGOING_SUSPENDED);
    put_state("g6", "suspended");
    o.domid++;
    T_EQ_INT(outgoing_settle(&o, "it died", msg, sizeof(msg)), -1);
    T_EQ_STR(get_state("g6"), "suspended");
}

/* The parent: the dead worker's marker is settled and dropped; none: -2. */
static void test_reap_settles_and_drops_the_marker(void)
{
    struct outgoing o;
    char msg[1024], path[256];

    left_marker(&o, 31337, "g7", OUTGOING_SUSPENDED);
    put_state("g7", "suspended");
    write_marker(&o);
    T_EQ_INT(outgoing_reap(mdir, 31337, "w", msg, sizeof(msg)), 1);
    T_EQ_STR(get_state("g7"), "running");
    snprintf(path, sizeof(path), "%s/31337", mdir);
    T_OK(access(path, F_OK) < 0, "the marker survived");
    T_EQ_INT(outgoing_reap(mdir, 31337, "w", msg, sizeof(msg)), -2);
}

/*
 * At start-up: markers of dead workers are settled; one whose worker
 * still runs (a sender that outlived its relocd) is left to it.
 */
static void test_recover_spares_a_live_worker(void)
{
    struct outgoing dead, live;
    char path[256];
    pid_t child = fork();

    if (child == 0) {
        pause();
        _exit(0);
    }
    left_marker(&dead, 31338, "g8", OUTGOING_SUSPENDED);
    left_marker(&live, child, "g9", OUTGOING_SUSPENDED);
    put_state("g8", "suspended");
    put_state("g9", "suspended");
    write_marker(&dead);
    write_marker(&live);
    T_EQ_INT(outgoing_recover(mdir), 1);
    T_EQ_STR(get_state("g8"), "running");
    T_EQ_STR(get_state("g9"), "suspended");
    snprintf(path, sizeof(path), "%s/%d", mdir, (int)child);
    T_OK(access(path, F_OK) == 0, "the live worker's marker was dropped");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    T_EQ_INT(outgoing_recover(mdir), 1);
    T_EQ_STR(get_state("g9"), "running");
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    snprintf(mdir, sizeof(mdir), "%s/outgoing", dir);
    setenv("RELOCD_FAKE_STATE", dir, 1);
    setenv("RELOCD_FAKE_DOMAINS", "g1 g2 g3 g4 g5 g6 g7 g8 g9", 1);
    log_init("test_outgoing", 0, 0);
    test_format_parse_round_trip();
    test_parse_refuses_what_is_not_a_marker();
    test_worker_marker_follows_the_phases();
    test_suspended_before_go_is_resumed();
    test_renamed_before_go_is_resumed();
    test_running_guest_is_left_alone();
    test_after_go_stays_suspended_with_commands();
    test_after_go_and_destroyed_was_handed_over();
    test_reused_domid_is_not_touched();
    test_reap_settles_and_drops_the_marker();
    test_recover_spares_a_live_worker();
    snprintf(mdir, sizeof(mdir), "rm -rf %s", dir);
    if (system(mdir) != 0) return 1;
    return t_done("test_outgoing");
}
