/*
 * pathpat.c - lists of path patterns (see pathpat.h).
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "config/diag.h"
#include "config/pathpat.h"

#define PATHPAT_BLANKS " \t\n"
#define PATHPAT_FLAGS (FNM_PATHNAME | FNM_PERIOD)

/* The next pattern of *list into buf; 0 at the end, -1 when too long. */
static int pathpat_next(const char **list, char *buf, size_t buflen)
{
    const char *p = *list + strspn(*list, PATHPAT_BLANKS);
    size_t n = strcspn(p, PATHPAT_BLANKS);

    *list = p + n;
    if (n == 0) return 0;
    if (n >= buflen) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

int pathpat_check(const char *list, const char *key, int bare_ok, char *err,
                  size_t errlen)
{
    char pat[PATHPAT_MAX], vis[128];
    int r;

    while (list && (r = pathpat_next(&list, pat, sizeof(pat))) != 0) {
        if (r < 0)
            return diag_errf(err, errlen, "%s: a pattern longer than %d bytes",
                             key, PATHPAT_MAX - 1);
        if (pat[0] == '/' || (bare_ok && !strchr(pat, '/'))) continue;
        return diag_errf(err, errlen, "%s: '%s' is not %s", key,
                         diag_vis(pat, vis, sizeof(vis)),
                         bare_ok ? "a bare name or an absolute path"
                                 : "an absolute path");
    }
    return 0;
}

/* path's last component when path lies directly in dir, else NULL. */
static const char *pathpat_in_dir(const char *path, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;

    if (!dir || strncmp(path, dir, n) || path[n] != '/') return NULL;
    return strchr(path + n + 1, '/') ? NULL : path + n + 1;
}

int pathpat_match(const char *list, const char *path, const char *dir)
{
    const char *base = pathpat_in_dir(path, dir);
    char pat[PATHPAT_MAX];
    int r;

    if (strlen(path) >= PATHPAT_MAX) return 0;
    while (list && (r = pathpat_next(&list, pat, sizeof(pat))) != 0) {
        if (r < 0) continue;
        if (pat[0] == '/' && !fnmatch(pat, path, PATHPAT_FLAGS)) return 1;
        if (pat[0] != '/' && base && !fnmatch(pat, base, PATHPAT_FLAGS))
            return 1;
    }
    return 0;
}

int pathpat_clean(const char *path)
{
    const char *c = path;

    if (*path != '/') return 0;
    while (*c == '/') {
        size_t n = strcspn(++c, "/");

        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n;
    }
    return 1;
}
