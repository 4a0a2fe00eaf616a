/*
 * rowpass.c — design rows at given parameters, one streaming pass
 * (rowpass.h).  A thin cx_reducer_type around the family's accumulator:
 * the reducer owns the per-thread design workspace and row buffers, the
 * family's accumulator only sees filled design rows.  With a cache, the
 * first pass also keeps each block's rows (handed to the cache in the
 * ordered merge, so in block order) and later passes sweep the kept
 * blocks with the same ordered merge instead of reading the table.
 */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "dist.h"
#include "filter_eval.h"
#include "reducer.h"
#include "resample.h"
#include "rowpass.h"

/* A holdout expression reads at most 64 columns (config.c bounds it). */
#define ROWPASS_MAX_FILTER_VARS 64

/* ---- the cache -------------------------------------------------------------- */

/* One block's rows, in one allocation: x (m x p, row-major), y, w, extra
 * (m x ne, column-major), then row, level, slot. */
typedef struct cached_block {
    size_t m;
    double *x, *y, *w, *extra;
    size_t *row, *level, *slot;
} cached_block;

typedef enum cache_state { CACHE_EMPTY, CACHE_COMPLETE, CACHE_OFF } cache_state;

struct cx_rowpass_cache {
    size_t budget, bytes;
    cache_state state;
    int overflowed; /* the filling pass outgrew the budget */
    cached_block **blocks;
    size_t n, capn;
    /* what the rows belong to */
    const cx_view *v;
    const cx_design *d;
    cx_rowpass_split split;
    int has_split;
};

cx_rowpass_cache *cx_rowpass_cache_alloc(size_t budget, cx_error *err)
{
    cx_rowpass_cache *c = cx_calloc(1, sizeof *c, err);
    if (c)
        c->budget = budget;
    return c;
}

static void cache_clear(cx_rowpass_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->blocks[i]);
    free(c->blocks);
    c->blocks = NULL;
    c->n = c->capn = c->bytes = 0;
}

void cx_rowpass_cache_free(cx_rowpass_cache *c)
{
    if (!c)
        return;
    cache_clear(c);
    free(c);
}

int cx_rowpass_cache_complete(const cx_rowpass_cache *c)
{
    return c && c->state == CACHE_COMPLETE;
}

static size_t block_bytes(size_t m, size_t p, size_t ne)
{
    return sizeof(cached_block) + m * ((p + 2 + ne) * sizeof(double) + 3 * sizeof(size_t));
}

/* A copy of the m filled rows (NULL when out of memory: the cache then
 * gives up, which costs speed, not results). */
static cached_block *block_copy(const cx_rows *r, size_t ne)
{
    size_t m = r->m, p = r->p;
    cached_block *b = malloc(block_bytes(m, p, ne));
    if (!b)
        return NULL;
    b->m = m;
    b->x = (double *)(b + 1);
    b->y = b->x + m * p;
    b->w = b->y + m;
    b->extra = b->w + m;
    b->row = (size_t *)(b->extra + m * ne);
    b->level = b->row + m;
    b->slot = b->level + m;
    memcpy(b->x, r->x, m * p * sizeof *b->x);
    memcpy(b->y, r->y, m * sizeof *b->y);
    memcpy(b->w, r->w, m * sizeof *b->w);
    for (size_t e = 0; e < ne; e++)
        memcpy(b->extra + e * m, r->extra + e * r->lde, m * sizeof *b->extra);
    memcpy(b->row, r->row, m * sizeof *b->row);
    memcpy(b->level, r->level, m * sizeof *b->level);
    if (r->slot)
        memcpy(b->slot, r->slot, m * sizeof *b->slot);
    return b;
}

/* Called in block order (the ordered merge): keep b, or give up. */
static void cache_append(cx_rowpass_cache *c, cached_block *b, size_t bytes)
{
    if (c->overflowed || !b || c->bytes + bytes > c->budget) {
        free(b);
        c->overflowed = 1;
        cache_clear(c);
        return;
    }
    if (c->n == c->capn) {
        size_t nc = c->capn ? 2 * c->capn : 64;
        cached_block **nb = realloc(c->blocks, nc * sizeof *nb);
        if (!nb) {
            free(b);
            c->overflowed = 1;
            cache_clear(c);
            return;
        }
        c->blocks = nb;
        c->capn = nc;
    }
    c->blocks[c->n++] = b;
    c->bytes += bytes;
}

/* ---- the streaming pass ------------------------------------------------------- */

typedef struct rowpass_params {
    const cx_design *d;
    const cx_rowpass_type *t;
    const void *params;
    const cx_rowpass_split *split;
    size_t holdout_at;         /* block column of the holdout filter's slot 0 */
    cx_rowpass_cache *filling; /* the cache this pass fills, or NULL */
} rowpass_params;

typedef struct rowpass_acc {
    const rowpass_params *par;
    cx_design_ws *ws;
    cx_design_buf rows;
    size_t *row, *level, *slot;
    size_t cap;
    cached_block *pending; /* this block's rows, for the cache */
    size_t pending_bytes;
    void *inner;
} rowpass_acc;

static void rp_free(void *vacc)
{
    rowpass_acc *a = vacc;
    if (!a)
        return;
    if (a->inner)
        a->par->t->free(a->inner);
    cx_design_ws_free(a->ws);
    cx_design_buf_free(&a->rows);
    free(a->row);
    free(a->level);
    free(a->slot);
    free(a->pending);
    free(a);
}

static void *rp_alloc(const void *vpar, cx_error *err)
{
    const rowpass_params *par = vpar;
    rowpass_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    cx_design_buf_init(&a->rows, par->d, CX_ROWS_ROW_MAJOR);
    if (!(a->ws = cx_design_ws_alloc(par->d, err)) ||
        !(a->inner = par->t->alloc(par->params, err))) {
        rp_free(a);
        return NULL;
    }
    return a;
}

static void rp_reset(void *vacc)
{
    rowpass_acc *a = vacc;
    a->par->t->reset(a->inner);
}

/* Room for the row labels of n rows. */
static int reserve_labels(rowpass_acc *a, size_t n, cx_error *err)
{
    if (n <= a->cap)
        return CX_OK;
    free(a->row);
    free(a->level);
    free(a->slot);
    a->row = cx_malloc(n * sizeof *a->row, err);
    a->level = cx_malloc(n * sizeof *a->level, err);
    a->slot = cx_malloc(n * sizeof *a->slot, err);
    a->cap = a->row && a->level && a->slot ? n : 0;
    return a->cap ? CX_OK : CX_ENOMEM;
}

/* The split slot of raw block row r. */
static size_t slot_of(const rowpass_params *par, const cx_block *b, size_t r)
{
    const cx_rowpass_split *s = par->split;
    if (s->kind == CX_VALIDATE_KFOLD)
        return cx_fold_of(s->seed, b->row[r], s->k);
    double values[ROWPASS_MAX_FILTER_VARS];
    size_t nf = filter_n_columns(s->holdout);
    for (size_t j = 0; j < nf && j < ROWPASS_MAX_FILTER_VARS; j++)
        values[j] = b->data[(par->holdout_at + j) * b->ld + r];
    return filter_matches(s->holdout, values) ? 1 : 0;
}

static int rp_add_block(void *vacc, const cx_block *b, cx_error *err)
{
    rowpass_acc *a = vacc;
    const rowpass_params *par = a->par;
    long m = cx_design_buf_fill(par->d, a->ws, &a->rows, b->data, b->ld, b->n, err);
    if (m < 0 || reserve_labels(a, b->n, err) != CX_OK)
        return err->code ? err->code : CX_EFAIL;
    const size_t *kept = a->rows.kept;
    for (long i = 0; i < m; i++) {
        a->row[i] = b->row[kept[i]];
        a->level[i] = b->level[kept[i]];
        if (par->split)
            a->slot[i] = slot_of(par, b, kept[i]);
    }
    cx_rows r = {.m = (size_t)m,
                 .p = a->rows.p,
                 .x = a->rows.x,
                 .y = a->rows.y,
                 .w = a->rows.w,
                 .extra = a->rows.extra,
                 .lde = a->rows.cap,
                 .row = a->row,
                 .level = a->level,
                 .slot = par->split ? a->slot : NULL};
    if (par->filling && m > 0) {
        a->pending = block_copy(&r, a->rows.ne);
        a->pending_bytes = block_bytes((size_t)m, r.p, a->rows.ne);
    }
    return m > 0 ? par->t->add_rows(a->inner, &r, par->params, err) : CX_OK;
}

/* In block order (the reducer's ordered merge): the totals, and the
 * block's rows to the cache being filled.  `other` is the worker's own
 * accumulator (not const in the engine): its pending block moves. */
static void rp_merge(void *vacc, const void *vother)
{
    rowpass_acc *a = vacc;
    rowpass_acc *o = (rowpass_acc *)(uintptr_t)vother;
    a->par->t->merge(a->inner, o->inner);
    if (a->par->filling && (o->pending || o->pending_bytes))
        cache_append(a->par->filling, o->pending, o->pending_bytes);
    o->pending = NULL;
    o->pending_bytes = 0;
}

static const cx_reducer_type rowpass_reducer = {"rowpass", rp_alloc, rp_reset, rp_add_block,
                                                rp_merge,  NULL,     rp_free};

/* MPI (dist.h): the wrapper travels as the family's accumulator, when the
 * family registered how to pack it. */
static size_t rp_pack(const void *vacc, void *buf)
{
    const rowpass_acc *a = vacc;
    return cx_pack_find(a->par->t)->pack(a->inner, buf);
}

static int rp_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    rowpass_acc *a = vacc;
    return cx_pack_find(a->par->t)->unpack(a->inner, buf, size, err);
}

static int rp_packable(const void *vpar)
{
    const rowpass_params *par = vpar;
    const cx_pack_ops *ops = cx_pack_find(par->t);
    return ops && (!ops->packable || ops->packable(par->params));
}

const cx_pack_ops cx_rowpass_pack_ops = {rp_pack, rp_unpack, rp_packable};
const cx_reducer_type *const cx_rowpass_reducer = &rowpass_reducer;

static int stream_pass(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                       const cx_rowpass_type *t, const void *params, void **total, int threads,
                       cx_rowpass_cache *filling, cx_error *err)
{
    rowpass_params par = {.d = d, .t = t, .params = params, .split = split, .filling = filling};
    size_t n_table;
    const int *design_cols = cx_design_inputs(d, &n_table);
    /* the holdout filter's columns ride after the design's */
    size_t nf = split && split->kind == CX_VALIDATE_HOLDOUT ? filter_n_columns(split->holdout) : 0;
    int *cols = malloc((n_table + nf + 1) * sizeof *cols);
    if (!cols)
        return cx_error_set(err, CX_ENOMEM, "row pass: out of memory");
    memcpy(cols, design_cols, n_table * sizeof *cols);
    for (size_t j = 0; j < nf; j++)
        cols[n_table + j] = filter_column(split->holdout, j);
    par.holdout_at = n_table;
    cx_reducer r = {.type = &rowpass_reducer, .params = &par};
    *total = NULL;
    int rc = cx_reduce_view(v, cols, n_table + nf, &r, 1, threads, err);
    free(cols);
    if (rc != CX_OK)
        return rc;
    rowpass_acc *a = r.acc;
    *total = a->inner; /* hand the family its accumulator; free the wrapper */
    a->inner = NULL;
    rp_free(a);
    return CX_OK;
}

int cx_rowpass_run(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                   const cx_rowpass_type *t, const void *params, void **total, int threads,
                   cx_error *err)
{
    return cx_rowpass_run_cached(v, d, split, t, params, total, threads, NULL, err);
}

/* ---- a pass over the cached blocks ---------------------------------------------- */

static cx_rows cached_rows(const cached_block *b, size_t p, int with_slot)
{
    return (cx_rows){.m = b->m,
                     .p = p,
                     .x = b->x,
                     .y = b->y,
                     .w = b->w,
                     .extra = b->extra,
                     .lde = b->m,
                     .row = b->row,
                     .level = b->level,
                     .slot = with_slot ? b->slot : NULL};
}

/* cx_reduce_view's scheme over the cached blocks: threads take blocks,
 * an ordered section merges them into the total in block order. */
static int cached_pass(const cx_rowpass_cache *c, const cx_rowpass_type *t, const void *params,
                       void **total, int threads, cx_error *err)
{
    void *tot = t->alloc(params, err);
    if (!tot)
        return err->code ? err->code : CX_ENOMEM;
    cx_blas_single_threaded(); /* our threads split the blocks */
    size_t p = cx_design_ncols(c->d), nb = c->n;
    int with_slot = c->has_split;
    long failed = -1;
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > nb)
        nt = nb ? (int)nb : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        cx_error werr = {0};
        void *acc = t->alloc(params, &werr);
#pragma omp for ordered schedule(dynamic, 1)
        for (size_t b = 0; b < nb; b++) {
            long failed_so_far;
#pragma omp atomic read
            failed_so_far = failed;
            int brc = acc ? CX_OK : (werr.code ? werr.code : CX_ENOMEM);
            if (brc == CX_OK && failed_so_far < 0) {
                cx_rows r = cached_rows(c->blocks[b], p, with_slot);
                brc = t->add_rows(acc, &r, params, &werr);
            }
#pragma omp ordered
            {
                if (brc != CX_OK && failed < 0) {
                    *err = werr;
#pragma omp atomic write
                    failed = (long)b;
                } else if (failed < 0) {
                    t->merge(tot, acc);
                    t->reset(acc);
                }
            }
        }
        if (acc)
            t->free(acc);
    }
    if (failed >= 0) {
        t->free(tot);
        return err->code ? err->code : CX_EFAIL;
    }
    *total = tot;
    return CX_OK;
}

static int same_split(const cx_rowpass_cache *c, const cx_rowpass_split *s)
{
    if (!s || !c->has_split)
        return !s && !c->has_split;
    return c->split.kind == s->kind && c->split.k == s->k && c->split.seed == s->seed &&
           c->split.holdout == s->holdout;
}

int cx_rowpass_run_cached(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                          const cx_rowpass_type *t, const void *params, void **total, int threads,
                          cx_rowpass_cache *c, cx_error *err)
{
    if (split && split->kind == CX_VALIDATE_NONE)
        split = NULL;
    /* Split across ranks (MPI, or emulated by CXFIT_TEST_FAKE_RANKS), a
     * rank would cache only its share of the blocks and a sweep of it
     * would miss the other ranks' rows: every pass streams, so it joins
     * the cross-rank combination of cx_reduce_view. */
    const char *fake = getenv("CXFIT_TEST_FAKE_RANKS");
    int distributed = cx_dist_ranks() > 1 || (fake && *fake);
    if (!c || c->state == CACHE_OFF || distributed)
        return stream_pass(v, d, split, t, params, total, threads, NULL, err);
    if (c->state == CACHE_COMPLETE) {
        if (c->v != v || c->d != d || !same_split(c, split))
            return cx_error_set(err, CX_EFAIL,
                                "row pass: a design cache used for another view or design");
        return cached_pass(c, t, params, total, threads, err);
    }
    /* empty: this pass fills it */
    c->v = v;
    c->d = d;
    c->has_split = split != NULL;
    if (split)
        c->split = *split;
    c->overflowed = 0;
    int rc = stream_pass(v, d, split, t, params, total, threads, c, err);
    if (rc != CX_OK || c->overflowed) {
        cache_clear(c);
        c->state = rc == CX_OK ? CACHE_OFF : CACHE_EMPTY;
        return rc;
    }
    c->state = CACHE_COMPLETE;
    return CX_OK;
}
