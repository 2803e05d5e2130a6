/*
 * xl-relocate - the admin's command for relocd.
 *
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

#include "buf.h"
#include "chan.h"
#include "client.h"
#include "conf.h"
#include "msg.h"
#include "relay.h"
#include "relocd.h"
#include "tls.h"
#include "xlstream.h"

#define DEFAULT_CONF "/etc/xen/xend-config.sxp"

struct opts {
    const char *conf_path;
    int port; /* 0 = from the config */
    int ssl;  /* -1 = from the config */
    int quiet;
    int timeout_ms;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: xl-relocate connect [-f FILE] [-p PORT] [--ssl|--no-ssl]"
               " HOST xl [FLAGS] migrate-receive [FLAGS]\n"
               "       xl migrate -s \"xl-relocate connect\" DOMAIN HOST\n"
               "       xl-relocate --version\n");
}

static struct relocd_conf *load_conf(const struct opts *o)
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

    if (o->port)
        co.port = o->port;
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
    if (!cl)
        fprintf(stderr, "xl-relocate: %s\n", err);
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

    if (argc < 2 || strcmp(argv[0], "xl"))
        return -1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "migrate-receive") && !seen_sub) {
            seen_sub = 1;
            continue;
        }
        if (argv[i][0] != '-' || n >= MSG_MAX_FLAGS)
            return -1;
        flags[n++] = argv[i];
    }
    *n_r = n;
    return seen_sub ? 0 : -1;
}

static int read_all(int fd, void *data, size_t len)
{
    char *p = data;
    ssize_t r;

    while (len) {
        r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
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
        read_all(0, raw, sizeof(raw)) < 0) {
        fprintf(stderr, "xl-relocate: xl closed the stream early\n");
        return -1;
    }
    if (xls_parse_header(raw, &h, err, sizeof(err)) < 0 ||
        read_all(0, opt, h.optional_data_len) < 0 ||
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
            fprintf(stderr, "xl-relocate: %s: pre-flight %s %s: %s\n",
                    target, r->checks[i].check,
                    r->checks[i].ok ? "ok" : "FAILED", r->checks[i].message);
    if (!r->ok)
        fprintf(stderr, "xl-relocate: %s refused the guest; it keeps "
                        "running here\n", target);
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
    if (chan_write_all(c, buf_ptr(hdr), buf_len(hdr)) != PERR_OK)
        return -1;
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

    if (!hdr || take_xl_header(hdr, &json) < 0)
        goto out;
    if (client_preflight(cl, json, 1, &res, err, sizeof(err))) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        goto out;
    }
    if (report_preflight(&res, target, quiet) < 0)
        goto out;
    if (client_migrate(cl, flags, nflags, err, sizeof(err))) {
        fprintf(stderr, "xl-relocate: %s\n", err);
        goto out;
    }
    rc = transport_stream(cl, hdr);
out:
    buf_free(hdr);
    return rc;
}

static int cmd_connect(const struct opts *o, int argc, char **argv)
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
    if (!conf)
        return 1;
    cl = open_target(conf, o, argv[0], &tls);
    if (cl && transport(cl, argv[0], o->quiet, flags, nflags) == 0)
        rc = 0;
    client_free(cl);
    tls_ctx_free(tls);
    conf_free(conf);
    return rc;
}

static const struct option longopts[] = {
    {"ssl", no_argument, NULL, 's'},
    {"no-ssl", no_argument, NULL, 'S'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/*
 * Options may stand before and after the subcommand.  "+" stops at the
 * first word that is not an option, so xl's rune passes untouched.
 * Returns 0 to go on, or an exit status + 1.
 */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    int ch;

    while ((ch = getopt_long(argc, argv, "+f:p:qhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            o->conf_path = optarg;
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 's':
        case 'S':
            o->ssl = ch == 's';
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
            usage(stderr);
            return 3;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {NULL, 0, -1, 0, 30 * 1000};
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if ((rc = parse_opts(argc, argv, &o)))
        return rc - 1;
    if (optind < argc && !strcmp(argv[optind], "connect")) {
        optind++;
        if ((rc = parse_opts(argc, argv, &o)))
            return rc - 1;
        return cmd_connect(&o, argc - optind, argv + optind);
    }
    usage(stderr);
    return 2;
}
