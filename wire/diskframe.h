/*
 * diskframe.h - the disk channel's binary records (README.xen 3.5).
 *
 * A disk travels on a connection of its own, in the frames of proto.h
 * (length, type, flags, payload; at most PROTO_MAX_FRAME of payload).
 * Payloads are fixed binary records, big-endian, because a disk is mostly
 * bulk bytes: DATA carries up to DISK_DATA_MAX of them after a 12-byte
 * head.  Every offset and length is a multiple of DISK_SECTOR and lies
 * within the disk that DISK_HELLO announced; a decoder given the disk's
 * size checks that, so a receiver never seeks or writes past its disk.
 *
 * diskframe_put_*() append one frame to out: 0, or -1 with errno (EINVAL
 * for values the decoder would refuse, ENOSPC when out is full).
 * diskframe_get_*() return PERR_OK, PERR_UNEXPECTED for a frame of another
 * type, or PERR_BAD_MESSAGE with a reason in why.
 */
#ifndef RELOCD_DISKFRAME_H
#define RELOCD_DISKFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire/proto.h"

struct buf;

#define DISK_PROTO_VERSION 1
#define DISK_SECTOR 512U
/* DATA's payload: 8 bytes of offset, 4 of length, the bytes. */
#define DISK_DATA_HEAD 12
#define DISK_DATA_MAX (128 * 1024)
/* Tracking granularity: dm-era's block, 4 KiB to 1 MiB (B in the design). */
#define DISK_BLOCK_MIN 4096
#define DISK_BLOCK_MAX (1024 * 1024)
/* 2^56 bytes: sums of lengths stay far from 2^64. */
#define DISK_SIZE_MAX (1ULL << 56)

/* Frame types of the disk channel, apart from the control range. */
enum diskframe_type {
    DISK_HELLO = 0x201,    /* sender: version, block size, disk size */
    DISK_READY = 0x202,    /* receiver: the target is open and big enough */
    DISK_DATA = 0x203,     /* sender: offset, bytes */
    DISK_ZERO = 0x204,     /* sender: offset, length that must read zero */
    DISK_PASS_END = 0x205, /* sender: the pass's number and counts */
    DISK_DONE = 0x206,     /* sender: no more passes */
    DISK_ACK = 0x207,      /* receiver: all written and synced */
};

struct disk_hello {
    uint32_t version;
    uint32_t block_size;
    uint64_t size;
};

struct disk_data {
    uint64_t offset;
    uint32_t len;
    const uint8_t *bytes; /* points into the frame decoded */
};

struct disk_zero {
    uint64_t offset;
    uint64_t len;
};

/* Counts of one pass (PASS_END), or of all passes (ACK). */
struct disk_count {
    uint32_t pass; /* PASS_END: this pass; DONE, ACK: number of passes */
    uint32_t records;
    uint64_t data_bytes;
    uint64_t zero_bytes;
};

/* "DATA", "ZERO", ... or NULL for a type outside the disk channel. */
const char *diskframe_type_name(unsigned type);

int diskframe_put_hello(struct buf *out, const struct disk_hello *h);
int diskframe_put_ready(struct buf *out);
int diskframe_put_data(struct buf *out, uint64_t offset, const void *bytes,
                       uint32_t len);
/* DATA's frame header and offset and length only: the len bytes follow
 * outside out (chan_send_with), so a bulk frame is not copied into it. */
int diskframe_put_data_head(struct buf *out, uint64_t offset, uint32_t len);
int diskframe_put_zero(struct buf *out, uint64_t offset, uint64_t len);
int diskframe_put_pass_end(struct buf *out, const struct disk_count *c);
int diskframe_put_done(struct buf *out, uint32_t passes);
int diskframe_put_ack(struct buf *out, const struct disk_count *c);

/* HELLO: version must be ours, sizes within the limits above. */
enum proto_err diskframe_get_hello(const struct proto_frame *f,
                                   struct disk_hello *h, char *why,
                                   size_t whylen);
enum proto_err diskframe_get_ready(const struct proto_frame *f, char *why,
                                   size_t whylen);
/* DATA and ZERO: checked against the disk's size. */
enum proto_err diskframe_get_data(const struct proto_frame *f,
                                  uint64_t disk_size, struct disk_data *d,
                                  char *why, size_t whylen);
enum proto_err diskframe_get_zero(const struct proto_frame *f,
                                  uint64_t disk_size, struct disk_zero *z,
                                  char *why, size_t whylen);
enum proto_err diskframe_get_pass_end(const struct proto_frame *f,
                                      struct disk_count *c, char *why,
                                      size_t whylen);
enum proto_err diskframe_get_done(const struct proto_frame *f,
                                  uint32_t *passes_r, char *why, size_t whylen);
enum proto_err diskframe_get_ack(const struct proto_frame *f,
                                 struct disk_count *c, char *why,
                                 size_t whylen);

#endif
