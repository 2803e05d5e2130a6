/*
 * diskmap.c - a bitmap of blocks, 64 to a word.
 *
 * Bits past the last block stay 0 (diskmap_fill() masks the last word), so
 * counting and searching need no special case at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relocd/diskmap.h"

struct diskmap {
    uint64_t size;
    uint32_t block;
    uint64_t nblocks;
    size_t nwords;
    uint64_t *w;
};

struct diskmap *diskmap_new(uint64_t size, uint32_t block_size)
{
    struct diskmap *m;
    uint64_t n;

    if (!size || !block_size) {
        errno = EINVAL;
        return NULL;
    }
    n = size / block_size + (size % block_size != 0);
    if (n > DISKMAP_MAX_BLOCKS) {
        errno = EFBIG;
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->size = size;
    m->block = block_size;
    m->nblocks = n;
    m->nwords = (size_t)((n + 63) / 64);
    m->w = calloc(m->nwords, sizeof(*m->w));
    if (!m->w) {
        free(m);
        return NULL;
    }
    return m;
}

void diskmap_free(struct diskmap *m)
{
    if (!m) return;
    free(m->w);
    free(m);
}

uint64_t diskmap_size(const struct diskmap *m)
{
    return m->size;
}

uint32_t diskmap_block_size(const struct diskmap *m)
{
    return m->block;
}

uint64_t diskmap_nblocks(const struct diskmap *m)
{
    return m->nblocks;
}

uint64_t diskmap_count(const struct diskmap *m)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < m->nwords; i++)
        n += (uint64_t)__builtin_popcountll(m->w[i]);
    return n;
}

uint64_t diskmap_bytes(const struct diskmap *m)
{
    uint64_t n = diskmap_count(m) * m->block;
    uint64_t tail = m->nblocks * m->block - m->size;

    /* Only the last block can be short. */
    if (tail && diskmap_test(m, m->nblocks - 1)) n -= tail;
    return n;
}

void diskmap_set(struct diskmap *m, uint64_t block)
{
    if (block < m->nblocks) m->w[block / 64] |= 1ULL << (block % 64);
}

int diskmap_test(const struct diskmap *m, uint64_t block)
{
    return block < m->nblocks && (m->w[block / 64] >> (block % 64)) & 1;
}

void diskmap_mark(struct diskmap *m, uint64_t off, uint64_t len)
{
    uint64_t b, last;

    if (!len || off >= m->size) return;
    if (len > m->size - off) len = m->size - off;
    last = (off + len - 1) / m->block;
    for (b = off / m->block; b <= last; b++)
        diskmap_set(m, b);
}

void diskmap_fill(struct diskmap *m)
{
    memset(m->w, 0xff, m->nwords * sizeof(*m->w));
    if (m->nblocks % 64) m->w[m->nwords - 1] = (1ULL << (m->nblocks % 64)) - 1;
}

void diskmap_clear(struct diskmap *m)
{
    memset(m->w, 0, m->nwords * sizeof(*m->w));
}

int diskmap_merge(struct diskmap *m, const struct diskmap *src)
{
    size_t i;

    if (m->size != src->size || m->block != src->block) {
        errno = EINVAL;
        return -1;
    }
    for (i = 0; i < m->nwords; i++)
        m->w[i] |= src->w[i];
    return 0;
}

/* The first block at or after b whose bit is want; nblocks when none. */
static uint64_t diskmap_find(const struct diskmap *m, int want, uint64_t b)
{
    uint64_t word;

    while (b < m->nblocks) {
        word = want ? m->w[b / 64] : ~m->w[b / 64];
        word >>= b % 64;
        if (word) {
            b += (uint64_t)__builtin_ctzll(word);
            return b < m->nblocks ? b : m->nblocks;
        }
        b = (b / 64 + 1) * 64;
    }
    return m->nblocks;
}

int diskmap_next_run(const struct diskmap *m, int want, uint64_t *block,
                     uint64_t *count_r)
{
    uint64_t start = diskmap_find(m, want, *block), end;

    if (start >= m->nblocks) return 0;
    end = diskmap_find(m, !want, start);
    *block = start;
    *count_r = end - start;
    return 1;
}
