/*
 * reducer.h — one streaming pass over a view, many accumulators.
 *
 * A reducer type is an accumulator with alloc / reset / add_block / merge
 * / finalize / free, the shape of GSL's gsl_multilarge_linear_type: the
 * engine reads each table once per stage, hands every row block to the
 * reducers the models asked for, and merges the per-thread summaries into
 * the totals strictly in block order, so a pass gives bit-identical
 * results for any number of threads.  A reducer's merge is also what an
 * MPI reduction will call.
 *
 * Blocks arrive grouped by view level: rows of level l are the contiguous
 * run [start[l], start[l+1]) of every column (a stable regrouping, so a
 * level's rows keep their table order and a level's summary is the one a
 * pass over that level alone would give).
 *
 * Reducers here: moments of a column set (listwise or pairwise, weighted
 * or not, with the exact integer kernel of stats.c) per level, optionally
 * per fold (kfold), per side of a holdout split or per bootstrap replicate
 * (Poisson(1) replicate weights, resample.h); the first table row of
 * every level (how lavaan numbers groups); and each column's observed
 * range (reducer_range.c).  Models define their own types
 * with the same interface (models/sem/fourth.c: MLR's fourth moments).
 */
#ifndef CX_REDUCER_H
#define CX_REDUCER_H

#include "stats.h"
#include "view.h"

/* One block of a view's rows, grouped by level. */
typedef struct cx_block {
    size_t n;            /* rows                                        */
    size_t ld;           /* leading dimension of data                   */
    const double *data;  /* the pass's columns, column-major            */
    const size_t *level; /* level of each row (non-decreasing)          */
    const size_t *row;   /* table row number of each row                */
    size_t n_levels;
    const size_t *start; /* n_levels + 1 offsets: level l's rows         */
    /* Small-integer passes: data is NULL and the columns come as int16,
     * CX_SMALL_MISSING for a missing value, with the same ld; NULL
     * otherwise.  A pass is one when every reducer takes small blocks
     * (today the unweighted listwise moments, reducer.c) and the view is
     * a plain one of 1-byte integer or categorical columns (table.h). */
    const int16_t *small;
} cx_block;

typedef struct cx_reducer_type {
    const char *name;
    /* A fresh, reset accumulator for `params` (which outlive it). */
    void *(*alloc)(const void *params, cx_error *err);
    void (*reset)(void *acc);
    int (*add_block)(void *acc, const cx_block *b, cx_error *err);
    /* acc += other (other is reset by the engine afterwards). */
    void (*merge)(void *acc, const void *other);
    /* After the last merge, on the total (may be NULL). */
    int (*finalize)(void *acc, cx_error *err);
    void (*free)(void *acc);
} cx_reducer_type;

/* One reducer of a pass: after cx_reduce_view, `acc` holds the total
 * (free with cx_reducer_release). */
typedef struct cx_reducer {
    const cx_reducer_type *type;
    const void *params;
    void *acc;
} cx_reducer;

/* Stream `v` once: read columns `cols` (the block's columns, in that
 * order), feed every block to reducers r[0..n-1] on up to `threads`
 * OpenMP threads (<= 0: the current default), merge in block order. */
int cx_reduce_view(const cx_view *v, const int *cols, size_t ncols, cx_reducer *r, size_t n,
                   int threads, cx_error *err);
void cx_reducer_release(cx_reducer *r);

/* ---- moments ------------------------------------------------------------ */

typedef enum cx_split_kind {
    CX_SPLIT_NONE = 0,  /* one slot: all rows                                */
    CX_SPLIT_KFOLD,     /* n_slots = K: slot = fold of the row               */
    CX_SPLIT_HOLDOUT,   /* 2 slots: 0 = training rows, 1 = holdout rows       */
    CX_SPLIT_BOOTSTRAP, /* n_slots = B: every row in every replicate,
                           weighted by its Poisson(1) count                  */
} cx_split_kind;

typedef struct cx_moments_params {
    size_t p; /* variables: block columns col0 .. col0 + p - 1    */
    size_t col0;
    long weight_at; /* block column of the weights, -1 = unweighted       */
    cx_missing_mode mode;
    size_t n_levels;
    cx_split_kind split;
    size_t n_slots; /* see cx_split_kind; 1 for CX_SPLIT_NONE             */
    unsigned long seed;
    long cluster_at;          /* bootstrap: block column naming the unit, -1 = row */
    const cx_filter *holdout; /* CX_SPLIT_HOLDOUT                         */
    size_t holdout_at;        /* block column of the filter's slot 0 ...    */
} cx_moments_params;

extern const cx_reducer_type cx_reducer_moments;

/* After the pass: the moments of (level, slot), freshly allocated, and
 * the slot's N: rows used, or for a bootstrap replicate the number of
 * draws (sum of counts) of complete rows. */
cx_moments *cx_moments_result(const void *acc, size_t level, size_t slot, cx_error *err);
double cx_moments_result_n(const void *acc, size_t level, size_t slot);
/* Moments of level l over every slot except `except` (a kfold training
 * set), merged in slot order; except = (size_t)-1 merges all slots. */
cx_moments *cx_moments_result_merged(const void *acc, size_t level, size_t except, cx_error *err);

/* ---- first row of each level ------------------------------------------ */

typedef struct cx_first_row_params {
    size_t n_levels;
} cx_first_row_params;

extern const cx_reducer_type cx_reducer_first_row;
/* Table row where level l first appears (SIZE_MAX when it never does). */
size_t cx_first_row_of(const void *acc, size_t level);

/* ---- observed range of each column (reducer_range.c) ------------------- */

typedef struct cx_range_params {
    size_t p; /* block columns 0 .. p - 1 */
} cx_range_params;

extern const cx_reducer_type cx_reducer_range;
/* Minimum and maximum of column j's present values over every row of
 * the pass (+inf and -inf when it had none). */
void cx_range_of(const void *acc, size_t j, double *lo, double *hi);

#endif
