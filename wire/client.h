/*
 * client.h - the client side of the relocd protocol: connect, authenticate,
 * HELLO, PREFLIGHT, MIGRATE.  Used by xl-relocate and by relocd's sender.
 *
 * Errors are returned as typed codes with a message for humans in err; a
 * server's ERROR frame is reported as PERR_PEER with the server's own words.
 */
#ifndef RELOCD_CLIENT_H
#define RELOCD_CLIENT_H

#include <stddef.h>

#include "wire/proto.h"

struct chan;
struct msg_cpu_policy;
struct msg_migrate;
struct msg_preflight;
struct msg_preflight_result;
struct tls_ctx;

struct client_opts {
    const char *host; /* name or address of the target dom0 */
    int port;
    struct tls_ctx *tls; /* NULL: plain TCP */
    int timeout_ms;      /* for connect, handshake and each reply */
    const char *software;
};

struct client;

/*
 * Connects, authenticates and exchanges HELLO.  Returns NULL with err set
 * (and *e_r, when not NULL) on failure.
 */
struct client *client_open(const struct client_opts *o, enum proto_err *e_r,
                           char *err, size_t errlen);
void client_free(struct client *cl);
struct chan *client_chan(struct client *cl);
/* The server's host name from its HELLO. */
const char *client_server_host(const struct client *cl);

/*
 * Sends PREFLIGHT and waits for the result (res->ok tells the verdict).
 * cpu (may be NULL) is the guest's CPU policy, for the target's check.
 */
enum proto_err client_preflight(struct client *cl, const char *config_json,
                                int live, const struct msg_cpu_policy *cpu,
                                struct msg_preflight_result *res, char *err,
                                size_t errlen);
/*
 * Sends MIGRATE and waits for ACCEPT; then the stream phase begins.
 * anatomy: ask for an ANATOMY frame after xl's handshake (msg.h).
 */
enum proto_err client_migrate(struct client *cl, char *const flags[],
                              unsigned nflags, int anatomy, char *err,
                              size_t errlen);
/* The same with every member of the messages (disks, tokens: msg.h). */
enum proto_err client_preflight_msg(struct client *cl,
                                    const struct msg_preflight *m,
                                    struct msg_preflight_result *res, char *err,
                                    size_t errlen);
enum proto_err client_migrate_msg(struct client *cl,
                                  const struct msg_migrate *m, char *err,
                                  size_t errlen);

/*
 * Parses "HOST", "HOST:PORT", "[V6]:PORT" or "V6" into host (no brackets)
 * and *port_r (unchanged when absent).  Returns 0, or -1 with EINVAL.
 */
int client_parse_target(const char *target, char *host, size_t hostlen,
                        int *port_r);

#endif
