/*
 * feed.h - the far end of a session harness's socket (fuzz_slave,
 * fuzz_monitor): the input as frames, written without ever blocking on a
 * full socket while the replies are drained.
 */
#ifndef RELOCD_FUZZ_FEED_H
#define RELOCD_FUZZ_FEED_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Appends to b the frames data describes, each <type><length, 2 bytes
 * LE><payload>, the type an index into types, so that mutations reach
 * the states after the first frames; a type byte with its high bit set
 * appends the rest of data as it is (any framing, any length field).
 */
void feed_frames(const uint8_t *data, size_t size, const unsigned *types,
                 size_t ntypes, struct buf *b);

struct feed {
    int fd;
    const uint8_t *p; /* what is left to write */
    size_t left;
    int done; /* the far side closed: nothing more comes */
};

/* Feeds b's bytes (b outlives f) into fd; shuts fd for writing after. */
void feed_init(struct feed *f, int fd, const struct buf *b);
/* The poll(2) events f waits for. */
short feed_events(const struct feed *f);
/* Writes or drains as revents allow; sets f->done at the end. */
void feed_step(struct feed *f, short revents);

/*
 * Runs fn(arg) on the harness's one helper thread, made at the first call
 * and kept: a thread a run would cost more than the run.  feed_wait()
 * returns once fn has.
 */
void feed_start(void (*fn)(void *), void *arg);
void feed_wait(void);

#endif
