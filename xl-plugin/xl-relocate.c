/*
 * xl-relocate - the admin's command for relocd.
 *
 *   xl-relocate migrate [opts] DOMAIN HOST[:PORT]   move a guest (via relocd)
 *   xl-relocate list                                 migrations in flight
 *   xl-relocate cancel ID                            stop one; guest stays
 *   xl-relocate evacuate [--to HOSTS] [--parallel N] [--dry-run]
 *                                                    every guest elsewhere
 *   xl-relocate connect [opts] HOST xl [...] migrate-receive [...]
 *       the transport for stock xl: xl migrate -s "xl-relocate connect"
 *
 * Options common to subcommands: -f FILE (xend-config.sxp), -p PORT,
 * --ssl / --no-ssl (default: xend-relocation-ssl), -q.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config/conf.h"
#include "wire/version.h"
#include "xl-plugin/xl-relocate.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xl-relocate migrate [OPTIONS] DOMAIN HOST[:PORT]\n"
            "       xl-relocate list\n"
            "       xl-relocate cancel ID\n"
            "       xl-relocate evacuate [--to HOST[,HOST...]] [--parallel N] "
            "[--dry-run]\n"
            "                            [--time-limit S] [--on-shutdown] "
            "[migrate options]\n"
            "       xl-relocate connect [-p PORT] [--ssl|--no-ssl] HOST xl "
            "[FLAGS] migrate-receive [FLAGS]\n"
            "       xl migrate -s \"xl-relocate connect\" DOMAIN HOST\n"
            "\n"
            "migrate options:\n"
            "  -l, --live              live migration (default)\n"
            "      --offline           suspend first, then copy (PV guests "
            "on Xen without\n"
            "                          shadow paging can only move so)\n"
            "      --max-downtime MS   stop-and-copy target (default 300)\n"
            "      --bandwidth MBPS    cap the stream, megabytes/s\n"
            "      --on-no-converge throttle|force|abort   (default "
            "throttle)\n"
            "      --timeout S         give up after S seconds; the guest "
            "stays here\n"
            "      --paused            leave the guest paused on the target "
            "(xl's -p)\n"
            "      --copy-storage      copy the guest's disks too (no shared "
            "storage)\n"
            "      --disk-map SRC=DST  the disk SRC goes to DST on the "
            "target (repeat)\n"
            "  -p, --port PORT         target port; --ssl / --no-ssl\n"
            "  -s CMD                  no relocd on the target: as xl "
            "migrate -s, run\n"
            "                          'CMD HOST xl migrate-receive' "
            "(-s \"\": HOST is the\n"
            "                          command) and send into it\n"
            "      --json              progress as JSON lines\n"
            "  -q, --quiet             only errors\n"
            "  -f FILE                 xend-config.sxp (default %s)\n"
            "\n"
            "evacuate options (and the migrate options above, for each "
            "move):\n"
            "      --to HOST[,HOST...] candidates (default: "
            "relocd-evacuate-hosts)\n"
            "      --parallel N        moves at a time (default 1; at most "
            "relocd-max-migrations)\n"
            "      --dry-run           print the plan and exit: 0 when every "
            "guest has a host\n"
            "      --time-limit S      start no move after S seconds; each "
            "move is cancelled\n"
            "                          by then (the guest stays here)\n"
            "      --on-shutdown       as the shutdown does: nothing unless "
            "relocd-evacuate-\n"
            "                          on-shutdown is set, which is the time "
            "limit\n",
            DEFAULT_CONF);
}

struct relocd_conf *cli_load_conf(const struct opts *o)
{
    struct relocd_conf *conf = NULL;
    char err[512];
    int explicit = o->conf_path != NULL;

    if (conf_load_xend(explicit ? o->conf_path : DEFAULT_CONF, explicit, &conf,
                       err, sizeof(err)) < 0) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        return NULL;
    }
    return conf;
}

enum {
    OPT_OFFLINE = 256,
    OPT_DOWNTIME,
    OPT_BANDWIDTH,
    OPT_CONVERGE,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_SSL,
    OPT_TO,
    OPT_PARALLEL,
    OPT_DRY_RUN,
    OPT_TIME_LIMIT,
    OPT_ON_SHUTDOWN,
    OPT_COPY_STORAGE,
    OPT_DISK_MAP,
    OPT_PAUSED,
};

static const struct option longopts[] = {
    {"ssl", no_argument, NULL, OPT_SSL},
    {"no-ssl", no_argument, NULL, 'S'},
    {"port", required_argument, NULL, 'p'},
    {"live", no_argument, NULL, 'l'},
    {"offline", no_argument, NULL, OPT_OFFLINE},
    {"max-downtime", required_argument, NULL, OPT_DOWNTIME},
    {"bandwidth", required_argument, NULL, OPT_BANDWIDTH},
    {"on-no-converge", required_argument, NULL, OPT_CONVERGE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"to", required_argument, NULL, OPT_TO},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
    {"on-shutdown", no_argument, NULL, OPT_ON_SHUTDOWN},
    {"copy-storage", no_argument, NULL, OPT_COPY_STORAGE},
    {"paused", no_argument, NULL, OPT_PAUSED},
    {"disk-map", required_argument, NULL, OPT_DISK_MAP},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A positive number option, or -1 after saying what is wrong. */
static int num_arg(const char *opt, const char *arg, int max)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (!*arg || *end || v < 0 || v > max) {
        fprintf(stderr, "xl-relocate: %s wants a number 0..%d, not '%s'\n", opt,
                max, arg);
        return -1;
    }
    return (int)v;
}

/* --disk-map SRC=DST: two absolute paths; 0, or -1 after saying why. */
static int disk_map_arg(const char *arg, struct opts *o)
{
    const char *eq = strchr(arg, '=');
    struct msg_disk_map *m = &o->maps[o->nmaps];

    if (o->nmaps >= MSG_MAX_DISKS || !eq || arg[0] != '/' || eq[1] != '/' ||
        (size_t)(eq - arg) >= sizeof(m->src) ||
        snprintf(m->dst, sizeof(m->dst), "%s", eq + 1) >= (int)sizeof(m->dst)) {
        fprintf(stderr,
                "xl-relocate: --disk-map wants SRC=DST, two absolute paths "
                "(at most %d), not '%s'\n",
                MSG_MAX_DISKS, arg);
        return -1;
    }
    memcpy(m->src, arg, (size_t)(eq - arg));
    m->src[eq - arg] = 0;
    o->nmaps++;
    return 0;
}

/* The options of migrate and evacuate; 0, or -1 on a bad value. */
static int parse_migrate_opt(int ch, struct opts *o)
{
    switch (ch) {
    case 'l':
        o->live = 1;
        return 0;
    case OPT_OFFLINE:
        o->live = 0;
        return 0;
    case OPT_DOWNTIME:
        o->max_downtime_ms = num_arg("--max-downtime", optarg, 600000);
        return o->max_downtime_ms > 0 ? 0 : -1;
    case OPT_BANDWIDTH:
        o->bandwidth_mbps = num_arg("--bandwidth", optarg, 1000000);
        return o->bandwidth_mbps < 0 ? -1 : 0;
    case OPT_TIMEOUT:
        o->timeout_s = num_arg("--timeout", optarg, 86400 * 7);
        return o->timeout_s < 0 ? -1 : 0;
    case OPT_CONVERGE:
        if (converge_parse(optarg, &o->on_no_converge) == 0) {
            o->converge_set = 1;
            return 0;
        }
        fprintf(stderr, "xl-relocate: --on-no-converge is throttle, force "
                        "or abort\n");
        return -1;
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_TO:
        o->to = optarg;
        return 0;
    case OPT_PARALLEL:
        o->parallel = num_arg("--parallel", optarg, 64);
        return o->parallel > 0 ? 0 : -1;
    case OPT_DRY_RUN:
        o->dry_run = 1;
        return 0;
    case OPT_TIME_LIMIT:
        o->time_limit_s = num_arg("--time-limit", optarg, 86400);
        return o->time_limit_s > 0 ? 0 : -1;
    case OPT_ON_SHUTDOWN:
        o->on_shutdown = 1;
        return 0;
    case OPT_COPY_STORAGE:
        o->copy_storage = 1;
        return 0;
    case OPT_PAUSED:
        o->paused = 1;
        return 0;
    case OPT_DISK_MAP:
        return disk_map_arg(optarg, o);
    }
    return -1;
}

/*
 * Options may stand before and after the subcommand.  "+" stops at the
 * first word that is not an option, so xl's rune passes untouched.
 * Returns 0 to go on, or an exit status + 1.
 */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    int ch;

    while ((ch = getopt_long(argc, argv, "+f:p:s:lqhV", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'f':
            o->conf_path = optarg;
            break;
        case 'p':
            o->port = num_arg("-p", optarg, 65535);
            if (o->port <= 0) return 3;
            break;
        case OPT_SSL:
        case 'S':
            o->ssl = ch == OPT_SSL;
            break;
        case 's':
            o->via = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'V':
            printf("xl-relocate %s\n", RELOCD_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            if (parse_migrate_opt(ch, o) == 0) break;
            if (ch == '?') usage(stderr);
            return 3;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(const struct opts *o, int argc, char **argv);
    } cmds[] = {
        {"connect", cmd_connect},   {"migrate", cmd_migrate},
        {"list", cmd_list},         {"cancel", cmd_cancel},
        {"evacuate", cmd_evacuate},
    };
    struct opts o = {
        .ssl = -1,
        .timeout_ms = CONNECT_TIMEOUT_MS,
        .live = 1,
        .bandwidth_mbps = -1,
    };
    unsigned i;
    int rc;

    /* It holds the PSK and TLS session keys: no core dump, no ptrace by
     * the same user (as relocd). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fprintf(stderr, "xl-relocate: warning: prctl(PR_SET_DUMPABLE): %s\n",
                strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    if ((rc = parse_opts(argc, argv, &o))) return rc - 1;
    for (i = 0; optind < argc && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[optind], cmds[i].name)) continue;
        optind++;
        if ((rc = parse_opts(argc, argv, &o))) return rc - 1;
        return cmds[i].fn(&o, argc - optind, argv + optind);
    }
    usage(stderr);
    return 2;
}
