/*
 * log.c - syslog and stderr sinks, in the style of OpenBSD's log.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config/diag.h"
#include "wire/log.h"

static int log_sinks = LOG_TO_STDERR;
static int log_debug_on;
static const char *log_proc = "relocd";

void log_init(const char *ident, int sinks, int debug)
{
    log_sinks = sinks;
    log_debug_on = debug;
    if (sinks & LOG_TO_SYSLOG) openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_procname(const char *name)
{
    log_proc = name;
}

static void log_vemit(int pri, const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * Messages carry peer text (HELLO's software and host, ERROR texts, PTR
 * names): every byte outside printable ASCII is written as \xNN, so a
 * newline cannot forge a log line nor an escape sequence a terminal.
 */
static void log_vemit(int pri, const char *suffix, const char *fmt, va_list ap)
{
    char msg[1024], vis[4 * sizeof(msg)];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    diag_vis(msg, vis, sizeof(vis));
    if (log_sinks & LOG_TO_STDERR)
        fprintf(stderr, "%s: %s%s%s\n", log_proc, vis, suffix ? ": " : "",
                suffix ? suffix : "");
    if (log_sinks & LOG_TO_SYSLOG)
        syslog(pri, "%s%s%s", vis, suffix ? ": " : "", suffix ? suffix : "");
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    log_vemit(LOG_WARNING, strerror(saved), fmt, ap);
    va_end(ap);
    errno = saved;
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_WARNING, NULL, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_INFO, NULL, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!log_debug_on) return;
    va_start(ap, fmt);
    log_vemit(LOG_DEBUG, NULL, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    log_vemit(LOG_CRIT, strerror(saved), fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_CRIT, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
