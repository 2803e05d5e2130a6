/*
 * gate.h - the head of xl's stream, held against the pre-flight.
 *
 * Pre-flight checks one guest config; `xl migrate-receive` creates the
 * domain from the one at the head of the stream (the xl save header's
 * optional data).  So the session reads that head itself and lets xl
 * have it only when its config is, byte for byte, the one the last
 * PREFLIGHT carried: relocd's sender and `xl-relocate connect` both send
 * the very same text in both places (README.xen 3.2), so anything else is
 * a peer trying to have one guest checked and another created.
 */
#ifndef RELOCD_GATE_H
#define RELOCD_GATE_H

#include <stddef.h>
#include <stdint.h>

struct chan;

/*
 * Checks that the optional data of an xl save header (opt, optlen bytes)
 * carries exactly the config text preflighted.  Returns 0, or -1 with the
 * reason in err: no config, or where the two first differ.
 */
int gate_check_config(const uint8_t *opt, size_t optlen,
                      const char *preflighted, char *err, size_t errlen);

/*
 * Reads the stream's head from c, the header and then the config each
 * within idle_ms, checks the header (xls_parse_header) and the config
 * (gate_check_config), and only then writes the head to fd, the
 * receiver's input.  Returns 0, or -1 with the reason in err (nothing was
 * written to fd then).
 */
int gate_pass_head(struct chan *c, int fd, const char *preflighted, int idle_ms,
                   char *err, size_t errlen);

/*
 * What the feeder has read so far, for the downtime's anatomy: when its
 * last read returned (clock_s() in microseconds) and the bytes in all.
 * In memory shared with the feeder's process; each member is stored and
 * loaded whole (__atomic), the pair is not consistent.
 */
struct gate_mark {
    long long last_us;
    unsigned long long bytes;
};

/*
 * Moves the rest of the stream from the socket in to the pipe out, until
 * in ends or fails, keeping mark (may be NULL) up to date.  For a
 * receiver that writes to the socket itself but reads only what passed
 * the gate.  Returns 0 at the end of in, -1 on an error.
 */
int gate_feed(int in, int out, struct gate_mark *mark);

#endif
