/*
 * conf.c - the relocd-tunnel entries of the configuration given their
 * meaning (tunnel_cfg_parse), with FILE:LINE errors.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/conf.h"
#include "tunnel/conf.h"
#include "tunnel/tunnel.h"

int tunconf_parse(const struct relocd_conf *conf, struct tunnel_cfg **cfgs_r,
                  size_t *n_r, char *err, size_t errlen)
{
    struct tunnel_cfg *v = NULL;
    char why[256];
    size_t i;

    *cfgs_r = NULL;
    *n_r = 0;
    if (!conf->ntunnels) return 0;
    if (!(v = calloc(conf->ntunnels, sizeof(*v)))) {
        snprintf(err, errlen, "%s: out of memory", conf->file);
        return -1;
    }
    for (i = 0; i < conf->ntunnels; i++) {
        const struct conf_tunnel *t = &conf->tunnels[i];

        if (tunnel_cfg_parse(&v[i], (const char *const *)t->keys,
                             (const char *const *)t->vals, t->n, why,
                             sizeof(why)) < 0) {
            snprintf(err, errlen, "%s:%d: relocd-tunnel: %s", conf->file,
                     t->line, why);
            free(v);
            errno = EINVAL;
            return -1;
        }
    }
    *cfgs_r = v;
    *n_r = conf->ntunnels;
    return 0;
}

int tunconf_check(const struct relocd_conf *conf, char *err, size_t errlen)
{
    struct tunnel_cfg *cfgs;
    size_t n;

    if (tunconf_parse(conf, &cfgs, &n, err, errlen) < 0) return -1;
    free(cfgs);
    return 0;
}

void tunconf_state_path(const struct relocd_conf *conf, char *path, size_t len)
{
    char dir[512];

    snprintf(dir, sizeof(dir), "%s", conf->control_socket);
    snprintf(path, len, "%s/tunnels", dirname(dir));
}
