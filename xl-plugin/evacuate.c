/*
 * evacuate.c - xl-relocate evacuate: every guest of this host to others.
 *
 * Nothing moves before every guest has been pre-flighted against every
 * candidate and the plan printed (evac_plan.c).  Then each move is an
 * ordinary `xl-relocate migrate` through the local relocd
 * (ctl_migrate_one), N at a time, each in a child process so that a
 * stuck one holds up only itself.  A guest whose move fails is tried on
 * the next host that fits it; it stays running here meanwhile (relocd's
 * sender guarantees that), so nothing is ever lost, only not moved.
 *
 * A time limit (--time-limit, or relocd-evacuate-on-shutdown with
 * --on-shutdown, which the shutdown runs before xendomains saves what is
 * left) is kept by relocd itself: each move goes with a --timeout of the
 * time left, so relocd cancels it then (the guest stays here) even when
 * this client is killed first; and no move starts after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/clock.h"
#include "xl-plugin/evacuate.h"
#include "xl-plugin/xl-relocate.h"

static volatile sig_atomic_t stop_starting;
static int timed_out; /* stop_starting because the time limit ran out */

static void on_int(int sig)
{
    (void)sig;
    stop_starting = 1;
}

/* How many moves at once: --parallel, within relocd-max-migrations. */
static int parallelism(const struct opts *o, const struct relocd_conf *conf)
{
    int n = o->parallel > 0 ? o->parallel : 1;

    if (n > conf->max_migrations) {
        fprintf(stderr,
                "xl-relocate: --parallel %d is more than "
                "relocd-max-migrations (%d) allows; running %d at a time\n",
                n, conf->max_migrations, conf->max_migrations);
        n = conf->max_migrations;
    }
    return n;
}

/* The next guest that may start now, its host not at its limit; or NULL. */
static struct evac_guest *next_ready(struct evac *ev, int per_host)
{
    unsigned i;

    for (i = 0; i < ev->nguests; i++) {
        struct evac_guest *g = &ev->guests[i];

        if (g->state == EV_WAIT && g->not_before <= clock_s() &&
            ev->hosts[g->host].running < per_host)
            return g;
    }
    return NULL;
}

/*
 * Whether the time limit leaves no room for another move: relocd's
 * --timeout counts whole seconds, so a move needs at least one.
 */
static int time_up(const struct evac *ev)
{
    return ev->deadline > 0 && clock_s() + 1 > ev->deadline;
}

/* The --timeout of a move starting now: what is left, or the user's own
 * --timeout when that is shorter. */
static int move_timeout(const struct evac *ev, const struct opts *o)
{
    int left;

    if (ev->deadline <= 0) return o->timeout_s;
    left = (int)(ev->deadline - clock_s());
    if (left < 1) left = 1;
    return o->timeout_s > 0 && o->timeout_s < left ? o->timeout_s : left;
}

static int waiting(const struct evac *ev)
{
    unsigned i;

    for (i = 0; i < ev->nguests; i++)
        if (ev->guests[i].state == EV_WAIT) return 1;
    return 0;
}

/* The child: one migration; its result message goes up the pipe. */
static void child_move(const struct opts *o, const struct relocd_conf *conf,
                       const struct evac_guest *g, const char *target, int fd)
{
    char msg[EVAC_WHY];
    int rc = ctl_migrate_one(o, conf, g->name, target, msg, sizeof(msg));

    if (write(fd, msg, strlen(msg)) < 0) rc = 1;
    _exit(rc ? 1 : 0);
}

/*
 * Starts g's move in a child.  Returns -1 when it cannot (no pipe or
 * fork): g is then marked failed, never retried in a loop.
 */
static int start_move(struct evac *ev, struct evac_guest *g,
                      const struct opts *o, const struct relocd_conf *conf)
{
    const char *target = ev->hosts[g->host].target;
    struct opts mo = *o;
    int p[2] = {-1, -1};

    mo.timeout_s = move_timeout(ev, o);

    fflush(NULL);
    if (pipe2(p, O_CLOEXEC) < 0 || (g->pid = fork()) < 0) {
        snprintf(g->result, sizeof(g->result), "cannot start: %s",
                 strerror(errno));
        if (p[0] >= 0) close(p[0]);
        if (p[1] >= 0) close(p[1]);
        g->state = EV_FAILED;
        g->failed_host = g->host;
        return -1;
    }
    if (g->pid == 0) {
        close(p[0]);
        child_move(&mo, conf, g, target, p[1]);
    }
    close(p[1]);
    g->fd = p[0];
    g->state = EV_RUNNING;
    g->t_start = clock_s();
    ev->hosts[g->host].running++;
    printf("moving %s to %s\n", g->name, target);
    fflush(stdout);
    return 0;
}

/*
 * A move that failed: a busy target (relocd-max-migrations on either end,
 * in relocd's own words) is asked again later; anything else sends the
 * guest on to its next candidate.
 */
static void move_failed(struct evac *ev, struct evac_guest *g)
{
    const char *from = ev->hosts[g->host].target;
    int h = g->host;

    if (strstr(g->result, "relocd-max-migrations") &&
        g->busy_retries++ < EVAC_BUSY_RETRIES) {
        g->state = EV_WAIT;
        g->not_before = clock_s() + 2;
        return;
    }
    if (evac_replace(ev, g))
        printf("%s: %s failed (%s); trying %s\n", g->name, from, g->result,
               ev->hosts[g->host].target);
    else
        printf("%s: %s failed (%s); no other host fits it, it stays here\n",
               g->name, from, g->result);
    g->failed_host = h;
}

static void move_done(struct evac *ev, struct evac_guest *g, int status)
{
    ssize_t n = read(g->fd, g->result, sizeof(g->result) - 1);

    g->result[n > 0 ? n : 0] = '\0';
    close(g->fd);
    g->fd = -1;
    g->secs = clock_s() - g->t_start;
    ev->hosts[g->host].running--;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        g->state = EV_DONE;
        printf("%s: on %s after %.1f s\n", g->name, ev->hosts[g->host].target,
               g->secs);
        return;
    }
    if (!g->result[0]) snprintf(g->result, sizeof(g->result), "failed");
    move_failed(ev, g);
}

/* Waits for one child; 0, or -1 when none is left. */
static int reap(struct evac *ev)
{
    unsigned i;
    int status;
    pid_t pid = waitpid(-1, &status, 0);

    if (pid < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < ev->nguests; i++)
        if (ev->guests[i].state == EV_RUNNING && ev->guests[i].pid == pid) {
            move_done(ev, &ev->guests[i], status);
            break;
        }
    fflush(stdout);
    return 0;
}

static void run_moves(struct evac *ev, const struct opts *o,
                      const struct relocd_conf *conf)
{
    int n = parallelism(o, conf), running = 0;
    struct evac_guest *g;
    unsigned i;

    for (;;) {
        if (!stop_starting && time_up(ev)) {
            stop_starting = timed_out = 1;
            printf("time limit of %d s reached: no further move starts\n",
                   ev->limit_s);
            fflush(stdout);
        }
        while (!stop_starting && running < n && (g = next_ready(ev, n)))
            running += start_move(ev, g, o, conf) == 0;
        if (!running && (stop_starting || !waiting(ev))) break;
        if (!running) {
            usleep(200 * 1000); /* a busy target's wait */
            continue;
        }
        if (reap(ev) < 0) break;
        for (running = 0, i = 0; i < ev->nguests; i++)
            running += ev->guests[i].state == EV_RUNNING;
    }
    for (i = 0; i < ev->nguests; i++)
        if (ev->guests[i].state == EV_WAIT)
            snprintf(ev->guests[i].result, sizeof(ev->guests[i].result),
                     timed_out ? "the time limit (%d s) ran out before its "
                                 "turn"
                               : "interrupted before its turn",
                     ev->limit_s);
}

static const char *state_name(const struct evac_guest *g)
{
    switch (g->state) {
    case EV_DONE:
        return "migrated";
    case EV_FAILED:
        return "FAILED";
    default: /* EV_NOWHERE, or EV_WAIT: its turn never came */
        return "NOT MOVED";
    }
}

static void print_table(const struct evac *ev)
{
    unsigned i;

    printf("\n%-24s %-24s %-12s %8s  %s\n", "Guest", "Host", "Result", "Time",
           "Why");
    for (i = 0; i < ev->nguests; i++) {
        const struct evac_guest *g = &ev->guests[i];
        const char *host = g->state == EV_DONE ? ev->hosts[g->host].target
                           : g->state == EV_FAILED
                               ? ev->hosts[g->failed_host].target
                               : "-";
        char t[16] = "-";

        if (g->secs > 0) snprintf(t, sizeof(t), "%.1f s", g->secs);
        printf("%-24s %-24s %-12s %8s", g->name, host, state_name(g), t);
        if (g->state == EV_NOWHERE)
            printf("  no host fits it (see the plan)");
        else if (g->state != EV_DONE)
            printf("  %s", g->result);
        putchar('\n');
    }
}

/* Exit 0 only when xl list shows no guest left here. */
static int host_empty(void)
{
    struct evac left = {0};
    unsigned i;
    int rc = evac_list_guests(&left);

    if (rc == 0 && left.nguests) {
        printf("\nstill here:");
        for (i = 0; i < left.nguests; i++)
            printf(" %s", left.guests[i].name);
        printf("\n");
    }
    rc = rc == 0 && left.nguests == 0;
    evac_clear(&left);
    return rc;
}

static int evacuate(struct evac *ev, const struct opts *o,
                    const struct relocd_conf *conf)
{
    unsigned nowhere;

    if (evac_list_guests(ev) < 0) return 1;
    if (!ev->nguests) {
        printf("no guests here: nothing to do\n");
        return 0;
    }
    evac_preflight(ev, o, conf);
    evac_place(ev);
    nowhere = evac_print_plan(ev, stdout);
    if (o->dry_run) return nowhere ? 1 : 0;
    fflush(stdout);
    signal(SIGINT, on_int);
    run_moves(ev, o, conf);
    print_table(ev);
    return host_empty() ? 0 : 1;
}

/*
 * The time limit: --time-limit, and with --on-shutdown
 * relocd-evacuate-on-shutdown (the shorter of the two).  Returns 0 to go
 * on, or 1 when --on-shutdown finds the evacuation switched off.
 */
static int set_limit(struct evac *ev, const struct opts *o,
                     const struct relocd_conf *conf)
{
    int s = conf->evacuate_on_shutdown;

    ev->limit_s = o->time_limit_s;
    if (o->on_shutdown) {
        if (!s) {
            printf("relocd-evacuate-on-shutdown is 0: no evacuation at "
                   "shutdown\n");
            return 1;
        }
        if (!ev->limit_s || s < ev->limit_s) ev->limit_s = s;
        printf("evacuation at shutdown, for at most %d s "
               "(relocd-evacuate-on-shutdown %d)\n",
               ev->limit_s, s);
    }
    if (ev->limit_s) ev->deadline = clock_s() + ev->limit_s;
    return 0;
}

int cmd_evacuate(const struct opts *o, int argc, char **argv)
{
    struct evac ev = {0};
    struct relocd_conf *conf;
    const char *hosts;
    int rc = 1;

    (void)argv;
    if (argc) {
        fprintf(stderr, "usage: xl-relocate evacuate [--to HOST[,HOST...]] "
                        "[--parallel N] [--dry-run] [--time-limit S] "
                        "[--on-shutdown] [migrate options]\n");
        return 2;
    }
    if (!(conf = cli_load_conf(o))) return 1;
    hosts = o->to ? o->to : conf->evacuate_hosts;
    if (set_limit(&ev, o, conf))
        rc = 0;
    else if (!hosts || !hosts[strspn(hosts, " \t,")])
        fprintf(stderr, "xl-relocate: where to? give --to HOST[,HOST...] or "
                        "set relocd-evacuate-hosts in xend-config.sxp\n");
    else if (evac_add_hosts(&ev, hosts) == 0)
        rc = evacuate(&ev, o, conf);
    evac_clear(&ev);
    conf_free(conf);
    return rc;
}
