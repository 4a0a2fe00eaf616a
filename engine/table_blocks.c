/*
 * table_blocks.c — the cache of decoded row blocks (table_blocks.h): a
 * (column x block) table of pointers for O(1) lookups and a FIFO of the
 * blocks kept, for eviction in insertion order.
 */
#include "table_blocks.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct kept {
    unsigned char *data;
    size_t bytes;
} kept;

struct cx_block_cache {
    omp_lock_t lock;
    size_t ncols, nblocks, budget, used;
    kept *slot;   /* ncols x nblocks                             */
    size_t *fifo; /* slot indices in insertion order (a ring)     */
    size_t head, count;
    size_t decoded, reused;
};

cx_block_cache *cx_block_cache_alloc(size_t ncols, size_t nblocks, size_t budget)
{
    cx_block_cache *c = calloc(1, sizeof *c);
    size_t n = ncols * nblocks;
    if (!c || n == 0 || n / ncols != nblocks) {
        free(c);
        return NULL;
    }
    c->slot = calloc(n, sizeof *c->slot);
    c->fifo = calloc(n, sizeof *c->fifo);
    if (!c->slot || !c->fifo) {
        free(c->slot);
        free(c->fifo);
        free(c);
        return NULL;
    }
    c->ncols = ncols;
    c->nblocks = nblocks;
    c->budget = budget;
    omp_init_lock(&c->lock);
    return c;
}

void cx_block_cache_free(cx_block_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ncols * c->nblocks; i++)
        free(c->slot[i].data);
    free(c->slot);
    free(c->fifo);
    omp_destroy_lock(&c->lock);
    free(c);
}

int cx_block_cache_get(cx_block_cache *c, size_t col, size_t block, void *out, size_t bytes)
{
    if (col >= c->ncols || block >= c->nblocks)
        return 0;
    int hit = 0;
    omp_set_lock(&c->lock);
    kept *k = &c->slot[col * c->nblocks + block];
    if (k->data && k->bytes == bytes) {
        memcpy(out, k->data, bytes);
        hit = 1;
        c->reused++;
    } else {
        c->decoded++;
    }
    omp_unset_lock(&c->lock);
    return hit;
}

static void evict_oldest(cx_block_cache *c)
{
    size_t i = c->fifo[c->head];
    c->head = (c->head + 1) % (c->ncols * c->nblocks);
    c->count--;
    c->used -= c->slot[i].bytes;
    free(c->slot[i].data);
    c->slot[i].data = NULL;
    c->slot[i].bytes = 0;
}

void cx_block_cache_put(cx_block_cache *c, size_t col, size_t block, const void *in, size_t bytes)
{
    if (col >= c->ncols || block >= c->nblocks || bytes > c->budget)
        return;
    unsigned char *copy = malloc(bytes ? bytes : 1); /* outside the lock */
    if (!copy)
        return;
    memcpy(copy, in, bytes);
    size_t i = col * c->nblocks + block;
    omp_set_lock(&c->lock);
    if (c->slot[i].data) { /* another reader decoded it too */
        omp_unset_lock(&c->lock);
        free(copy);
        return;
    }
    while (c->used + bytes > c->budget && c->count > 0)
        evict_oldest(c);
    c->slot[i].data = copy;
    c->slot[i].bytes = bytes;
    c->used += bytes;
    c->fifo[(c->head + c->count) % (c->ncols * c->nblocks)] = i;
    c->count++;
    omp_unset_lock(&c->lock);
}

void cx_block_cache_stats(cx_block_cache *c, size_t *decoded, size_t *reused)
{
    omp_set_lock(&c->lock);
    *decoded = c->decoded;
    *reused = c->reused;
    omp_unset_lock(&c->lock);
}
