/*
 * ctx.c - libxl contexts.  Sessions are short-lived processes, so each
 * opens its own context after authentication and closes it at the end.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xentoollog.h>

#include "xen/xen.h"
#include "xen/ctx.h"

/* A logger that passes messages on to a stdio one and keeps the first error. */
struct recorder {
    xentoollog_logger vtable;
    xentoollog_logger *inner;
};

static char first_error[512];

static void record_vmessage(xentoollog_logger *l, xentoollog_level level,
                            int errnoval, const char *context,
                            const char *format, va_list al)
{
    struct recorder *r = (struct recorder *)l;
    va_list copy;
    int n = 0;

    if (level >= XTL_ERROR && !first_error[0]) {
        va_copy(copy, al);
        if (context)
            n = snprintf(first_error, sizeof(first_error), "%s: ", context);
        if (n >= 0 && (size_t)n < sizeof(first_error))
            n += vsnprintf(first_error + n, sizeof(first_error) - n, format,
                           copy);
        if (errnoval >= 0 && n >= 0 && (size_t)n < sizeof(first_error))
            snprintf(first_error + n, sizeof(first_error) - n, ": %s",
                     strerror(errnoval));
        va_end(copy);
    }
    r->inner->vmessage(r->inner, level, errnoval, context, format, al);
}

static void record_progress(xentoollog_logger *l, const char *context,
                            const char *doing_what, int percent,
                            unsigned long done, unsigned long total)
{
    struct recorder *r = (struct recorder *)l;

    if (r->inner->progress)
        r->inner->progress(r->inner, context, doing_what, percent, done, total);
}

static void record_destroy(xentoollog_logger *l)
{
    (void)l; /* process-long, like the stdio loggers inside */
}

static xentoollog_logger *recorder(xentoollog_level min)
{
    struct recorder *r = calloc(1, sizeof(*r));

    if (!r) return NULL;
    r->inner =
        (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, min, 0);
    if (!r->inner) {
        free(r);
        return NULL;
    }
    r->vtable.vmessage = record_vmessage;
    r->vtable.progress = record_progress;
    r->vtable.destroy = record_destroy;
    return &r->vtable;
}

const char *xen_first_error(void)
{
    return first_error;
}

void xen_first_error_clear(void)
{
    first_error[0] = '\0';
}

libxl_ctx *xen_ctx_new(void)
{
    static xentoollog_logger *logger;
    libxl_ctx *ctx = NULL;

    if (!logger) logger = recorder(XTL_ERROR);
    if (!logger) return NULL;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, logger)) return NULL;
    return ctx;
}

xc_interface *xen_xch_open(void)
{
    static xentoollog_logger *logger;

    /* XTL_INFO: libxenguest's "Saving domain ..." lines are worth a log. */
    if (!logger) logger = recorder(XTL_INFO);
    if (!logger) return NULL;
    return xc_interface_open(logger, logger, 0);
}

int xen_isolated(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        signal(SIGCHLD, SIG_DFL);
        _exit(fn(arg) == 0 ? 0 : 1);
    }
    if (pid < 0) return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
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
