/*
 * table_blocks.h — internal to table.c: a cache of decoded row blocks,
 * keyed by (column, block), so that the jobs of one stage reading the same
 * table — and the passes of an iterative model over it — decode each
 * block of each column once (docs/DECISIONS.md, "one read per stage").
 *
 * A block is stored as the column's native bytes after HDF5 decoding
 * (inflate, unshuffle), before widening to doubles: a uint8 Likert item
 * costs 64 KiB a block, so a 5M-row, 25-item table fits in 125 MB.  The
 * cache holds at most `budget` bytes; past it, the oldest block inserted
 * is evicted first (jobs of a stage stream the table in the same order,
 * so the block a late reader needs next is the oldest one kept).
 * Thread-safe (one lock per cache; copies are made inside it).
 */
#ifndef CX_TABLE_BLOCKS_H
#define CX_TABLE_BLOCKS_H

#include <stddef.h>

typedef struct cx_block_cache cx_block_cache;

cx_block_cache *cx_block_cache_alloc(size_t ncols, size_t nblocks, size_t budget);
void cx_block_cache_free(cx_block_cache *c);
/* Copy block (col, block) of `bytes` bytes into out: 1 when cached. */
int cx_block_cache_get(cx_block_cache *c, size_t col, size_t block, void *out, size_t bytes);
/* Keep a copy (silently skipped when out of memory or larger than the budget). */
void cx_block_cache_put(cx_block_cache *c, size_t col, size_t block, const void *in, size_t bytes);
/* Blocks decoded (misses) and served from the cache (hits) so far. */
void cx_block_cache_stats(cx_block_cache *c, size_t *decoded, size_t *reused);

#endif
