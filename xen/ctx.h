/*
 * ctx.h - a libxl context for the xen*.c files (internal to them).
 */
#ifndef RELOCD_XEN_CTX_H
#define RELOCD_XEN_CTX_H

#include <libxl.h>
#include <xenctrl.h>

/* A libxl context logging errors to stderr, or NULL; free with xen_ctx_free. */
libxl_ctx *xen_ctx_new(void);
void xen_ctx_free(libxl_ctx *ctx);

/*
 * A libxenctrl handle logging to stderr from XTL_INFO up, or NULL.  Both
 * loggers remember the first error they pass on: errno after a failed
 * libxenguest call is often left by an unrelated system call, and its last
 * message is a generic "Save failed".
 */
xc_interface *xen_xch_open(void);

/* The first error logged since the clear ("xc: ...: errno text"), or "". */
const char *xen_first_error(void);
void xen_first_error_clear(void);

#endif
