/*
 * rowpass.h — a streaming pass over a design's rows at given parameters:
 * the multi-pass protocol of every family that needs the rows themselves
 * rather than their moments (logit, ologit, mlogit: one pass per Newton
 * iteration; ols: a second pass of residual scores for robust SEs).
 *
 * A family describes what it accumulates as a cx_rowpass_type (the shape
 * of a cx_reducer_type, but fed design rows instead of raw columns) and
 * calls cx_rowpass_run once per pass with `params` pointing at whatever
 * the pass depends on — typically the current coefficients.  Nothing is
 * kept between passes: the family owns the parameters, so an optimizer's
 * value(x) callback is simply "set params->beta = x; cx_rowpass_run".
 *
 * Underneath it is one cx_reduce_view: the view's blocks are read on up to
 * `threads` threads, each block's raw columns go through cx_design_fill
 * (listwise: rows with a missing used value are dropped), and the
 * per-block accumulators are merged in block order, so a pass gives
 * bit-identical totals for any number of threads.
 */
#ifndef CX_ROWPASS_H
#define CX_ROWPASS_H

#include <stddef.h>

#include "design.h"
#include "model.h"
#include "view.h"

/* Validation splits (`validate`): each row's slot is its fold 0..K-1
 * (cx_fold_of(seed, table row, K), the folds every family uses) or, for a
 * holdout, 1 for the held-out rows (those matching the expression) and 0
 * for the training rows.  A family trains on some slots and predicts
 * others by skipping rows in its add_rows. */
typedef struct cx_rowpass_split {
    cx_validate_kind kind; /* CX_VALIDATE_NONE: no slots                */
    size_t k;              /* kfold: K                                  */
    unsigned long seed;    /* kfold                                     */
    const cx_filter *holdout;
} cx_rowpass_split;

/* The kept rows of one block. */
typedef struct cx_rows {
    size_t m;            /* rows                                            */
    size_t p;            /* design columns                                  */
    const double *x;     /* m x p, row-major                                */
    const double *y;     /* outcome (factor outcomes: level index)          */
    const double *w;     /* weights (1 when unweighted)                     */
    const double *extra; /* m x nextra, column-major, leading dimension lde */
    size_t lde;
    const size_t *row;   /* table row number of each row                    */
    const size_t *level; /* view level of each row                          */
    const size_t *slot;  /* split slot of each row (NULL without a split)   */
} cx_rows;

typedef struct cx_rowpass_type {
    const char *name;
    /* A fresh, reset accumulator (params outlive it). */
    void *(*alloc)(const void *params, cx_error *err);
    void (*reset)(void *acc);
    int (*add_rows)(void *acc, const cx_rows *r, const void *params, cx_error *err);
    /* acc += other, other being the next rows in table order. */
    void (*merge)(void *acc, const void *other);
    void (*free)(void *acc);
} cx_rowpass_type;

/* One pass over `v` through prepared design `d`, rows labelled by `split`
 * (NULL: none): on success *total is the merged accumulator (free it with
 * t->free). */
int cx_rowpass_run(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                   const cx_rowpass_type *t, const void *params, void **total, int threads,
                   cx_error *err);

/* The design cache of an iterative model (docs/DECISIONS.md): the filled
 * rows of every block (x, y, w, extra, table row, level, slot) kept in
 * memory between the passes, so that a Newton iteration costs one sweep
 * over cached blocks instead of a table read and a design fill.  The first
 * pass through the cache fills it as it streams; when the rows outgrow
 * `budget` bytes the cache gives up (frees what it held) and every pass
 * streams as cx_rowpass_run does.  Cached passes feed the same rows in the
 * same blocks and merge them in the same block order, so their totals are
 * bit-identical to streamed ones for any number of threads.  A cache
 * belongs to one (view, design, split): a pass with another is refused. */
#define CX_ROWPASS_CACHE_BUDGET ((size_t)512 << 20) /* bytes per fit */
typedef struct cx_rowpass_cache cx_rowpass_cache;
cx_rowpass_cache *cx_rowpass_cache_alloc(size_t budget, cx_error *err);
void cx_rowpass_cache_free(cx_rowpass_cache *c);
/* 1 when the cache holds every row (passes run from memory). */
int cx_rowpass_cache_complete(const cx_rowpass_cache *c);
/* cx_rowpass_run through cache c (NULL: no cache). */
int cx_rowpass_run_cached(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                          const cx_rowpass_type *t, const void *params, void **total, int threads,
                          cx_rowpass_cache *c, cx_error *err);

#endif
