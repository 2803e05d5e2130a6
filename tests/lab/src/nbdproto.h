/*
 * nbdproto.h - what nbdserve and nbdlink share of the NBD protocol
 * (NetworkBlockDevice/nbd doc/proto.md): the fixed newstyle handshake's
 * magics and codes, the transmission phase's, and big-endian fields on a
 * blocking socket.  Only what the two lab tools use.
 */
#ifndef LAB_NBDPROTO_H
#define LAB_NBDPROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define NBD_MAGIC 0x4e42444d41474943ULL    /* "NBDMAGIC" */
#define NBD_IHAVEOPT 0x49484156454F5054ULL /* "IHAVEOPT" */
#define NBD_REP_MAGIC 0x3e889045565a9ULL   /* option replies */
#define NBD_REQ_MAGIC 0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698U

/* handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE (1U << 0)
#define NBD_FLAG_NO_ZEROES (1U << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1U << 0)
#define NBD_FLAG_C_NO_ZEROES (1U << 1)

/* transmission flags */
#define NBD_TF_HAS_FLAGS (1U << 0)
#define NBD_TF_READ_ONLY (1U << 1)
#define NBD_TF_SEND_FLUSH (1U << 2)
#define NBD_TF_SEND_FUA (1U << 3)
#define NBD_TF_SEND_TRIM (1U << 5)
#define NBD_TF_CAN_MULTI_CONN (1U << 8)

/* options and their replies */
#define NBD_OPT_EXPORT_NAME 1U
#define NBD_OPT_ABORT 2U
#define NBD_OPT_INFO 6U
#define NBD_OPT_GO 7U
#define NBD_REP_ACK 1U
#define NBD_REP_INFO 3U
#define NBD_REP_ERR (1U << 31)
#define NBD_REP_ERR_UNSUP (NBD_REP_ERR + 1)
#define NBD_REP_ERR_INVALID (NBD_REP_ERR + 3)
#define NBD_REP_ERR_UNKNOWN (NBD_REP_ERR + 6)
#define NBD_INFO_EXPORT 0U
#define NBD_INFO_BLOCK_SIZE 3U

/* commands, the one command flag used, the errors sent */
#define NBD_CMD_READ 0U
#define NBD_CMD_WRITE 1U
#define NBD_CMD_DISC 2U
#define NBD_CMD_FLUSH 3U
#define NBD_CMD_TRIM 4U
#define NBD_CMD_FLAG_FUA (1U << 0)
#define NBD_EPERM 1U
#define NBD_EIO 5U
#define NBD_EINVAL 22U
#define NBD_ENOSPC 28U

/* sizes on the wire */
#define NBD_OPT_HDR 16    /* IHAVEOPT, option, length */
#define NBD_REP_HDR 20    /* magic, option, type, length */
#define NBD_REQ_HDR 28    /* magic, flags, type, handle, offset, length */
#define NBD_REPLY_HDR 16  /* magic, error, handle */
#define NBD_NAME_MAX 4096 /* the protocol's longest string */

static inline void put16(unsigned char *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void put32(unsigned char *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static inline void put64(unsigned char *p, uint64_t v)
{
    put32(p, v >> 32);
    put32(p + 4, v);
}

static inline uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const unsigned char *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* readn / writen: all N bytes or -1 (errno; 0 for an early end of file) */
static inline int readn(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    ssize_t r;

    while (n > 0) {
        r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static inline int writen(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    ssize_t r;

    while (n > 0) {
        r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

#endif
