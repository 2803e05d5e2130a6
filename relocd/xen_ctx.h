/*
 * xen_ctx.h - a libxl context for the xen*.c files (internal to them).
 */
#ifndef RELOCD_XEN_CTX_H
#define RELOCD_XEN_CTX_H

#include <libxl.h>

/* A libxl context logging errors to stderr, or NULL; free with xen_ctx_free. */
libxl_ctx *xen_ctx_new(void);
void xen_ctx_free(libxl_ctx *ctx);

#endif
