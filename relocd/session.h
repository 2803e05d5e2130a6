/*
 * session.h - serving one incoming relocation connection (server side),
 * in its own process, from accept() to the end of the stream phase.
 */
#ifndef RELOCD_SESSION_H
#define RELOCD_SESSION_H

#include <sys/socket.h>

struct relocd_conf;
struct tls_ctx;

struct session_env {
    const struct relocd_conf *conf;
    struct tls_ctx *tls; /* NULL on the plain port */
    int slot_fd;         /* pipe to the parent: asks for a migration slot */
    const char *hostname;
    const char *incoming_dir; /* receives in flight leave a marker here */
};

/*
 * At start-up: guests a previous relocd was receiving when it died (their
 * markers are in dir) are half-restored NAME--incoming domains; destroy
 * them, remove the disk copies those receives made (kept when the guest
 * runs here) and drop the markers.  A receive whose session outlived its
 * relocd is left to that process.  Returns how many were cleaned up.
 */
int session_recover(const char *dir);

/*
 * Serves the connection on fd (peer address sa) and returns the process
 * exit status: 0 when a guest was received, 1 otherwise.
 */
int session_serve(const struct session_env *env, int fd,
                  const struct sockaddr *sa, socklen_t salen);

#endif
