/*
 * receive.c - the receiving end is stock `xl migrate-receive`, so the
 * guest becomes an ordinary xl domain, with xl's own commit handshake.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxl_utils.h>
#include <xenstore.h>

#include "wire/log.h"
#include "xen/xen.h"
#include "xen/ctx.h"

/* xl's global flags come before the subcommand, the others after it. */
static int flag_is_global(const char *f)
{
    return !strcmp(f, "-t") || !strcmp(f, "-T") || f[1] == 'v';
}

pid_t xen_receive_start(int in_fd, int out_fd, int err_fd, char *const flags[],
                        unsigned nflags)
{
    char *argv[4 + 8 + 1];
    unsigned i, n = 0;
    pid_t pid;

    if (nflags > 8) return -1;
    argv[n++] = "xl";
    for (i = 0; i < nflags; i++)
        if (flag_is_global(flags[i])) argv[n++] = flags[i];
    argv[n++] = "migrate-receive";
    for (i = 0; i < nflags; i++)
        if (!flag_is_global(flags[i])) argv[n++] = flags[i];
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        /* xl gets the dispositions it has under sshd: exec keeps ignored
         * signals ignored, and relocd ignores these. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 ||
            (err_fd >= 0 && dup2(err_fd, 2) < 0))
            _exit(127);
        execvp("xl", argv);
        log_warn("exec xl");
        _exit(127);
    }
    if (pid < 0) log_warn("fork");
    return pid;
}

int xen_domain_lookup(const char *name, uint32_t *domid)
{
    libxl_ctx *ctx = xen_ctx_new();
    int r;

    if (!ctx) return -1;
    /* ERROR_INVAL is libxl's "no such name"; anything else: cannot ask. */
    r = libxl_name_to_domid(ctx, name, domid);
    xen_ctx_free(ctx);
    return r == 0 ? 1 : r == ERROR_INVAL ? 0 : -1;
}

/*
 * Whether a disk backend of domid (kind: vbd or qdisk) has params path:
 * libxl writes the disk's target there, "FORMAT:path" for qdisk.
 */
static int backend_has(struct xs_handle *xs, const char *kind, uint32_t domid,
                       const char *path)
{
    char dir[96], p[160], *v, *colon;
    char **devs;
    unsigned n, i;
    int found = 0;

    snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u", kind, domid);
    devs = xs_directory(xs, XBT_NULL, dir, &n);
    for (i = 0; devs && i < n && !found; i++) {
        if (snprintf(p, sizeof(p), "%s/%s/params", dir, devs[i]) >=
            (int)sizeof(p))
            continue;
        v = xs_read(xs, XBT_NULL, p, NULL);
        colon = v ? strchr(v, ':') : NULL;
        found = v && (!strcmp(v, path) || (colon && !strcmp(colon + 1, path)));
        free(v);
    }
    free(devs);
    return found;
}

int xen_disk_used_by(const char *name, const char *path)
{
    struct xs_handle *xs;
    uint32_t domid;
    int r = xen_domain_lookup(name, &domid);

    if (r <= 0) return r;
    if (!(xs = xs_open(XS_OPEN_READONLY))) return -1;
    r = backend_has(xs, "vbd", domid, path) ||
        backend_has(xs, "qdisk", domid, path);
    xs_close(xs);
    return r;
}

/* Destroys NAME--incoming if it exists; in xen_isolated(): it forks. */
static int destroy_incoming(void *arg)
{
    const char *name = arg;
    char incoming[256];
    libxl_ctx *ctx = xen_ctx_new();
    uint32_t domid;
    int rc = 0;

    if (!ctx) return -1;
    /* xl migrate-receive can leave its paused copy when the sender dies. */
    snprintf(incoming, sizeof(incoming), "%s--incoming", name);
    if (!libxl_name_to_domid(ctx, incoming, &domid)) {
        log_warnx("destroying the leftover %s (domid %u)", incoming, domid);
        rc = libxl_domain_destroy(ctx, domid, NULL);
        if (rc)
            log_warnx("destroying %s (domid %u) failed: check with xl list, "
                      "then xl destroy %u",
                      incoming, domid, domid);
    }
    xen_ctx_free(ctx);
    return rc ? -1 : 0;
}

void xen_receive_cleanup(const char *name)
{
    if (name) xen_isolated(destroy_incoming, (void *)name);
}
