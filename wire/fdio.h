/*
 * fdio.h - whole reads and writes on blocking descriptors.
 */
#ifndef RELOCD_FDIO_H
#define RELOCD_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads exactly len bytes.  0, or -1 with errno (0 at end of file). */
int fdio_read_exact(int fd, void *data, size_t len);
/* Writes all len bytes.  0, or -1 with errno. */
int fdio_write_all(int fd, const void *data, size_t len);
/*
 * Starts `sh -c rune` with in_fd as its stdin and out_fd as its stdout (the
 * way xl migrate -s runs its transport).  Returns the pid, or -1 with
 * errno; the caller closes its copies and reaps the child.
 */
pid_t fdio_spawn_sh(const char *rune, int in_fd, int out_fd);
/*
 * Reads fd to its end into a malloc'd buffer (the caller frees *data_r;
 * not NUL-terminated).  0, or -1 with errno: EFBIG when it holds more
 * than max bytes.
 */
int fdio_read_file(int fd, size_t max, char **data_r, size_t *len_r);

#endif
