/*
 * gate.c - the head of xl's stream, held against the pre-flight (gate.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relocd/gate.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/xlstream.h"

/* What the feeder moves in one read(2). */
#define GATE_FEED_CHUNK (256 * 1024)

/* Where a and b (alen, blen bytes) first differ. */
static size_t first_difference(const char *a, size_t alen, const char *b,
                               size_t blen)
{
    size_t i, n = alen < blen ? alen : blen;

    for (i = 0; i < n && a[i] == b[i]; i++)
        ;
    return i;
}

int gate_check_config(const uint8_t *opt, size_t optlen,
                      const char *preflighted, char *err, size_t errlen)
{
    const char *json;
    size_t len, want = preflighted ? strlen(preflighted) : 0;

    if (!preflighted) {
        snprintf(err, errlen, "no PREFLIGHT came before the stream");
        return -1;
    }
    if (xls_parse_config(opt, optlen, &json, &len, err, errlen) < 0) return -1;
    if (len == want && !memcmp(json, preflighted, len)) return 0;
    snprintf(err, errlen,
             "the guest config in the stream is not the one pre-flighted "
             "(%zu bytes against %zu, first difference at byte %zu)",
             len, want, first_difference(json, len, preflighted, want));
    return -1;
}

int gate_pass_head(struct chan *c, int fd, const char *preflighted, int idle_ms,
                   char *err, size_t errlen)
{
    struct buf *head = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);
    struct xls_header h;
    enum proto_err e;
    uint8_t *p;
    int rc = -1;

    if (!head || buf_reserve(head, XLS_HDR_LEN + XLS_MAX_OPTIONAL, &p) < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    chan_set_timeout(c, idle_ms);
    e = chan_read_exact(c, p, XLS_HDR_LEN);
    if (e == PERR_TIMEOUT) {
        snprintf(err, errlen,
                 "timeout: the peer was idle for %d s before "
                 "the stream's header",
                 idle_ms / 1000);
        goto out;
    }
    if (e != PERR_OK) {
        snprintf(err, errlen, "the stream ended before its header");
        goto out;
    }
    if (xls_parse_header(p, XLS_HDR_LEN, &h, err, errlen) < 0) goto out;
    chan_set_timeout(c, idle_ms);
    if (chan_read_exact(c, p + XLS_HDR_LEN, h.optional_data_len) != PERR_OK) {
        snprintf(err, errlen, "the stream ended or stalled inside its config");
        goto out;
    }
    if (gate_check_config(p + XLS_HDR_LEN, h.optional_data_len, preflighted,
                          err, errlen) < 0)
        goto out;
    if (fdio_write_all(fd, p, XLS_HDR_LEN + h.optional_data_len) < 0) {
        snprintf(err, errlen, "the receiver did not take the stream: %s",
                 strerror(errno));
        goto out;
    }
    rc = 0;
out:
    buf_free(head);
    return rc;
}

/*
 * read(2) and write(2), not splice(2): on this kernel a splice from a TCP
 * socket was seen asleep in sk_wait_data with the peer's last bytes (xl's
 * "go") already queued, which hung the commit.  The copy costs little
 * next to the stream's pace.
 */
int gate_feed(int in, int out, struct gate_mark *mark)
{
    struct pollfd p = {.fd = in, .events = POLLIN};
    uint8_t *data = malloc(GATE_FEED_CHUNK);
    unsigned long long total = 0;
    ssize_t n;
    int rc = -1;

    while (data) {
        n = read(in, data, GATE_FEED_CHUNK);
        if (n > 0) {
            if (mark) {
                total += (unsigned long long)n;
                __atomic_store_n(&mark->last_us, (long long)(clock_s() * 1e6),
                                 __ATOMIC_RELAXED);
                __atomic_store_n(&mark->bytes, total, __ATOMIC_RELEASE);
            }
            if (fdio_write_all(out, data, (size_t)n) < 0) break;
            continue;
        }
        if (n == 0) {
            rc = 0;
            break;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) break;
        /* A non-blocking socket with nothing in it yet. */
        if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    }
    free(data);
    return rc;
}
