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

/*
 * Runs fn(arg) in a child process whose SIGCHLD is SIG_DFL and which has
 * no other children, and waits for it: the only conditions under which
 * libxl's default child handling works (libxl_event.h, "Subprocess
 * handling": it asserts that no SIGCHLD handler is installed, and reaps
 * every child).  For libxl calls that fork (a destroy forks its
 * destroyer and runs hotplug scripts) from relocd's processes, which do
 * handle SIGCHLD and have children.  Returns fn's result, or -1.
 */
int xen_isolated(int (*fn)(void *), void *arg);

/* The first error logged since the clear ("xc: ...: errno text"), or "". */
const char *xen_first_error(void);
void xen_first_error_clear(void);

#endif
