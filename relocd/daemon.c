/*
 * daemon.c - the daemon proper: listeners, poll loop, workers.
 */
#include <stdio.h>

#include "conf.h"
#include "log.h"
#include "relocd.h"

int relocd_main(struct relocd_conf *conf, const char *path, int debug)
{
    (void)path;
    (void)debug;
    log_warnx("the relocation server is not implemented yet");
    conf_free(conf);
    return 1;
}
