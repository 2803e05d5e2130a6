/*
 * pathpat.h - lists of dom0 path patterns in xend-config.sxp, as
 * relocd-disk-allow and relocd-allow-scripts write them: one string, the
 * patterns separated by blanks as in xend-relocation-hosts-allow, each a
 * shell glob (fnmatch(3) with FNM_PATHNAME | FNM_PERIOD: '*' and '?' stay
 * inside one path component and do not match a leading '.'), e.g.
 * '/dev/vg0/[!.]* /srv/xen/?*.img' (see xend-config.sxp(5)).
 */
#ifndef RELOCD_PATHPAT_H
#define RELOCD_PATHPAT_H

#include <stddef.h>

#define PATHPAT_MAX 1024 /* longest pattern and longest path matched */

/* pathpat.c */

/*
 * Checks a list for the key named key: every pattern must be absolute
 * ("/..."), or, with bare_ok, a bare name without '/' (relocd-allow-
 * scripts: a script in /etc/xen/scripts).  Returns 0, or -1 with errno
 * EINVAL and "KEY: 'p' is not ..." in err (the caller adds FILE:LINE).
 */
int pathpat_check(const char *list, const char *key, int bare_ok, char *err,
                  size_t errlen);

/*
 * Whether path matches a pattern of list (NULL: none).  A bare pattern is
 * matched against path's last component when dir is path's directory
 * (dir NULL: bare patterns match nothing).  Returns 1 or 0.
 */
int pathpat_match(const char *list, const char *path, const char *dir);

/*
 * Whether path is absolute and clean: no empty, "." or ".." component and
 * no trailing '/', so that what a pattern matches is what the kernel
 * opens.  Returns 1 or 0.
 */
int pathpat_clean(const char *path);

#endif
