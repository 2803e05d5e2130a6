/*
 * xl-relocate.h - what the xl-relocate subcommands share.
 */
#ifndef XL_RELOCATE_H
#define XL_RELOCATE_H

#include "config/converge.h"

#define DEFAULT_CONF "/etc/xen/xend-config.sxp"
/* How long connecting to relocd may take, unless --timeout says. */
#define CONNECT_TIMEOUT_MS (30 * 1000)

struct relocd_conf;

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
    const char *via; /* -s CMD, as xl migrate -s; NULL: relocd */
};

/* xl-relocate.c: xend-config.sxp (or xend's defaults); NULL after saying
 * why. */
struct relocd_conf *cli_load_conf(const struct opts *o);

/* connect.c: the transport for stock xl migrate -s. */
int cmd_connect(const struct opts *o, int argc, char **argv);

/* control.c: the subcommands that talk to the local relocd. */
int cmd_migrate(const struct opts *o, int argc, char **argv);
int cmd_list(const struct opts *o, int argc, char **argv);
int cmd_cancel(const struct opts *o, int argc, char **argv);

#endif
