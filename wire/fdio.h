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

#endif
