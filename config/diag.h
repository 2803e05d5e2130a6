/*
 * diag.h - how relocd's modules report problems: the configuration modules
 * (sxp, acl, conf) and the wire modules that fill a caller's err buffer
 * (tls, client).
 *
 * Errors go into a caller's buffer as one line, for a file
 * "FILE:LINE: message", and the function returns -1 with errno set.
 * Warnings (the file loads, but probably not as its author meant) go to a
 * sink the caller chooses, so the daemon can send them to syslog while
 * `relocd -n` prints them; without a sink they are printed to stderr.
 * Every message is cut to fit its buffer; none is an error for that.
 */
#ifndef RELOCD_DIAG_H
#define RELOCD_DIAG_H

#include <stdarg.h>
#include <stddef.h>

/* Receives one finished warning line, without a newline. */
typedef void conf_warn_fn(void *arg, const char *msg);

struct conf_opts {
    conf_warn_fn *warn; /* NULL: "msg\n" on stderr */
    void *warn_arg;
};

/* diag.c */

/* Sends a warning to opts' sink (opts may be NULL). */
void diag_warnf(const struct conf_opts *opts, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same as "FILE:LINE: warning: message". */
void diag_warnf_at(const struct conf_opts *opts, const char *file, int line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Formats an error into err (when err is not NULL and errlen > 0), sets
 * errno to EINVAL and returns -1, so callers can "return diag_errf(...)".
 */
int diag_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* diag_errf() for a caller's own variadic wrapper; -1, errno EINVAL. */
int diag_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* diag_errf(), but errno is set to errnum (e.g. ENOMEM); returns -1. */
int diag_errnof(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* diag_errf() about a place in a file: "FILE:LINE: message"; -1, EINVAL. */
int diag_errf_at(char *err, size_t errlen, const char *file, int line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Appends to the NUL-terminated message in buf (buflen bytes in all), for
 * a message built in steps; what does not fit is cut.  buf may be NULL
 * when buflen is 0.
 */
void diag_appendf(char *buf, size_t buflen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies s into buf for quoting in a message: bytes outside printable
 * ASCII become \xNN and long strings are cut with "...".  Returns buf.
 */
const char *diag_vis(const char *s, char *buf, size_t buflen);

#endif
