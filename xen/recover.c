/*
 * recover.c - what a dead sender worker left of a guest, and taking it
 * back (relocd/outgoing.c decides when).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxl_utils.h>

#include "xen/xen.h"
#include "xen/ctx.h"

int xen_guest_left(unsigned domid, const char *name, const char *away,
                   enum xen_left *state_r, char *cur_r, size_t curlen)
{
    libxl_ctx *ctx = xen_ctx_new();
    libxl_dominfo info;
    char *cur;
    int r;

    if (!ctx) return -1;
    *state_r = XEN_LEFT_GONE;
    cur_r[0] = '\0';
    libxl_dominfo_init(&info);
    r = libxl_domain_info(ctx, &info, domid);
    cur = r ? NULL : libxl_domid_to_name(ctx, domid);
    /* Another name: the guest died and the domid went to a new one. */
    if (cur && (!strcmp(cur, name) || !strcmp(cur, away))) {
        snprintf(cur_r, curlen, "%s", cur);
        *state_r = info.shutdown &&
                           info.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND
                       ? XEN_LEFT_SUSPENDED
                       : XEN_LEFT_RUNNING;
    }
    free(cur);
    libxl_dominfo_dispose(&info);
    xen_ctx_free(ctx);
    return r && r != ERROR_DOMAIN_NOTFOUND ? -1 : 0;
}

int xen_guest_takeback(unsigned domid, const char *name, const char *away,
                       char *err, size_t errlen)
{
    libxl_ctx *ctx = xen_ctx_new();
    char *cur;
    int rc = -1;

    if (!ctx) {
        snprintf(err, errlen, "cannot open libxl");
        return -1;
    }
    cur = libxl_domid_to_name(ctx, domid);
    if (cur && !strcmp(cur, away) &&
        libxl_domain_rename(ctx, domid, away, name))
        snprintf(err, errlen, "renaming %s back to %s failed", away, name);
    else if (libxl_domain_resume(ctx, domid, 1, NULL))
        snprintf(err, errlen, "libxl_domain_resume of domain %u failed", domid);
    else
        rc = 0;
    free(cur);
    xen_ctx_free(ctx);
    return rc;
}
