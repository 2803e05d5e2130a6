/*
 * connect.c - xl-relocate connect: the transport that stock xl migrate -s
 * runs ("xl-relocate connect" HOST xl migrate-receive ...).  It plays xl's
 * receiver just long enough to read the guest's config from the stream,
 * has the target's relocd pre-flight it, then relays the stream over TLS.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/client.h"
#include "wire/fdio.h"
#include "wire/msg.h"
#include "wire/relay.h"
#include "wire/tls.h"
#include "wire/version.h"
#include "wire/xlstream.h"
#include "xl-plugin/xl-relocate.h"

struct client *cli_open_target(const struct relocd_conf *conf,
                               const struct opts *o, const char *target,
                               struct tls_ctx **tls_r, char *err, size_t errlen)
{
    struct tls_opts to = {conf->ssl_key_file, conf->ssl_cert_file,
                          conf->ca_file,      conf->psk_file,
                          conf->crl_file,     conf->psk_identity};
    int ssl = o->ssl >= 0 ? o->ssl : conf->ssl;
    struct client_opts co = {NULL, ssl ? conf->ssl_port : conf->port, NULL,
                             o->timeout_ms, "xl-relocate " RELOCD_VERSION};
    char host[256], why[1024];

    if (o->port) co.port = o->port;
    *tls_r = NULL;
    if (client_parse_target(target, host, sizeof(host), &co.port) < 0) {
        snprintf(err, errlen, "bad target '%s'", target);
        return NULL;
    }
    co.host = host;
    if (ssl && !(*tls_r = tls_ctx_new(0, &to, why, sizeof(why)))) {
        snprintf(err, errlen, "TLS: %s", why);
        return NULL;
    }
    co.tls = *tls_r;
    return client_open(&co, NULL, err, errlen);
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

    chan_set_timeout(c, XLS_STEP_TIMEOUT_MS);
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
    if (client_migrate(cl, flags, nflags, 0, err, sizeof(err))) {
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
    char err[1024];
    unsigned nflags;
    int rc = 1;

    if (argc < 3 || rune_flags(argc - 1, argv + 1, flags, &nflags) < 0) {
        fprintf(stderr, "xl-relocate connect: expected HOST xl [FLAGS] "
                        "migrate-receive [FLAGS], as xl migrate -s passes\n");
        return 2;
    }
    conf = cli_load_conf(o);
    if (!conf) return 1;
    cl = cli_open_target(conf, o, argv[0], &tls, err, sizeof(err));
    if (!cl) fprintf(stderr, "xl-relocate: %s\n", err);
    if (cl && transport(cl, argv[0], o->quiet, flags, nflags) == 0) rc = 0;
    client_free(cl);
    tls_ctx_free(tls);
    conf_free(conf);
    return rc;
}
