/*
 * xen_ctx.c - libxl contexts.  Sessions are short-lived processes, so each
 * opens its own context after authentication and closes it at the end.
 */
#include <stdlib.h>
#include <xentoollog.h>

#include "xen.h"
#include "xen_ctx.h"

static xentoollog_logger_stdiostream *xen_logger;

libxl_ctx *xen_ctx_new(void)
{
    libxl_ctx *ctx = NULL;

    if (!xen_logger)
        xen_logger = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (!xen_logger) return NULL;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *)xen_logger))
        return NULL;
    return ctx;
}

void xen_ctx_free(libxl_ctx *ctx)
{
    if (ctx) libxl_ctx_free(ctx);
}

int xen_domain_uuid_exists(const char *uuid)
{
    libxl_ctx *ctx = xen_ctx_new();
    libxl_dominfo *info;
    libxl_uuid want;
    int i, n, found = -1;

    if (!ctx) return -1;
    if (libxl_uuid_from_string(&want, uuid) == 0 &&
        (info = libxl_list_domain(ctx, &n))) {
        for (found = 0, i = 0; i < n && !found; i++)
            found = libxl_uuid_compare(&info[i].uuid, &want) == 0;
        libxl_dominfo_list_free(info, n);
    }
    xen_ctx_free(ctx);
    return found;
}
