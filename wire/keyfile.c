/*
 * keyfile.c - files that hold secrets: who may own and read them (see
 * keyfile.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/diag.h"
#include "wire/keyfile.h"

/* The owner and the mode of an open secret file: 0, or -1 with err set. */
static int keyfile_perm(int fd, const char *path, const char *what, char *err,
                        size_t errlen)
{
    struct stat st;
    char up[32];
    size_t i;

    if (fstat(fd, &st) < 0)
        return diag_errnof(err, errlen, errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return diag_errnof(err, errlen, EACCES, "%s: not a regular file", path);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return diag_errnof(err, errlen, EACCES,
                           "%s: bad owner: the %s file belongs to uid %u; it "
                           "must belong to root or to uid %u, who runs this",
                           path, what, (unsigned)st.st_uid,
                           (unsigned)geteuid());
    if (!(st.st_mode & 077)) return 0;
    for (i = 0; what[i] && i + 1 < sizeof(up); i++)
        up[i] = (char)toupper((unsigned char)what[i]);
    up[i] = '\0';
    return diag_errnof(err, errlen, EACCES,
                       "%s: UNPROTECTED %s FILE! permissions %04o are too "
                       "open: a %s file must not be accessible by group or "
                       "others (chmod 600)",
                       path, up, (unsigned)(st.st_mode & 07777), what);
}

int keyfile_open(const char *path, const char *what, char *err, size_t errlen)
{
    int fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return diag_errnof(err, errlen, errno, "%s: %s", path, strerror(errno));
    if (keyfile_perm(fd, path, what, err, errlen) == 0) return fd;
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

int keyfile_check(const char *path, const char *what, char *err, size_t errlen)
{
    int fd = keyfile_open(path, what, err, errlen);

    if (fd < 0) return -1;
    close(fd);
    return 0;
}
