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

#include "mixed.h"
#include "reducer.h"

typedef struct pass_params {
    const cx_design *d;
    size_t p, nz, m, n_cells;
} pass_params;

typedef struct pass_acc {
    const pass_params *par;
    double *cells, *cell_n;
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
    a->cells = cx_calloc(par->n_cells * par->m * par->m + 1, sizeof *a->cells, err);
    a->cell_n = cx_calloc(par->n_cells + 1, sizeof *a->cell_n, err);
    a->ws = a->cells && a->cell_n ? cx_design_ws_alloc(par->d, err) : NULL;
    if (!a->ws) {
        acc_free(a);
        return NULL;
    }
    return a;
}

static void acc_reset(void *p)
{
    pass_acc *a = p;
    memset(a->cells, 0, a->par->n_cells * a->par->m * a->par->m * sizeof *a->cells);
    memset(a->cell_n, 0, a->par->n_cells * sizeof *a->cell_n);
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
    for (size_t i0 = 0; i0 < (size_t)used;) {
        size_t l = b->level[a->kept[i0]], i1 = i0 + 1;
        while (i1 < (size_t)used && b->level[a->kept[i1]] == l)
            i1++;
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)m, (int)(i1 - i0), 1.0, a->v + i0,
                    (int)n, 1.0, a->cells + l * m * m, (int)m);
        a->cell_n[l] += (double)(i1 - i0);
        i0 = i1;
    }
    return CX_OK;
}

static void acc_merge(void *p, const void *o)
{
    pass_acc *a = p;
    const pass_acc *b = o;
    size_t mm = a->par->m * a->par->m;
    for (size_t i = 0; i < a->par->n_cells * mm; i++)
        a->cells[i] += b->cells[i];
    for (size_t c = 0; c < a->par->n_cells; c++)
        a->cell_n[c] += b->cell_n[c];
}

static const cx_reducer_type mixed_reducer = {"mixed_cells", acc_alloc, acc_reset, acc_add,
                                              acc_merge,     NULL,      acc_free};

int mx_pass(const cx_job *job, const cx_view *v, const cx_design *d, mx_problem *pr, cx_error *err)
{
    pass_params par = {d, pr->p, pr->nz, pr->m, pr->n_cells};
    size_t ncols;
    const int *cols = cx_design_inputs(d, &ncols);
    cx_reducer r = {&mixed_reducer, &par, NULL};
    int rc = cx_reduce_view(v, cols, ncols, &r, 1, job->threads, err);
    if (rc == CX_OK) {
        pass_acc *a = r.acc;
        pr->cells = a->cells;
        pr->cell_n = a->cell_n;
        a->cells = a->cell_n = NULL;
        size_t m = pr->m;
        pr->n = 0;
        for (size_t c = 0; c < pr->n_cells; c++) {
            double *s = pr->cells + c * m * m; /* DSYRK filled the upper triangle */
            for (size_t j = 0; j < m; j++)
                for (size_t i = j + 1; i < m; i++)
                    s[j * m + i] = s[i * m + j];
            pr->n += pr->cell_n[c];
        }
    }
    cx_reducer_release(&r);
    return rc;
}
