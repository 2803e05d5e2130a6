/* test_buf.c - bounded buffers: caps, getters on short data, compaction. */
#include <errno.h>
#include <stdint.h>

#include "wire/buf.h"
#include "t.h"

static void test_caps(void)
{
    struct buf *b = buf_new(8);
    uint8_t x[9] = {0};

    T_EQ_INT(buf_put(b, x, 8), 0);
    T_EQ_INT(buf_put(b, x, 1), -1);
    T_EQ_INT(errno, ENOSPC);
    T_EQ_INT(buf_len(b), 8);
    T_EQ_INT(buf_consume(b, 9), -1);
    T_EQ_INT(errno, ENODATA);
    T_EQ_INT(buf_consume(b, 5), 0);
    T_EQ_INT(buf_avail(b), 5);
    T_EQ_INT(buf_put(b, x, 5), 0); /* fits after compaction */
    T_EQ_INT(buf_len(b), 8);
    buf_free(b);
    buf_free(NULL);
}

static void test_ints(void)
{
    struct buf *b = buf_new(64);
    uint32_t v32;
    uint16_t v16;

    T_EQ_INT(buf_put_u32(b, 0x01020304), 0);
    T_EQ_INT(buf_put_u16(b, 0xa0b0), 0);
    T_EQ_INT(buf_ptr(b)[0], 1);
    T_EQ_INT(buf_peek_u16(b, 4, &v16), 0);
    T_EQ_INT(v16, 0xa0b0);
    T_EQ_INT(buf_peek_u32(b, 2, &v32), 0);
    T_EQ_INT(buf_peek_u32(b, 3, &v32), -1);
    T_EQ_INT(buf_peek_u32(b, 4, &v32), -1);
    T_EQ_INT(buf_peek_u32(b, (size_t)-1, &v32), -1);
    T_EQ_INT(buf_get_u32(b, &v32), 0);
    T_EQ_INT(v32, 0x01020304);
    T_EQ_INT(buf_get_u32(b, &v32), -1);
    T_EQ_INT(buf_get_u16(b, &v16), 0);
    T_EQ_INT(buf_len(b), 0);
    buf_free(b);
}

static void test_growth(void)
{
    struct buf *b = buf_new(1000000);
    uint8_t chunk[1000], out[1000];
    int i, ok = 1;

    for (i = 0; i < 1000; i++)
        chunk[i] = (uint8_t)i;
    for (i = 0; i < 1000; i++)
        ok &= buf_put(b, chunk, sizeof(chunk)) == 0;
    T_OK(ok, "1000 puts of 1000 bytes");
    T_EQ_INT(buf_put(b, chunk, sizeof(chunk)), -1);
    for (i = 0; i < 500; i++)
        ok &= buf_get(b, out, sizeof(out)) == 0 && !memcmp(out, chunk, 1000);
    T_OK(ok, "500 gets return what was put");
    T_EQ_INT(buf_len(b), 500000);
    buf_reset(b);
    T_EQ_INT(buf_len(b), 0);
    buf_free(b);
}

/* A commit adds at most what was reserved, once (as sshbuf_reserve). */
static void test_commit(void)
{
    struct buf *b = buf_new(64);
    uint8_t *p;

    T_EQ_INT(buf_reserve(b, 4, &p), 0);
    memcpy(p, "abcd", 4);
    T_EQ_INT(buf_commit(b, 5), -1); /* over the reservation: refused */
    T_EQ_INT(errno, EINVAL);
    T_EQ_INT(buf_len(b), 0);
    T_EQ_INT(buf_commit(b, 3), 0);
    T_EQ_INT(buf_len(b), 3);
    T_OK(!memcmp(buf_ptr(b), "abc", 3), "committed bytes");
    T_EQ_INT(buf_commit(b, 1), -1);    /* it ended with the last commit */
    T_EQ_INT(buf_commit(b, 1000), -1); /* never past the maximum either */
    T_EQ_INT(buf_len(b), 3);
    T_EQ_INT(buf_avail(b), 61);
    T_EQ_INT(buf_commit(b, 0), 0);
    /* A consume that empties b moves the end: the reservation is gone. */
    T_EQ_INT(buf_reserve(b, 8, &p), 0);
    T_EQ_INT(buf_consume(b, 3), 0);
    T_EQ_INT(buf_commit(b, 8), -1);
    T_EQ_INT(buf_len(b), 0);
    /* A put between reserve and commit ends it too. */
    T_EQ_INT(buf_reserve(b, 8, &p), 0);
    T_EQ_INT(buf_put(b, "xy", 2), 0);
    T_EQ_INT(buf_commit(b, 8), -1);
    T_EQ_INT(buf_len(b), 2);
    buf_free(b);
}

int main(void)
{
    test_caps();
    test_ints();
    test_growth();
    test_commit();
    return t_done("test_buf");
}
