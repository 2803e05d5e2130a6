/*
 * diag.c - error and warning formatting shared by config/ (sxp.c, acl.c,
 * conf.c) and wire/ (tls.c, client.c).  diag_vappend() is the only
 * formatter; everything else says where its result goes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/diag.h"

#define DIAG_WARN_MAX 1024 /* one warning line, cut beyond */

static void diag_vappend(char *buf, size_t buflen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Appends to the string in buf, cutting at buflen; no-op without room. */
static void diag_vappend(char *buf, size_t buflen, const char *fmt, va_list ap)
{
    size_t off;

    if (!buf || !buflen) return;
    off = strnlen(buf, buflen);
    if (off < buflen) vsnprintf(buf + off, buflen - off, fmt, ap);
}

void diag_appendf(char *buf, size_t buflen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vappend(buf, buflen, fmt, ap);
    va_end(ap);
}

static void diag_warn_emit(const struct conf_opts *opts, const char *msg)
{
    if (opts && opts->warn)
        opts->warn(opts->warn_arg, msg);
    else
        fprintf(stderr, "%s\n", msg);
}

void diag_warnf(const struct conf_opts *opts, const char *fmt, ...)
{
    char msg[DIAG_WARN_MAX] = "";
    va_list ap;

    va_start(ap, fmt);
    diag_vappend(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_warn_emit(opts, msg);
}

void diag_warnf_at(const struct conf_opts *opts, const char *file, int line,
                   const char *fmt, ...)
{
    char msg[DIAG_WARN_MAX] = "";
    va_list ap;

    diag_appendf(msg, sizeof(msg), "%s:%d: warning: ", file, line);
    va_start(ap, fmt);
    diag_vappend(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_warn_emit(opts, msg);
}

int diag_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (err && errlen) {
        err[0] = '\0';
        diag_vappend(err, errlen, fmt, ap);
    }
    errno = EINVAL;
    return -1;
}

int diag_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int diag_errnof(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(err, errlen, fmt, ap);
    va_end(ap);
    errno = errnum;
    return -1;
}

int diag_errf_at(char *err, size_t errlen, const char *file, int line,
                 const char *fmt, ...)
{
    va_list ap;

    diag_errf(err, errlen, "%s:%d: ", file, line);
    va_start(ap, fmt);
    diag_vappend(err, errlen, fmt, ap);
    va_end(ap);
    errno = EINVAL;
    return -1;
}

const char *diag_vis(const char *s, char *buf, size_t buflen)
{
    size_t o = 0;

    if (buflen < 8) {
        if (buflen) buf[0] = '\0';
        return buf;
    }
    /* o never passes buflen - 4, which leaves room for "..." and a NUL */
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;

        if (o + need > buflen - 4) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}
