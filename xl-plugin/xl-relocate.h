/*
 * xl-relocate.h - what the xl-relocate subcommands share.
 */
#ifndef XL_RELOCATE_H
#define XL_RELOCATE_H

#define DEFAULT_CONF "/etc/xen/xend-config.sxp"

struct relocd_conf;

struct opts {
    const char *conf_path;
    int port; /* 0 = from the config */
    int ssl;  /* -1 = from the config */
    int quiet;
    int timeout_ms;
    /* migrate */
    int live, json, max_downtime_ms, bandwidth_mbps, timeout_s;
    const char *on_no_converge; /* NULL = from the config */
    const char *via;            /* -s CMD, as xl migrate -s; NULL: relocd */
};

/* xl-relocate.c: xend-config.sxp (or xend's defaults); NULL after saying
 * why. */
struct relocd_conf *load_conf(const struct opts *o);
int cmd_connect(const struct opts *o, int argc, char **argv);
/* The enum conf_converge value of "throttle", "force" or "abort", or -1. */
int converge_index(const char *name);

/* control.c: the subcommands that talk to the local relocd. */
int cmd_migrate(const struct opts *o, int argc, char **argv);
int cmd_list(const struct opts *o, int argc, char **argv);
int cmd_cancel(const struct opts *o, int argc, char **argv);

#endif
