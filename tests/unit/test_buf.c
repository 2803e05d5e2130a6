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

int main(void)
{
    test_caps();
    test_ints();
    test_growth();
    return t_done("test_buf");
}
