/*
 * diag.h - how the configuration modules (sxp, acl, conf) report problems.
 *
 * Errors go into a caller's buffer as one line, "FILE:LINE: message", and
 * the function returns -1.  Warnings (the file loads, but probably not as
 * its author meant) go to a sink the caller chooses, so the daemon can send
 * them to syslog while `relocd -n` prints them; without a sink they are
 * printed to stderr.
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

/*
 * Formats an error into err (when err is not NULL and errlen > 0), sets
 * errno to EINVAL and returns -1, so callers can "return diag_errf(...)".
 */
int diag_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* diag_errf() for another reason than a bad input: errno = errnum. */
int diag_errnof(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Copies s into buf for quoting in a message: bytes outside printable
 * ASCII become \xNN and long strings are cut with "...".  Returns buf.
 */
const char *diag_vis(const char *s, char *buf, size_t buflen);

#endif
