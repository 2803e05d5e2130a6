/*
 * conf.h - relocd's configuration: xend-config.sxp read as xend read it.
 *
 * The file is the one xend used (/etc/xen/xend-config.sxp), a sequence of
 * (key value) forms.  The xend relocation keys keep xend's meaning and
 * defaults (tools/python/xen/xend/XendOptions.py, Xen 4.4); relocd's own
 * keys are relocd-*.  Every other key (xend-http-server, network-script,
 * dom0-min-mem, ...) is accepted and ignored, so a Xen 3.x/4.x host's file
 * loads unchanged; an unknown relocd-* key is an error.  As in xend, the
 * first occurrence of a key wins and a key without a value is its default.
 *
 * Keys, defaults and checks are one table in conf.c: a new key is one row
 * there and one field here.
 */
#ifndef RELOCD_CONF_H
#define RELOCD_CONF_H

#include <stdio.h>

#include "config/converge.h"
#include "config/diag.h"

/*
 * The hotplug scripts a received guest may name by default: Xen 4.17's
 * tools/hotplug/Linux scripts that act only on what pre-flight checks (a
 * disk path, a bridge); block-iscsi, block-nbd, vif2, ... must be listed.
 */
#define CONF_DEFAULT_SCRIPTS                                                   \
    "block vif-bridge vif-nat vif-openvswitch vif-route"

/* Where xend looked for a key or certificate file named without a '/'. */
#define CONF_XEN_CONFIG_DIR "/etc/xen"
/* The longest HOST[:PORT] of relocd-evacuate-hosts (msg_ctl_migrate's). */
#define CONF_MAX_HOST 299

/*
 * One (relocd-tunnel (key value) ...) entry, as written: tunnel/conf.c
 * gives the pairs their meaning (config/ knows nothing of tunnels).
 * Unlike the other keys the form may repeat: every entry counts.
 */
#define CONF_TUNNEL_MAX_PAIRS 16
#define CONF_MAX_TUNNELS 64
struct conf_tunnel {
    int line; /* of the entry */
    size_t n;
    char *keys[CONF_TUNNEL_MAX_PAIRS], *vals[CONF_TUNNEL_MAX_PAIRS];
    int lines[CONF_TUNNEL_MAX_PAIRS];
};

/* Strings are NULL when unset; bools are 0 or 1. */
struct relocd_conf {
    /* xend keys, xend's defaults */
    int relocation_server; /* xend-relocation-server, no */
    int port;              /* xend-relocation-port, 8002 */
    char *address;         /* xend-relocation-address, '' = all; or ifname */
    char *hosts_allow;     /* xend-relocation-hosts-allow, '' = everyone */
    int ssl_server;        /* xend-relocation-ssl-server, no */
    int ssl_port;          /* xend-relocation-ssl-port, 8003 */
    char *ssl_key_file;    /* xend-relocation-server-ssl-key-file */
    char *ssl_cert_file;   /* xend-relocation-server-ssl-cert-file */
    int ssl;               /* xend-relocation-ssl (client default), no */
    /* relocd-* */
    int allow_dm_args;           /* relocd-allow-device-model-args, no */
    char *allow_scripts;         /* relocd-allow-scripts, pathpat.h list */
    char *disk_allow;            /* relocd-disk-allow, NULL: not dom0's */
    char *evacuate_hosts;        /* relocd-evacuate-hosts: HOST[:PORT] list */
    int evacuate_on_shutdown;    /* relocd-evacuate-on-shutdown, s, 0 = off */
    char *ca_file;               /* relocd-ssl-ca-file: CA for mutual TLS */
    char *crl_file;              /* relocd-crl-file: revoked certificates */
    char *psk_file;              /* relocd-psk-file: TLS 1.3 external PSK */
    char *privsep_user;          /* relocd-privsep-user: the sandbox's */
    char *psk_identity;          /* relocd-psk-identity: our line of it */
    int allow_insecure;          /* relocd-allow-insecure: plain TCP, no auth */
    int max_migrations;          /* relocd-max-migrations, 1..64, 2 */
    int max_pending;             /* relocd-max-pending, 1..1024, 16 */
    int max_pending_per_host;    /* relocd-max-pending-per-host, 1..1024, 4 */
    int pending_drop_start;      /* relocd-pending-drop-start, 1..1024, 8 */
    int pending_drop_rate;       /* relocd-pending-drop-rate, %, 0..100, 30 */
    int stream_idle_timeout;     /* relocd-stream-idle-timeout, s, 300 */
    int handshake_timeout;       /* relocd-handshake-timeout, s, 1..3600, 10 */
    char *control_socket;        /* relocd-control-socket */
    int max_downtime_ms;         /* relocd-max-downtime, ms, 1..600000, 300 */
    int on_no_converge;          /* relocd-on-no-converge, enum converge */
    int bandwidth_mbps;          /* relocd-bandwidth, MB/s, 0 = unlimited */
    struct conf_tunnel *tunnels; /* relocd-tunnel entries, in file order */
    size_t ntunnels;
    char *file;        /* the file's name, for FILE:LINE messages */
    struct acl *acl;   /* compiled hosts_allow, NULL = everyone */
    unsigned warnings; /* warnings given while loading */
};

/* conf.c */

/*
 * Reads and parses the file at path (at most SXP_MAX_SIZE bytes).  A
 * missing file is an error like any other: the caller decides whether a
 * missing default file means defaults, as it did for xend.  Warnings go to
 * opts (NULL: stderr).  Returns 0 and a new config in *conf_r, which the
 * caller frees with conf_free(), or -1 with errno set and
 * "FILE:LINE: message" (or "FILE: message") in err.
 */
int conf_load_opts(const char *path, const struct conf_opts *opts,
                   struct relocd_conf **conf_r, char *err, size_t errlen);

/* conf_load_opts() with warnings on stderr. */
int conf_load(const char *path, struct relocd_conf **conf_r, char *err,
              size_t errlen);

/*
 * As conf_load_opts(), from len bytes of text; filename is only used in
 * messages.  An empty text gives every default.
 */
int conf_parse_opts(const char *text, size_t len, const char *filename,
                    const struct conf_opts *opts, struct relocd_conf **conf_r,
                    char *err, size_t errlen);

/* conf_parse_opts() with warnings on stderr. */
int conf_parse(const char *text, size_t len, const char *filename,
               struct relocd_conf **conf_r, char *err, size_t errlen);

/*
 * xend's rule (XendOptionsFile), for relocd and xl-relocate alike: a file
 * named explicitly must exist; the default path, when it does not exist,
 * gives xend's defaults.  Otherwise as conf_load().
 */
int conf_load_xend(const char *path, int explicit, struct relocd_conf **conf_r,
                   char *err, size_t errlen);

/* NULL is fine. */
void conf_free(struct relocd_conf *conf);

/*
 * Prints the effective relocation settings, one "key value" a line: the
 * xend keys, then the relocd-* keys, each group in name order.  Strings are
 * printed as they are, an unset or empty one as ''; bools as yes/no.
 */
void conf_print(FILE *f, const struct relocd_conf *conf);

/* The i'th key name in the (sorted) key table, NULL past the end. */
const char *conf_key_name(size_t i);

#endif
