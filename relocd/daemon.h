/*
 * daemon.h - what the daemon's entry point hands to the daemon proper.
 */
#ifndef RELOCD_RELOCD_H
#define RELOCD_RELOCD_H

#define RELOCD_VERSION "0.1.0"

struct relocd_conf;

/*
 * Runs the daemon until SIGTERM has drained it.  Takes ownership of conf;
 * path is re-read on SIGHUP.  Returns the process exit status.
 */
int relocd_main(struct relocd_conf *conf, const char *path, int debug);

#endif
