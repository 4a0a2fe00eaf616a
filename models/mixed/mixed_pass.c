/*
 * mixed_pass.c — the one streaming pass of `model = mixed`: for every cell
 * (a distinct tuple of the formula's grouping columns, a level of the
 * grouped view) the sums of v v' over its rows, v = [z, x, y] (the
 * random-effect columns, the fixed-effects columns, the outcome), and its
 * row count.
 *
 * A reducer (engine/reducer.h): blocks arrive grouped by level, so the
 * design rows of one cell are a contiguous run and go in with one DSYRK.
 * Merging adds the per-thread sums in block order (the engine's rule), so
 * the result does not depend on the number of threads.  Memory is
 * n_cells x m^2 doubles per thread, whatever the number of rows.
 */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "filter_eval.h"
#include "mixed.h"
#include "reducer.h"
#include "resample.h"

/* With validation the sums are kept per (slot, cell): slot = the row's
 * fold (kfold) or 0 = training / 1 = holdout rows, as the engine's
 * moments reducer splits (engine/reducer.h), plus the per-cell sum of y
 * (the held-out R^2 needs sum y, which v v' lacks without an intercept). */
typedef struct pass_params {
    const cx_design *d;
    size_t p, nz, m, n_cells;
    cx_split_kind split;
    size_t n_slots; /* 1 without validation */
    unsigned long seed;
    const cx_filter *holdout;
    size_t holdout_at; /* block column of the holdout filter's slot 0 */
} pass_params;

typedef struct pass_acc {
    const pass_params *par;
    double *cells, *cell_n, *cell_sy; /* n_slots x n_cells x ... */
    cx_design_ws *ws;
    size_t cap;
    double *v; /* cap x m design rows, column-major: [z x y] */
    size_t *kept;
} pass_acc;

static void acc_free(void *p)
{
    pass_acc *a = p;
    if (!a)
        return;
    free(a->cells);
    free(a->cell_n);
    free(a->cell_sy);
    cx_design_ws_free(a->ws);
    free(a->v);
    free(a->kept);
    free(a);
}

static void *acc_alloc(const void *params, cx_error *err)
{
    const pass_params *par = params;
    pass_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    size_t nc = par->n_slots * par->n_cells;
    a->cells = cx_calloc(nc * par->m * par->m + 1, sizeof *a->cells, err);
    a->cell_n = cx_calloc(nc + 1, sizeof *a->cell_n, err);
    a->cell_sy = cx_calloc(nc + 1, sizeof *a->cell_sy, err);
    a->ws = a->cells && a->cell_n && a->cell_sy ? cx_design_ws_alloc(par->d, err) : NULL;
    if (!a->ws) {
        acc_free(a);
        return NULL;
    }
    return a;
}

static void acc_reset(void *p)
{
    pass_acc *a = p;
    size_t nc = a->par->n_slots * a->par->n_cells;
    memset(a->cells, 0, nc * a->par->m * a->par->m * sizeof *a->cells);
    memset(a->cell_n, 0, nc * sizeof *a->cell_n);
    memset(a->cell_sy, 0, nc * sizeof *a->cell_sy);
}

static int grow(pass_acc *a, size_t n, cx_error *err)
{
    if (n <= a->cap)
        return CX_OK;
    free(a->v);
    free(a->kept);
    a->v = cx_malloc(n * a->par->m * sizeof *a->v, err);
    a->kept = cx_malloc(n * sizeof *a->kept, err);
    a->cap = a->v && a->kept ? n : 0;
    return a->cap ? CX_OK : CX_ENOMEM;
}

/* Slot of raw block row r: its fold, or 1 for a holdout row. */
static size_t slot_of(const pass_params *par, const cx_block *b, size_t r)
{
    if (par->split == CX_SPLIT_KFOLD)
        return cx_fold_of(par->seed, b->row[r], par->n_slots);
    if (par->split != CX_SPLIT_HOLDOUT)
        return 0;
    double values[64];
    size_t nf = filter_n_columns(par->holdout);
    for (size_t j = 0; j < nf && j < 64; j++)
        values[j] = b->data[(par->holdout_at + j) * b->ld + r];
    return filter_matches(par->holdout, values) ? 1 : 0;
}

static int acc_add(void *p, const cx_block *b, cx_error *err)
{
    pass_acc *a = p;
    const pass_params *par = a->par;
    if (b->n == 0)
        return CX_OK;
    if (grow(a, b->n, err))
        return CX_ENOMEM;
    size_t n = b->n, m = par->m;
    cx_design_out out = {.row_major = 0,
                         .z = a->v,
                         .ldz = n,
                         .x = a->v + par->nz * n,
                         .ldx = n,
                         .y = a->v + (par->nz + par->p) * n,
                         .kept = a->kept};
    long used = cx_design_fill(par->d, a->ws, b->data, b->ld, n, &out, err);
    if (used < 0)
        return err->code ? err->code : CX_EFAIL;
    const double *y = a->v + (par->nz + par->p) * n;
    for (size_t i0 = 0; i0 < (size_t)used;) {
        size_t l = b->level[a->kept[i0]], i1 = i0 + 1;
        size_t s = slot_of(par, b, a->kept[i0]);
        while (i1 < (size_t)used && b->level[a->kept[i1]] == l &&
               (par->n_slots == 1 || slot_of(par, b, a->kept[i1]) == s))
            i1++;
        size_t c = s * par->n_cells + l;
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)m, (int)(i1 - i0), 1.0, a->v + i0,
                    (int)n, 1.0, a->cells + c * m * m, (int)m);
        a->cell_n[c] += (double)(i1 - i0);
        for (size_t i = i0; i < i1; i++)
            a->cell_sy[c] += y[i];
        i0 = i1;
    }
    return CX_OK;
}

static void acc_merge(void *p, const void *o)
{
    pass_acc *a = p;
    const pass_acc *b = o;
    size_t mm = a->par->m * a->par->m, nc = a->par->n_slots * a->par->n_cells;
    for (size_t i = 0; i < nc * mm; i++)
        a->cells[i] += b->cells[i];
    for (size_t c = 0; c < nc; c++) {
        a->cell_n[c] += b->cell_n[c];
        a->cell_sy[c] += b->cell_sy[c];
    }
}

static const cx_reducer_type mixed_reducer = {"mixed_cells", acc_alloc, acc_reset, acc_add,
                                              acc_merge,     NULL,      acc_free};

/* DSYRK filled the upper triangle of each cell's sums: mirror it. */
static void symmetrize(double *cells, size_t n_cells, size_t m)
{
    for (size_t c = 0; c < n_cells; c++) {
        double *s = cells + c * m * m;
        for (size_t j = 0; j < m; j++)
            for (size_t i = j + 1; i < m; i++)
                s[j * m + i] = s[i * m + j];
    }
}

/* The totals over the slots, merged in slot order. */
static int merge_slots(pass_acc *a, mx_problem *pr, cx_error *err)
{
    const pass_params *par = a->par;
    size_t mm = par->m * par->m, C = par->n_cells;
    pr->n_slots = par->n_slots;
    pr->slot_cells = a->cells;
    pr->slot_n = a->cell_n;
    pr->slot_sy = a->cell_sy;
    a->cells = a->cell_n = a->cell_sy = NULL;
    pr->cells = cx_calloc(C * mm + 1, sizeof *pr->cells, err);
    pr->cell_n = cx_calloc(C + 1, sizeof *pr->cell_n, err);
    if (!pr->cells || !pr->cell_n)
        return CX_ENOMEM;
    for (size_t s = 0; s < par->n_slots; s++) {
        for (size_t i = 0; i < C * mm; i++)
            pr->cells[i] += pr->slot_cells[s * C * mm + i];
        for (size_t c = 0; c < C; c++)
            pr->cell_n[c] += pr->slot_n[s * C + c];
    }
    return CX_OK;
}

int mx_pass(const cx_job *job, const cx_view *v, const cx_design *d, mx_problem *pr, cx_error *err)
{
    pass_params par = {d, pr->p, pr->nz, pr->m, pr->n_cells, CX_SPLIT_NONE, 1, job->seed, NULL, 0};
    size_t ncols;
    const int *in = cx_design_inputs(d, &ncols);
    if (job->validate == CX_VALIDATE_KFOLD) {
        par.split = CX_SPLIT_KFOLD;
        par.n_slots = (size_t)job->kfold;
    } else if (job->validate == CX_VALIDATE_HOLDOUT) {
        par.split = CX_SPLIT_HOLDOUT;
        par.n_slots = 2;
        par.holdout = job->holdout;
        par.holdout_at = ncols;
    }
    /* the pass's columns: the design's inputs, then the holdout filter's */
    size_t nf = par.holdout ? filter_n_columns(par.holdout) : 0;
    if (nf > 64)
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "a holdout expression may read at most 64 columns");
    int *cols = cx_malloc((ncols + nf + 1) * sizeof *cols, err);
    if (!cols)
        return CX_ENOMEM;
    memcpy(cols, in, ncols * sizeof *cols);
    for (size_t j = 0; j < nf; j++)
        cols[ncols + j] = filter_column(par.holdout, j);
    cx_reducer r = {&mixed_reducer, &par, NULL};
    int rc = cx_reduce_view(v, cols, ncols + nf, &r, 1, job->threads, err);
    free(cols);
    if (rc == CX_OK) {
        pass_acc *a = r.acc;
        symmetrize(a->cells, par.n_slots * pr->n_cells, pr->m);
        if (par.n_slots == 1) {
            pr->cells = a->cells;
            pr->cell_n = a->cell_n;
            a->cells = a->cell_n = NULL;
        } else {
            rc = merge_slots(a, pr, err);
        }
        pr->n = 0;
        for (size_t c = 0; rc == CX_OK && c < pr->n_cells; c++)
            pr->n += pr->cell_n[c];
    }
    cx_reducer_release(&r);
    return rc;
}
