/*
 * tunnelctl.c - drives the tunnel modules from the command line, so the
 * network tests and the benchmark exercise the code relocd runs.
 *
 *   tunnelctl [-s STATE] [-H HOLDER] [-c KEY=VALUE]... COMMAND ...
 *     up KIND PEER LOCAL BRIDGE [ID] [MTU]  tunnel_acquire (LOCAL - = route)
 *     down PEER BRIDGE                       tunnel_release
 *     release-holder HOLDER                  tunnel_release_holder
 *     restore                                tunnel_restore_state
 *     list                                   the state, one tunnel a line
 *     probe KIND                             tunnel_probe
 *     garp BRIDGE MAC [IP]                   garp_forget, garp_announce x3
 *     forget BRIDGE MAC                      garp_forget
 *     etherip [-ROSKF] IFNAME LOCAL PEER     the EtherIP loop, foreground
 *       (-R accept reversed, -S send reversed, -O offloads off, -K keep
 *       root, -F send TCP super-frames whole as outer fragments)
 *
 * Exit status 0 on success, 1 on failure (the reason on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunnel/etherip.h"
#include "tunnel/garp.h"
#include "wire/log.h"
#include "tunnel/conf.h"
#include "tunnel/manager.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"

#define MAX_KV 16

struct opts {
    const char *state, *holder;
    const char *keys[MAX_KV], *vals[MAX_KV];
    size_t nkv;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: tunnelctl [-s STATE] [-H HOLDER] [-c KEY=VALUE]... CMD\n"
            "  up KIND PEER LOCAL BRIDGE [ID] [MTU] | down PEER BRIDGE |\n"
            "  release-holder HOLDER | restore | list | probe KIND |\n"
            "  garp BRIDGE MAC [IP] | forget BRIDGE MAC |\n"
            "  etherip [-R] [-S] [-O] [-K] [-F] IFNAME LOCAL PEER\n");
    return 2;
}

static int failed(const char *what, const char *why)
{
    fprintf(stderr, "tunnelctl: %s: %s\n", what, why[0] ? why : "failed");
    return 1;
}

static void kv_add(struct opts *o, const char *k, const char *v)
{
    if (o->nkv == MAX_KV) return;
    o->keys[o->nkv] = k;
    o->vals[o->nkv++] = v;
}

/* The relocd-tunnel entry that "up" stands for. */
static int up_cfg(struct opts *o, int argc, char **argv, struct tunnel_cfg *c,
                  char *why, size_t whylen)
{
    kv_add(o, "kind", argv[0]);
    kv_add(o, "peer", argv[1]);
    if (strcmp(argv[2], "-")) kv_add(o, "local", argv[2]);
    kv_add(o, "bridge", argv[3]);
    if (argc > 4 && !strcmp(argv[0], "vxlan")) kv_add(o, "vni", argv[4]);
    if (argc > 4 && !strcmp(argv[0], "gretap")) kv_add(o, "key", argv[4]);
    if (argc > 5) kv_add(o, "mtu", argv[5]);
    return tunnel_cfg_parse(c, o->keys, o->vals, o->nkv, why, whylen);
}

static int cmd_up(struct tunnel_mgr *m, struct opts *o, int argc, char **argv)
{
    struct tunnel_cfg c;
    char why[512] = "";

    memset(&c, 0, sizeof(c));
    if (argc < 4) return usage();
    if (up_cfg(o, argc, argv, &c, why, sizeof(why)) < 0)
        return failed("configuration", why);
    if (tunnel_acquire(m, argv[1], argv[3], &c, o->holder, why, sizeof(why)))
        return failed("up", why);
    return 0;
}

static int cmd_list(struct tunnel_mgr *m)
{
    struct tunnel_state st;
    char why[512] = "", *text;
    size_t len;

    if (tunnel_list(m, &st, why, sizeof(why)) < 0) return failed("list", why);
    if (tunnel_state_format(&st, &text, &len) == 0) {
        fwrite(text, 1, len, stdout);
        free(text);
    }
    tunnel_state_clear(&st);
    return 0;
}

static int cmd_restore(struct tunnel_mgr *m)
{
    char why[512] = "";
    unsigned n = 0;

    if (tunnel_restore_state(m, &n, why, sizeof(why)) < 0)
        return failed("restore", why);
    printf("repaired %u\n", n);
    return 0;
}

static int cmd_probe(struct tunnel_mgr *m, const char *kind)
{
    enum tunnel_kind k;
    char why[512] = "";

    if (tunnel_kind_parse(kind, &k) < 0) return usage();
    if (tunnel_probe(m, k, why, sizeof(why)) < 0) return failed("probe", why);
    printf("%s: supported\n", kind);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int cmd_garp(int argc, char **argv, int announce)
{
    static const long gap_ms[] = {0, 50, 250};
    struct in_addr ip;
    uint8_t mac[6];
    char why[512] = "";
    unsigned n = 0, i;

    if (argc < 2 || garp_parse_mac(argv[1], mac) < 0) return usage();
    if (argc > 2 && inet_pton(AF_INET, argv[2], &ip) != 1) return usage();
    if (garp_forget(argv[0], mac, &n, why, sizeof(why)) < 0)
        return failed("forget", why);
    printf("forgot %u\n", n);
    for (i = 0; announce && i < 3; i++) {
        sleep_ms(gap_ms[i]);
        if (garp_announce(argv[0], mac, argc > 2 ? &ip : NULL, why,
                          sizeof(why)) < 0)
            return failed("announce", why);
    }
    return 0;
}

static void print_stats(const struct etherip_stats *s)
{
    fprintf(stderr,
            "etherip: tap_rx %llu (gso %llu) tx_segs %llu calls %llu err "
            "%llu | sock_rx %llu calls %llu bad %llu tap_tx %llu (gso %llu) "
            "err %llu\n",
            s->tap_rx, s->tap_rx_gso, s->tx_segs, s->tx_calls, s->tx_err,
            s->sock_rx, s->rx_calls, s->rx_bad, s->tap_tx, s->tap_tx_gso,
            s->tap_tx_err);
}

static int cmd_etherip(int argc, char **argv)
{
    struct etherip_opts e;
    struct etherip_stats st;
    struct sigaction sa;
    int c;

    memset(&e, 0, sizeof(e));
    memset(&st, 0, sizeof(st));
    optind = 1;
    while ((c = getopt(argc, argv, "ROSKF")) != -1) {
        if (c == 'R') e.flags |= ETHERIP_F_ACCEPT_REV;
        if (c == 'S') e.flags |= ETHERIP_F_SEND_REV;
        if (c == 'O') e.flags |= ETHERIP_F_NO_OFFLOAD;
        if (c == 'K') e.flags |= ETHERIP_F_KEEP_PRIVS;
        if (c == 'F') e.flags |= ETHERIP_F_FRAGMENT;
        if (c == '?') return usage();
    }
    if (argc - optind != 3 || strlen(argv[optind]) >= IFNAMSIZ ||
        inet_pton(AF_INET, argv[optind + 1], &e.local) != 1 ||
        inet_pton(AF_INET, argv[optind + 2], &e.peer) != 1)
        return usage();
    snprintf(e.ifname, sizeof(e.ifname), "%s", argv[optind]);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (etherip_run(&e, -1, &stop, &st) < 0) {
        fprintf(stderr, "tunnelctl: etherip: %s\n", strerror(errno));
        return 1;
    }
    print_stats(&st);
    return 0;
}

static int run(struct tunnel_mgr *m, struct opts *o, int argc, char **argv)
{
    char why[512] = "";
    const char *cmd = argv[0];

    argc--;
    argv++;
    if (!strcmp(cmd, "up")) return cmd_up(m, o, argc, argv);
    if (!strcmp(cmd, "down") && argc == 2) {
        if (tunnel_release(m, argv[0], argv[1], o->holder, why, sizeof(why)))
            return failed("down", why);
        return 0;
    }
    if (!strcmp(cmd, "release-holder") && argc == 1) {
        if (tunnel_release_holder(m, argv[0], why, sizeof(why)) < 0)
            return failed("release-holder", why);
        return 0;
    }
    if (!strcmp(cmd, "restore")) return cmd_restore(m);
    if (!strcmp(cmd, "list")) return cmd_list(m);
    if (!strcmp(cmd, "probe") && argc == 1) return cmd_probe(m, argv[0]);
    if (!strcmp(cmd, "garp")) return cmd_garp(argc, argv, 1);
    if (!strcmp(cmd, "forget")) return cmd_garp(argc, argv, 0);
    if (!strcmp(cmd, "etherip")) return cmd_etherip(argc + 1, argv - 1);
    return usage();
}

int main(int argc, char **argv)
{
    struct opts o = {TUNNEL_STATE_PATH, "cli", {0}, {0}, 0};
    struct tunnel_mgr *m;
    char *eq;
    int c, rc;

    log_init("tunnelctl", LOG_TO_STDERR, getenv("TUNNELCTL_DEBUG") != NULL);
    while ((c = getopt(argc, argv, "+s:H:c:")) != -1) {
        if (c == 's') o.state = optarg;
        if (c == 'H') o.holder = optarg;
        if (c == 'c') {
            if (!(eq = strchr(optarg, '='))) return usage();
            *eq = '\0';
            kv_add(&o, optarg, eq + 1);
        }
        if (c == '?') return usage();
    }
    if (optind >= argc) return usage();
    if (!(m = tunnel_mgr_new(o.state, &tunnel_sys_ops))) return 1;
    rc = run(m, &o, argc - optind, argv + optind);
    tunnel_mgr_free(m);
    return rc;
}
