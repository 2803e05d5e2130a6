/*
 * diskid_fake.c - relocd-fake's disk identity (tests/net has no SAN, no
 * NBD): linked before librelocd.a, its diskid_of() replaces
 * relocd/diskid.c's.  A file under a directory named "shared" is storage
 * both hosts see, named by its real path, so a link to it is the same
 * storage under another name; every other file is local.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relocd/diskid.h"

int diskid_of(const char *path, char *id, size_t len)
{
    char real[PATH_MAX];

    id[0] = 0;
    if (!realpath(path, real)) return -1;
    if (!strstr(real, "/shared/")) return 0;
    return snprintf(id, len, "fake:%s", real) < (int)len ? 1 : 0;
}
