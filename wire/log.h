/*
 * log.h - relocd's logging: syslog (journald) and/or stderr.
 *
 * log_init() picks the sinks once at start-up; the rest of the daemon calls
 * log_warnx()/log_info()/log_debug() and never decides where text goes.
 */
#ifndef RELOCD_LOG_H
#define RELOCD_LOG_H

#include <stdarg.h>

#define LOG_TO_STDERR 0x1
#define LOG_TO_SYSLOG 0x2

/* Sinks are LOG_TO_* bits; debug enables log_debug(). */
void log_init(const char *ident, int sinks, int debug);
/* Changes the process tag shown in each line (e.g. "worker 3"). */
void log_procname(const char *name);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits 1: only for start-up errors and broken internal messages. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
