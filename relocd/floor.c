/*
 * floor.c - the downtime floor of each target, learned from the anatomy.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relocd/floor.h"

double floor_of_move(const struct anatomy *a)
{
    double ms;
    unsigned i;

    for (i = 0; i < ANAT_NPHASES; i++)
        if (a->ms[i] < 0) return -1;
    ms = anat_total_ms(a) - a->ms[ANAT_FINAL_COPY] - a->ms[ANAT_END];
    return ms >= 0 && ms <= FLOOR_MAX_MS ? ms : -1;
}

static int floor_name_ok(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '_' ||
           c == '-';
}

int floor_path(const char *dir, const char *target, char *path, size_t len)
{
    size_t n = strlen(dir), i, t = strlen(target);

    /* "." and ".." would name directories, not targets */
    if (!t || !strcmp(target, ".") || !strcmp(target, "..") ||
        n + 1 + t + 1 > len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n);
    path[n++] = '/';
    for (i = 0; i < t; i++)
        path[n + i] = floor_name_ok((unsigned char)target[i]) ? target[i] : '_';
    path[n + t] = '\0';
    return 0;
}

int floor_format(const struct floor *f, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%.1f %u\n", f->ms, f->moves);

    return n < 0 || (size_t)n >= len ? -1 : n;
}

int floor_parse(const char *text, struct floor *f)
{
    char *end;
    double ms;
    unsigned long moves;

    errno = 0;
    ms = strtod(text, &end);
    if (end == text || *end != ' ' || errno || !isfinite(ms) || ms < 0 ||
        ms > FLOOR_MAX_MS)
        return -1;
    text = end + 1;
    if (*text < '0' || *text > '9') return -1;
    moves = strtoul(text, &end, 10);
    if (errno || moves == 0 || moves > 1000000000UL ||
        (*end != '\n' && *end != '\0') || (*end == '\n' && end[1]))
        return -1;
    f->ms = ms;
    f->moves = (unsigned)moves;
    return 0;
}

int floor_load(const char *dir, const char *target, struct floor *f)
{
    char path[512], text[64];
    ssize_t n;
    int fd;

    memset(f, 0, sizeof(*f));
    if (floor_path(dir, target, path, sizeof(path)) < 0) return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = '\0';
    if (floor_parse(text, f) < 0) {
        memset(f, 0, sizeof(*f));
        return -1;
    }
    return 0;
}

static int floor_write(const char *path, const struct floor *f)
{
    char tmp[560], text[64];
    int fd, n, e;

    n = floor_format(f, text, sizeof(text));
    if (n < 0 || snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
                     (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    if (write(fd, text, (size_t)n) != n || close(fd) < 0 ||
        rename(tmp, path) < 0) {
        e = errno ? errno : EIO;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int floor_learn(const char *dir, const char *target, double sample_ms,
                struct floor *out)
{
    char path[512];
    struct floor f;

    if (sample_ms < 0 || sample_ms > FLOOR_MAX_MS) {
        errno = EINVAL;
        return -1;
    }
    if (floor_path(dir, target, path, sizeof(path)) < 0) return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) return -1;
    if (floor_load(dir, target, &f) < 0)
        f = (struct floor){sample_ms, 1};
    else
        f = (struct floor){(1 - FLOOR_WEIGHT) * f.ms + FLOOR_WEIGHT * sample_ms,
                           f.moves < 1000000000u ? f.moves + 1 : f.moves};
    if (floor_write(path, &f) < 0) return -1;
    if (out) *out = f;
    return 0;
}
