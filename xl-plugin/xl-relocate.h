/*
 * xl-relocate.h - what the xl-relocate subcommands share.
 */
#ifndef XL_RELOCATE_H
#define XL_RELOCATE_H

#include "config/converge.h"
#include "wire/msg.h"

#define DEFAULT_CONF "/etc/xen/xend-config.sxp"
/* How long connecting to relocd may take, unless --timeout says. */
#define CONNECT_TIMEOUT_MS (30 * 1000)

struct client;
struct relocd_conf;
struct tls_ctx;

struct opts {
    const char *conf_path;
    int port; /* 0 = from the config */
    int ssl;  /* -1 = from the config */
    int quiet;
    int timeout_ms;
    /* migrate */
    int live, json, timeout_s;
    /* Left unset (0, -1, 0), the target relocd's configuration decides. */
    int max_downtime_ms;
    int bandwidth_mbps;
    int converge_set;
    enum converge on_no_converge;
    const char *via;  /* -s CMD, as xl migrate -s; NULL: relocd */
    int paused;       /* --paused: xl migrate -p */
    int copy_storage; /* --copy-storage, with --disk-map SRC=DST pairs */
    unsigned nmaps;
    struct msg_disk_map maps[MSG_MAX_DISKS];
    /* evacuate */
    const char *to; /* --to HOST[,HOST...]; NULL: relocd-evacuate-hosts */
    int parallel;   /* --parallel N; 0: 1 */
    int dry_run;
    int time_limit_s; /* --time-limit S; 0: none */
    int on_shutdown;  /* --on-shutdown: relocd-evacuate-on-shutdown decides */
};

/* xl-relocate.c: xend-config.sxp (or xend's defaults); NULL after saying
 * why. */
struct relocd_conf *cli_load_conf(const struct opts *o);

/* connect.c: the transport for stock xl migrate -s. */
int cmd_connect(const struct opts *o, int argc, char **argv);
/*
 * Connects to relocd on target (HOST[:PORT]) with the settings of conf and
 * o and exchanges HELLO.  Returns the client, with the TLS context to free
 * after it in *tls_r, or NULL with err set.
 */
struct client *cli_open_target(const struct relocd_conf *conf,
                               const struct opts *o, const char *target,
                               struct tls_ctx **tls_r, char *err,
                               size_t errlen);

/* control.c: the subcommands that talk to the local relocd. */
int cmd_migrate(const struct opts *o, int argc, char **argv);
int cmd_list(const struct opts *o, int argc, char **argv);
int cmd_cancel(const struct opts *o, int argc, char **argv);
/*
 * Has the local relocd move domain to target, as cmd_migrate does, but
 * prints only a failure.  Returns 0 when the guest runs on the target;
 * the result's message (or why there was none) is in msg.
 */
int ctl_migrate_one(const struct opts *o, const struct relocd_conf *conf,
                    const char *domain, const char *target, char *msg,
                    size_t msglen);

/* evacuate.c: every guest of this host to others. */
int cmd_evacuate(const struct opts *o, int argc, char **argv);

#endif
