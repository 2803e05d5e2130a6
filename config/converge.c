/*
 * converge.c - the names of enum converge.
 */
#include <string.h>

#include "config/converge.h"

const char *const converge_names[] = {
    [CONVERGE_THROTTLE] = "throttle",
    [CONVERGE_FORCE] = "force",
    [CONVERGE_ABORT] = "abort",
    NULL,
};

const char *converge_name(int c)
{
    if (c < CONVERGE_THROTTLE || c > CONVERGE_ABORT) return NULL;
    return converge_names[c];
}

int converge_parse(const char *name, enum converge *c_r)
{
    int c;

    for (c = CONVERGE_THROTTLE; c <= CONVERGE_ABORT; c++)
        if (!strcmp(name, converge_names[c])) {
            *c_r = (enum converge)c;
            return 0;
        }
    return -1;
}
