/*
 * daemon.h - what the daemon's entry point (relocd.c) hands to the daemon
 * proper (daemon.c).
 */
#ifndef RELOCD_DAEMON_H
#define RELOCD_DAEMON_H

struct relocd_conf;

/*
 * Runs the daemon until SIGTERM has drained it.  Takes ownership of conf;
 * path is re-read on SIGHUP.  Returns the process exit status.
 */
int relocd_main(struct relocd_conf *conf, const char *path, int debug);

#endif
