/*
 * feed.c - the far end of a session harness's socket (feed.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/feed.h"
#include "wire/buf.h"
#include "wire/proto.h"

void feed_frames(const uint8_t *data, size_t size, const unsigned *types,
                 size_t ntypes, struct buf *b)
{
    size_t off = 0, len;

    while (off < size) {
        if (data[off] & 0x80 || size - off < 3) {
            buf_put(b, data + off, size - off);
            return;
        }
        len = data[off + 1] | (size_t)data[off + 2] << 8;
        if (len > size - off - 3) len = size - off - 3;
        if (proto_frame_put(b, types[data[off] % ntypes], data + off + 3, len) <
            0)
            return;
        off += 3 + len;
    }
}

void feed_init(struct feed *f, int fd, const struct buf *b)
{
    f->fd = fd;
    f->p = buf_ptr(b);
    f->left = buf_len(b);
    f->done = 0;
    if (!f->left) shutdown(fd, SHUT_WR);
}

short feed_events(const struct feed *f)
{
    return f->done ? 0 : POLLIN | (f->left ? POLLOUT : 0);
}

void feed_step(struct feed *f, short revents)
{
    char sink[65536];
    ssize_t n;

    if (revents & POLLOUT) {
        n = send(f->fd, f->p, f->left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) /* EAGAIN: later; else the session is gone */
            n = errno == EAGAIN ? 0 : (ssize_t)f->left;
        f->p += n;
        f->left -= (size_t)n;
        if (!f->left) shutdown(f->fd, SHUT_WR);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        n = read(f->fd, sink, sizeof(sink));
        if (n <= 0) f->done = 1;
    }
}

static pthread_mutex_t feed_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t feed_cv = PTHREAD_COND_INITIALIZER;
static void (*feed_fn)(void *); /* NULL: the thread is idle */
static void *feed_arg;

static void *feed_thread(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&feed_mu);
    for (;;) {
        while (!feed_fn)
            pthread_cond_wait(&feed_cv, &feed_mu);
        pthread_mutex_unlock(&feed_mu);
        feed_fn(feed_arg);
        pthread_mutex_lock(&feed_mu);
        feed_fn = NULL;
        pthread_cond_broadcast(&feed_cv);
    }
    return NULL;
}

void feed_start(void (*fn)(void *), void *arg)
{
    static pthread_t t;
    static int made;

    if (!made && pthread_create(&t, NULL, feed_thread, NULL)) abort();
    made = 1;
    pthread_mutex_lock(&feed_mu);
    feed_fn = fn;
    feed_arg = arg;
    pthread_cond_broadcast(&feed_cv);
    pthread_mutex_unlock(&feed_mu);
}

void feed_wait(void)
{
    pthread_mutex_lock(&feed_mu);
    while (feed_fn)
        pthread_cond_wait(&feed_cv, &feed_mu);
    pthread_mutex_unlock(&feed_mu);
}
