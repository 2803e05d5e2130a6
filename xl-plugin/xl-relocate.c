/*
 * xl-relocate - the admin's command for relocd.
 *
 *   xl-relocate migrate [opts] DOMAIN HOST[:PORT]   move a guest (via relocd)
 *   xl-relocate list                                 migrations in flight
 *   xl-relocate cancel ID                            stop one; guest stays
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
#include <unistd.h>

#include "wire/fdio.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/client.h"
#include "config/conf.h"
#include "wire/msg.h"
#include "wire/relay.h"
#include "relocd/daemon.h"
#include "wire/tls.h"
#include "wire/xlstream.h"
#include "xl-plugin/xl-relocate.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xl-relocate migrate [OPTIONS] DOMAIN HOST[:PORT]\n"
            "       xl-relocate list\n"
            "       xl-relocate cancel ID\n"
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
            "  -p, --port PORT         target port; --ssl / --no-ssl\n"
            "  -s CMD                  no relocd on the target: as xl "
            "migrate -s, run\n"
            "                          'CMD HOST xl migrate-receive' "
            "(-s \"\": HOST is the\n"
            "                          command) and send into it\n"
            "      --json              progress as JSON lines\n"
            "  -q, --quiet             only errors\n"
            "  -f FILE                 xend-config.sxp (default %s)\n",
            DEFAULT_CONF);
}

struct relocd_conf *load_conf(const struct opts *o)
{
    struct relocd_conf *conf = NULL;
    char err[512];
    int explicit = o->conf_path != NULL;
    const char *path = explicit ? o->conf_path : DEFAULT_CONF;

    if (!explicit && access(path, F_OK) < 0)
        path = NULL; /* xend's defaults, as xm did without the file */
    if (path ? conf_load(path, &conf, err, sizeof(err))
             : conf_parse("", 0, DEFAULT_CONF, &conf, err, sizeof(err))) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        return NULL;
    }
    return conf;
}

/* Connects to relocd on target with the settings of conf and o. */
static struct client *open_target(const struct relocd_conf *conf,
                                  const struct opts *o, const char *target,
                                  struct tls_ctx **tls_r)
{
    struct tls_opts to = {conf->ssl_key_file, conf->ssl_cert_file,
                          conf->ca_file, conf->psk_file};
    int ssl = o->ssl >= 0 ? o->ssl : conf->ssl;
    struct client_opts co = {NULL, ssl ? conf->ssl_port : conf->port, NULL,
                             o->timeout_ms, "xl-relocate " RELOCD_VERSION};
    char host[256], err[1024];
    struct client *cl;

    if (o->port) co.port = o->port;
    if (client_parse_target(target, host, sizeof(host), &co.port) < 0) {
        fprintf(stderr, "xl-relocate: bad target '%s'\n", target);
        return NULL;
    }
    co.host = host;
    *tls_r = NULL;
    if (ssl && !(*tls_r = tls_ctx_new(0, &to, err, sizeof(err)))) {
        fprintf(stderr, "xl-relocate: TLS: %s\n", err);
        return NULL;
    }
    co.tls = *tls_r;
    cl = client_open(&co, NULL, err, sizeof(err));
    if (!cl) fprintf(stderr, "xl-relocate: %s\n", err);
    return cl;
}

/*
 * The words xl put after HOST: "xl [-t] [-T] [-v..] migrate-receive [-e]
 * [-d] [-p]".  They become MIGRATE's flags; relocd checks them again.
 */
static int rune_flags(int argc, char **argv, char *flags[], unsigned *n_r)
{
    int i, seen_sub = 0;
    unsigned n = 0;

    if (argc < 2 || strcmp(argv[0], "xl")) return -1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "migrate-receive") && !seen_sub) {
            seen_sub = 1;
            continue;
        }
        if (argv[i][0] != '-' || n >= MSG_MAX_FLAGS) return -1;
        flags[n++] = argv[i];
    }
    *n_r = n;
    return seen_sub ? 0 : -1;
}

/*
 * Plays xl's receiver just long enough to learn the guest's config: sends
 * the banner and reads the xl save header and its optional data into hdr.
 */
static int take_xl_header(struct buf *hdr, const char **json_r)
{
    static uint8_t opt[XLS_MAX_OPTIONAL];
    struct xls_header h;
    uint8_t raw[XLS_HDR_LEN];
    size_t jsonlen;
    char err[256];

    if (write(1, XLS_BANNER, XLS_BANNER_LEN) != (ssize_t)XLS_BANNER_LEN ||
        fdio_read_exact(0, raw, sizeof(raw)) < 0) {
        fprintf(stderr, "xl-relocate: xl closed the stream early\n");
        return -1;
    }
    if (xls_parse_header(raw, sizeof(raw), &h, err, sizeof(err)) < 0 ||
        fdio_read_exact(0, opt, h.optional_data_len) < 0 ||
        xls_parse_config(opt, h.optional_data_len, json_r, &jsonlen, err,
                         sizeof(err)) < 0) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        return -1;
    }
    if (buf_put(hdr, raw, sizeof(raw)) < 0 ||
        buf_put(hdr, opt, h.optional_data_len) < 0)
        return -1;
    return 0;
}

static int report_preflight(const struct msg_preflight_result *r,
                            const char *target, int quiet)
{
    unsigned i;

    for (i = 0; i < r->nchecks; i++)
        if (!r->checks[i].ok || !quiet)
            fprintf(stderr, "xl-relocate: %s: pre-flight %s %s: %s\n", target,
                    r->checks[i].check, r->checks[i].ok ? "ok" : "FAILED",
                    r->checks[i].message);
    if (!r->ok)
        fprintf(stderr,
                "xl-relocate: %s refused the guest; it keeps "
                "running here\n",
                target);
    return r->ok ? 0 : -1;
}

/* After ACCEPT: swallow the real banner, replay the header, then relay. */
static int transport_stream(struct client *cl, struct buf *hdr)
{
    struct chan *c = client_chan(cl);
    char banner[XLS_BANNER_LEN];

    chan_set_timeout(c, 60 * 1000);
    if (chan_read_exact(c, banner, sizeof(banner)) != PERR_OK ||
        memcmp(banner, XLS_BANNER, sizeof(banner))) {
        fprintf(stderr, "xl-relocate: the receiver did not start\n");
        return -1;
    }
    if (chan_write_all(c, buf_ptr(hdr), buf_len(hdr)) != PERR_OK) return -1;
    return relay_run(c, 0, 1, RELAY_IDLE_MS, NULL);
}

static int transport(struct client *cl, const char *target, int quiet,
                     char *flags[], unsigned nflags)
{
    struct msg_preflight_result res;
    struct buf *hdr = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);
    const char *json;
    char err[1024];
    int rc = -1;

    if (!hdr || take_xl_header(hdr, &json) < 0) goto out;
    if (client_preflight(cl, json, 1, NULL, &res, err, sizeof(err))) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        goto out;
    }
    if (report_preflight(&res, target, quiet) < 0) goto out;
    if (client_migrate(cl, flags, nflags, err, sizeof(err))) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        goto out;
    }
    rc = transport_stream(cl, hdr);
out:
    buf_free(hdr);
    return rc;
}

int cmd_connect(const struct opts *o, int argc, char **argv)
{
    char *flags[MSG_MAX_FLAGS];
    struct relocd_conf *conf;
    struct tls_ctx *tls = NULL;
    struct client *cl;
    unsigned nflags;
    int rc = 1;

    if (argc < 3 || rune_flags(argc - 1, argv + 1, flags, &nflags) < 0) {
        fprintf(stderr, "xl-relocate connect: expected HOST xl [FLAGS] "
                        "migrate-receive [FLAGS], as xl migrate -s passes\n");
        return 2;
    }
    conf = load_conf(o);
    if (!conf) return 1;
    cl = open_target(conf, o, argv[0], &tls);
    if (cl && transport(cl, argv[0], o->quiet, flags, nflags) == 0) rc = 0;
    client_free(cl);
    tls_ctx_free(tls);
    conf_free(conf);
    return rc;
}

enum {
    OPT_OFFLINE = 256,
    OPT_DOWNTIME,
    OPT_BANDWIDTH,
    OPT_CONVERGE,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_SSL,
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

int converge_index(const char *name)
{
    int i;

    for (i = 0; conf_converge_name(i); i++)
        if (!strcmp(conf_converge_name(i), name)) return i;
    return -1;
}

/* The options of migrate; 0, or -1 on a bad value. */
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
        o->on_no_converge = optarg;
        if (converge_index(optarg) >= 0) return 0;
        fprintf(stderr, "xl-relocate: --on-no-converge is throttle, force "
                        "or abort\n");
        return -1;
    case OPT_JSON:
        o->json = 1;
        return 0;
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
        {"connect", cmd_connect},
        {"migrate", cmd_migrate},
        {"list", cmd_list},
        {"cancel", cmd_cancel},
    };
    struct opts o = {NULL, 0, -1, 0, 30 * 1000, 1, 0, 0, 0, 0, NULL, NULL};
    unsigned i;
    int rc;

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
