/*
 * fdio.c - whole reads and writes, retried on EINTR and short transfers.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "wire/fdio.h"

int fdio_read_exact(int fd, void *data, size_t len)
{
    char *p = data;
    ssize_t r;

    while (len) {
        r = read(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int fdio_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    ssize_t r;

    while (len) {
        r = write(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

pid_t fdio_spawn_sh(const char *rune, int in_fd, int out_fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", rune, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Twice cap, but no more than max + 1: one byte past max tells "too big". */
static size_t grow(size_t cap, size_t max)
{
    return cap > max / 2 ? max + 1 : cap * 2;
}

int fdio_read_file(int fd, size_t max, char **data_r, size_t *len_r)
{
    size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
    char *data = malloc(cap), *nd;
    ssize_t r;

    if (!data) return -1;
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                free(data);
                errno = EFBIG;
                return -1;
            }
            cap = grow(cap, max);
            if (!(nd = realloc(data, cap))) break;
            data = nd;
        }
        r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (r == 0) {
            *data_r = data;
            *len_r = len;
            return 0;
        }
        len += (size_t)r;
    }
    free(data);
    return -1;
}
