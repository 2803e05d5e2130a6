/*
 * diag.c - error and warning formatting shared by sxp.c, acl.c and conf.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/diag.h"

void diag_warnf(const struct conf_opts *opts, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (opts && opts->warn)
        opts->warn(opts->warn_arg, msg);
    else
        fprintf(stderr, "%s\n", msg);
}

int diag_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

int diag_errnof(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = errnum;
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
