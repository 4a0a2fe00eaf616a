/*
 * rowpass.c — design rows at given parameters, one streaming pass
 * (rowpass.h).  A thin cx_reducer_type around the family's accumulator:
 * the reducer owns the per-thread design workspace and row buffers, the
 * family's accumulator only sees filled design rows.
 */
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "filter_eval.h"
#include "reducer.h"
#include "resample.h"
#include "rowpass.h"

/* A holdout expression reads at most 64 columns (config.c bounds it). */
#define ROWPASS_MAX_FILTER_VARS 64

typedef struct rowpass_params {
    const cx_design *d;
    const cx_rowpass_type *t;
    const void *params;
    size_t cap; /* rows per block */
    const cx_rowpass_split *split;
    size_t holdout_at; /* block column of the holdout filter's slot 0 */
} rowpass_params;

typedef struct rowpass_acc {
    const rowpass_params *par;
    cx_design_ws *ws;
    double *x, *y, *w, *extra;
    size_t *kept, *row, *level, *slot;
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
    free(a->x);
    free(a->y);
    free(a->w);
    free(a->extra);
    free(a->kept);
    free(a->row);
    free(a->level);
    free(a->slot);
    free(a);
}

static void *rp_alloc(const void *vpar, cx_error *err)
{
    const rowpass_params *par = vpar;
    rowpass_acc *a = calloc(1, sizeof *a);
    if (!a) {
        cx_error_set(err, CX_ENOMEM, "row pass: out of memory");
        return NULL;
    }
    a->par = par;
    size_t n = par->cap ? par->cap : 1;
    size_t p = cx_design_ncols(par->d), e = cx_design_nextra(par->d);
    a->x = malloc(n * (p ? p : 1) * sizeof *a->x);
    a->y = malloc(n * sizeof *a->y);
    a->w = malloc(n * sizeof *a->w);
    a->extra = malloc(n * (e ? e : 1) * sizeof *a->extra);
    a->kept = malloc(n * sizeof *a->kept);
    a->row = malloc(n * sizeof *a->row);
    a->level = malloc(n * sizeof *a->level);
    a->slot = malloc(n * sizeof *a->slot);
    if (!a->x || !a->y || !a->w || !a->extra || !a->kept || !a->row || !a->level || !a->slot) {
        cx_error_set(err, CX_ENOMEM, "row pass: out of memory");
        rp_free(a);
        return NULL;
    }
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
    size_t p = cx_design_ncols(par->d);
    cx_design_out out = {.row_major = 1,
                         .x = a->x,
                         .ldx = p,
                         .y = a->y,
                         .w = a->w,
                         .extra = a->extra,
                         .lde = par->cap,
                         .kept = a->kept};
    long m = cx_design_fill(par->d, a->ws, b->data, b->ld, b->n, &out, err);
    if (m < 0)
        return err->code ? err->code : CX_EFAIL;
    for (long i = 0; i < m; i++) {
        a->row[i] = b->row[a->kept[i]];
        a->level[i] = b->level[a->kept[i]];
        if (par->split)
            a->slot[i] = slot_of(par, b, a->kept[i]);
    }
    cx_rows r = {.m = (size_t)m,
                 .p = p,
                 .x = a->x,
                 .y = a->y,
                 .w = a->w,
                 .extra = a->extra,
                 .lde = par->cap,
                 .row = a->row,
                 .level = a->level,
                 .slot = par->split ? a->slot : NULL};
    return m > 0 ? par->t->add_rows(a->inner, &r, par->params, err) : CX_OK;
}

static void rp_merge(void *vacc, const void *vother)
{
    rowpass_acc *a = vacc;
    const rowpass_acc *o = vother;
    a->par->t->merge(a->inner, o->inner);
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

int cx_rowpass_run(const cx_view *v, const cx_design *d, const cx_rowpass_split *split,
                   const cx_rowpass_type *t, const void *params, void **total, int threads,
                   cx_error *err)
{
    if (split && split->kind == CX_VALIDATE_NONE)
        split = NULL;
    rowpass_params par = {
        .d = d, .t = t, .params = params, .cap = cx_view_block_rows(v), .split = split};
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
