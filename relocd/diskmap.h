/*
 * diskmap.h - a set of a disk's blocks: one bit a block.
 *
 * The copy engine's unit of work (the blocks a pass sends) and what a
 * write tracker reports (the blocks written since a boundary).  Memory is
 * bounded by the disk: size / block size bits, and at most DISKMAP_MAX_BLOCKS
 * blocks (16 MiB of bits), so a huge disk needs a bigger block, not more
 * memory.  The last block may be short when the size is not a multiple of
 * the block size.
 */
#ifndef RELOCD_DISKMAP_H
#define RELOCD_DISKMAP_H

#include <stdint.h>

#define DISKMAP_MAX_BLOCKS (1ULL << 27)

struct diskmap;

/*
 * An empty set for a disk of size bytes in blocks of block_size bytes.
 * NULL with errno EINVAL (a zero size or block), EFBIG (too many blocks)
 * or ENOMEM.  The caller frees it with diskmap_free().
 */
struct diskmap *diskmap_new(uint64_t size, uint32_t block_size);
void diskmap_free(struct diskmap *m);

uint64_t diskmap_size(const struct diskmap *m);
uint32_t diskmap_block_size(const struct diskmap *m);
uint64_t diskmap_nblocks(const struct diskmap *m);
/* Blocks in the set. */
uint64_t diskmap_count(const struct diskmap *m);
/* Bytes those blocks cover on the disk (the last one may be short). */
uint64_t diskmap_bytes(const struct diskmap *m);

/* Adds every block that [off, off + len) touches, clipped to the disk. */
void diskmap_mark(struct diskmap *m, uint64_t off, uint64_t len);
void diskmap_set(struct diskmap *m, uint64_t block);
void diskmap_fill(struct diskmap *m);
void diskmap_clear(struct diskmap *m);
/* 1 when block is in the set, 0 when not (or past the disk). */
int diskmap_test(const struct diskmap *m, uint64_t block);
/* Adds the blocks of src (same geometry); -1 with EINVAL otherwise. */
int diskmap_merge(struct diskmap *m, const struct diskmap *src);
/*
 * The first run of blocks at or after *block that are all in the set
 * (want 1) or all out of it (want 0): 1 with *block and *count_r set,
 * 0 when there is none.
 */
int diskmap_next_run(const struct diskmap *m, int want, uint64_t *block,
                     uint64_t *count_r);

#endif
