/*
 * fdio.h - whole reads and writes on blocking descriptors.
 */
#ifndef RELOCD_FDIO_H
#define RELOCD_FDIO_H

#include <stddef.h>

/* Reads exactly len bytes.  0, or -1 with errno (0 at end of file). */
int fdio_read_exact(int fd, void *data, size_t len);
/* Writes all len bytes.  0, or -1 with errno. */
int fdio_write_all(int fd, const void *data, size_t len);
/*
 * Reads fd to its end into a malloc'd buffer (the caller frees *data_r;
 * not NUL-terminated).  0, or -1 with errno: EFBIG when it holds more
 * than max bytes.
 */
int fdio_read_file(int fd, size_t max, char **data_r, size_t *len_r);

#endif
