/*
 * ols_xprod.c — pass 1 of the closed-form regressions: the weighted
 * cross-products Z'WZ of Z = [X y] per `by` level and per slot (kfold
 * fold, holdout side, bootstrap replicate), as a reducer, so one read of
 * the table gives every fit of a job.
 *
 * A block's rows are turned into design rows by cx_design_fill (which
 * drops incomplete rows, R's na.omit), grouped by (level, slot), scaled by
 * sqrt(w) and added with one DSYRK per group (the rows are a
 * cx_design_buf in the column-major [X y] layout, leading dimension its
 * capacity m, so a plain fit's DSYRK reads them in place).  Merging adds the sums, in
 * block order (the engine's rule), so results do not depend on threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "../../engine/filter_eval.h"
#include "../../engine/xprod.h"
#include "ols_internal.h"
#include "resample.h"

ols_xp *ols_xp_alloc(size_t p, cx_error *err)
{
    ols_xp *x = cx_calloc(1, sizeof *x, err);
    if (!x)
        return NULL;
    x->c = cx_calloc((p + 1) * (p + 1), sizeof *x->c, err);
    if (!x->c) {
        free(x);
        return NULL;
    }
    return x;
}

void ols_xp_free(ols_xp *x)
{
    if (x)
        free(x->c);
    free(x);
}

void ols_xp_add(ols_xp *a, const ols_xp *b, size_t p)
{
    for (size_t i = 0; i < (p + 1) * (p + 1); i++)
        a->c[i] += b->c[i];
    a->n += b->n;
    a->npos += b->npos;
    a->sw += b->sw;
    a->slogw += b->slogw;
}

void ols_xp_free_all(ols_xp *xp, size_t n)
{
    if (!xp)
        return;
    for (size_t i = 0; i < n; i++)
        free(xp[i].c);
    free(xp);
}

static ols_xp *xp_array(size_t n, size_t p, cx_error *err)
{
    ols_xp *xp = cx_calloc(n, sizeof *xp, err);
    for (size_t i = 0; xp && i < n; i++) {
        xp[i].c = cx_calloc((p + 1) * (p + 1), sizeof *xp[i].c, err);
        if (!xp[i].c) {
            ols_xp_free_all(xp, i);
            return NULL;
        }
    }
    return xp;
}

/* ---- the reducer ---------------------------------------------------------- */

typedef struct xp_acc {
    const ols_pass_params *par;
    ols_xp *xp; /* n_levels x n_slots                         */
    cx_design_ws *ws;
    cx_design_buf rows; /* [X y] column-major, leading dimension rows.cap */
    size_t cap;         /* rows g and slot hold                          */
    double *g;          /* gathered, scaled rows: cap x (p+1)            */
    size_t *slot;
    /* the direct path (add_direct) */
    int direct;
    ols_direct dm;
    double *raw_xp;   /* q x q cross-products of the raw slot range  */
    double *raw_sums; /* q column sums                               */
} xp_acc;

/* The row buffers of a block (grow() sizes them). */
static void free_rows(xp_acc *a)
{
    free(a->g);
    free(a->slot);
}

static void xp_acc_free(void *v)
{
    xp_acc *a = v;
    if (!a)
        return;
    ols_xp_free_all(a->xp, a->par->n_levels * a->par->n_slots);
    cx_design_ws_free(a->ws);
    cx_design_buf_free(&a->rows);
    free_rows(a);
    ols_direct_free(&a->dm);
    free(a->raw_xp);
    free(a->raw_sums);
    free(a);
}

int ols_direct_init(ols_direct *dm, const cx_design *d, size_t p, size_t n_inputs, int *direct,
                    cx_error *err)
{
    size_t yslot;
    *direct = 0;
    memset(dm, 0, sizeof *dm);
    dm->xslot = cx_malloc((p + 1) * sizeof *dm->xslot, err);
    dm->check = cx_malloc((n_inputs + 1) * sizeof *dm->check, err);
    if (!dm->xslot || !dm->check)
        return CX_ENOMEM;
    if (!cx_design_direct(d, dm->xslot, &yslot, dm->check, &dm->n_check))
        return CX_OK;
    dm->xslot[p] = (long)yslot;
    size_t lo = yslot, hi = yslot;
    for (size_t j = 0; j <= p; j++)
        if (dm->xslot[j] >= 0) {
            lo = (size_t)dm->xslot[j] < lo ? (size_t)dm->xslot[j] : lo;
            hi = (size_t)dm->xslot[j] > hi ? (size_t)dm->xslot[j] : hi;
        }
    for (size_t k = 0; k < dm->n_check; k++) {
        lo = dm->check[k] < lo ? dm->check[k] : lo;
        hi = dm->check[k] > hi ? dm->check[k] : hi;
    }
    dm->lo = lo;
    dm->q = hi - lo + 1;
    *direct = 1;
    return CX_OK;
}

void ols_direct_free(ols_direct *dm)
{
    free(dm->xslot);
    free(dm->check);
    memset(dm, 0, sizeof *dm);
}

/* A plain unweighted fit of a direct design (cx_design_direct) takes its
 * cross-products straight from the raw block: no fill, no copy.  Sets
 * a->direct when it applies and allocates its scratch. */
static int direct_setup(xp_acc *a, cx_error *err)
{
    const ols_pass_params *par = a->par;
    if (par->split != CX_SPLIT_NONE || par->weighted)
        return CX_OK;
    int direct;
    if (ols_direct_init(&a->dm, par->d, par->p, par->n_inputs, &direct, err) != CX_OK)
        return CX_ENOMEM;
    if (!direct)
        return CX_OK;
    size_t q = a->dm.q;
    a->raw_xp = cx_malloc(q * q * sizeof *a->raw_xp, err);
    a->raw_sums = cx_malloc(q * sizeof *a->raw_sums, err);
    if (!a->raw_xp || !a->raw_sums)
        return CX_ENOMEM;
    a->direct = 1;
    return CX_OK;
}

static void *xp_acc_alloc(const void *params, cx_error *err)
{
    const ols_pass_params *par = params;
    xp_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    cx_design_buf_init(&a->rows, par->d, CX_ROWS_XY_COLUMNS);
    a->xp = xp_array(par->n_levels * par->n_slots, par->p, err);
    a->ws = a->xp ? cx_design_ws_alloc(par->d, err) : NULL;
    if (!a->ws || direct_setup(a, err) != CX_OK) {
        xp_acc_free(a);
        return NULL;
    }
    return a;
}

static void xp_acc_reset(void *v)
{
    xp_acc *a = v;
    size_t p = a->par->p;
    for (size_t i = 0; i < a->par->n_levels * a->par->n_slots; i++) {
        memset(a->xp[i].c, 0, (p + 1) * (p + 1) * sizeof(double));
        a->xp[i].n = a->xp[i].npos = a->xp[i].sw = a->xp[i].slogw = 0;
    }
}

/* Room for n rows: the design rows and the gathered / slot scratch (g
 * only for splits and replicates: a plain fit adds the rows in place). */
static int grow(xp_acc *a, size_t n, cx_error *err)
{
    if (cx_design_buf_reserve(&a->rows, n, err) != CX_OK)
        return CX_ENOMEM;
    if (n <= a->cap)
        return CX_OK;
    free_rows(a);
    size_t p1 = a->par->p + 1;
    a->g = a->par->split != CX_SPLIT_NONE ? cx_malloc(n * p1 * sizeof *a->g, err) : NULL;
    a->slot = cx_malloc(n * sizeof *a->slot, err);
    a->cap = ((a->g || a->par->split == CX_SPLIT_NONE) && a->slot) ? n : 0;
    return a->cap ? CX_OK : CX_ENOMEM;
}

int ols_is_holdout_row(const cx_filter *holdout, size_t holdout_at, const cx_block *b, size_t r)
{
    double values[64];
    size_t nf = filter_n_columns(holdout);
    for (size_t j = 0; j < nf && j < 64; j++)
        values[j] = b->data[(holdout_at + j) * b->ld + r];
    return filter_matches(holdout, values) != 0;
}

/* Slot of raw block row r (NONE / BOOTSTRAP: 0). */
static size_t slot_of(const ols_pass_params *par, const cx_block *b, size_t r)
{
    if (par->split == CX_SPLIT_KFOLD)
        return cx_fold_of(par->seed, b->row[r], par->n_slots);
    if (par->split == CX_SPLIT_HOLDOUT)
        return ols_is_holdout_row(par->holdout, par->holdout_at, b, r) ? 1 : 0;
    return 0;
}

/* Rows [i0, i1) of the fill, all of them with their own weights: the
 * fast path of a plain fit (no slots).  The block is scaled by sqrt(w) in
 * place (nothing reads it afterwards) and added with one DSYRK; without a
 * weights column the scaling and logs are skipped. */
static void add_all(xp_acc *a, size_t m, size_t i0, size_t i1, ols_xp *x)
{
    size_t p1 = a->par->p + 1, k = i1 - i0;
    if (a->par->weighted) {
        for (size_t i = i0; i < i1; i++) {
            double w = a->rows.w[i], sq = sqrt(w);
            x->sw += w;
            if (w > 0) {
                x->npos += 1;
                x->slogw += log(w);
            }
            if (w != 1)
                for (size_t j = 0; j < p1; j++)
                    a->rows.x[j * m + i] *= sq;
        }
    } else {
        x->sw += (double)k;
        x->npos += (double)k;
    }
    x->n += (double)k;
    cx_xprod_add(a->rows.x + i0, m, k, p1, x->c, NULL);
}

/* The direct path: raw rows [r0, r1) of b, all of one level, added to x
 * from the raw block's columns: the cross-products and column sums of the
 * raw slot range (cx_xprod_add).  A
 * missing (or infinite) value anywhere in a needed column makes that
 * column's own square non-finite, so a finite diagonal proves every row
 * complete, as the fill would have found; otherwise returns 0 and adds
 * nothing (the caller fills those rows the usual way). */
static int add_direct(xp_acc *a, const cx_block *b, size_t r0, size_t r1, ols_xp *x)
{
    const ols_direct *dm = &a->dm;
    size_t q = dm->q, ld = b->ld, p = a->par->p;
    const double *raw = b->data + dm->lo * ld;
    memset(a->raw_xp, 0, q * q * sizeof *a->raw_xp);
    memset(a->raw_sums, 0, q * sizeof *a->raw_sums);
    cx_xprod_add(raw + r0, ld, r1 - r0, q, a->raw_xp, a->raw_sums);
    for (size_t k = 0; k < dm->n_check; k++) {
        size_t c = dm->check[k] - dm->lo;
        if (!isfinite(a->raw_xp[c * q + c]) || !isfinite(a->raw_sums[c]))
            return 0;
    }
    double n = (double)(r1 - r0);
    for (size_t j = 0; j <= p; j++)
        for (size_t i = 0; i <= j; i++) {
            long si = dm->xslot[i], sj = dm->xslot[j];
            double v;
            if (si < 0 && sj < 0)
                v = n;
            else if (si < 0 || sj < 0)
                v = a->raw_sums[(size_t)(si < 0 ? sj : si) - dm->lo];
            else {
                size_t u = (size_t)si - dm->lo, w = (size_t)sj - dm->lo;
                v = u <= w ? a->raw_xp[w * q + u] : a->raw_xp[u * q + w];
            }
            x->c[j * (p + 1) + i] += v;
        }
    x->n += n;
    x->npos += n;
    x->sw += n;
    cx_design_ws_count(a->ws, r1 - r0, r1 - r0);
    return 1;
}

/* The direct path over a block, level by level; a level with a missing
 * value goes through the fill instead. */
static int add_block_direct(xp_acc *a, const cx_block *b, cx_error *err)
{
    const ols_pass_params *par = a->par;
    for (size_t l = 0; l < b->n_levels && l < par->n_levels; l++) {
        size_t r0 = b->start[l], r1 = b->start[l + 1];
        if (r0 == r1 || add_direct(a, b, r0, r1, &a->xp[l * par->n_slots]))
            continue;
        long used = cx_design_buf_fill(par->d, a->ws, &a->rows, b->data + r0, b->ld, r1 - r0, err);
        if (used < 0)
            return err->code ? err->code : CX_EFAIL;
        add_all(a, a->rows.cap, 0, (size_t)used, &a->xp[l * par->n_slots]);
    }
    return CX_OK;
}

/* Gather rows [i0, i1) of the fill whose slot is s (s = SIZE_MAX: all),
 * each scaled by sqrt(w * mult), and add them to x. */
static void add_group(xp_acc *a, size_t m, size_t i0, size_t i1, size_t s, const unsigned *mult,
                      ols_xp *x)
{
    size_t p1 = a->par->p + 1, k = 0;
    for (size_t i = i0; i < i1; i++) {
        if (s != SIZE_MAX && a->slot[i] != s)
            continue;
        unsigned c = mult ? mult[i - i0] : 1;
        if (c == 0)
            continue;
        double w = a->rows.w[i] * c, sq = sqrt(w);
        for (size_t j = 0; j < p1; j++)
            a->g[j * m + k] = a->rows.x[j * m + i] * sq;
        x->n += c;
        if (w > 0) {
            x->npos += c;
            x->slogw += c * log(a->rows.w[i]);
        }
        x->sw += w;
        k++;
    }
    if (k)
        cx_xprod_add(a->g, m, k, p1, x->c, NULL);
}

/* Bootstrap: every replicate gets the level's rows with their counts. */
static int add_replicates(xp_acc *a, const cx_block *b, size_t m, size_t i0, size_t i1, size_t l,
                          cx_error *err)
{
    const ols_pass_params *par = a->par;
    unsigned *mult = cx_malloc((i1 - i0) * sizeof *mult, err);
    if (!mult)
        return CX_ENOMEM;
    for (size_t r = 1; r < par->n_slots; r++) {
        for (size_t i = i0; i < i1; i++) {
            uint64_t key =
                par->boot_cluster_extra >= 0
                    ? cx_value_key(a->rows.extra[(size_t)par->boot_cluster_extra * m + i])
                    : (uint64_t)b->row[a->rows.kept[i]];
            mult[i - i0] = cx_boot_count(par->seed, r - 1, key);
        }
        add_group(a, m, i0, i1, SIZE_MAX, mult, &a->xp[l * par->n_slots + r]);
    }
    free(mult);
    return CX_OK;
}

static int xp_acc_add(void *v, const cx_block *b, cx_error *err)
{
    xp_acc *a = v;
    const ols_pass_params *par = a->par;
    if (b->n == 0)
        return CX_OK;
    if (grow(a, b->n, err))
        return CX_ENOMEM;
    if (a->direct)
        return add_block_direct(a, b, err);
    size_t m = a->rows.cap; /* the leading dimension of every buffer */
    long used = cx_design_buf_fill(par->d, a->ws, &a->rows, b->data, b->ld, b->n, err);
    if (used < 0)
        return err->code ? err->code : CX_EFAIL;
    for (size_t i = 0; i < (size_t)used; i++)
        a->slot[i] = slot_of(par, b, a->rows.kept[i]);
    /* runs of one level (the block is grouped by level) */
    for (size_t i0 = 0; i0 < (size_t)used;) {
        size_t l = b->level[a->rows.kept[i0]], i1 = i0 + 1;
        while (i1 < (size_t)used && b->level[a->rows.kept[i1]] == l)
            i1++;
        if (par->split == CX_SPLIT_KFOLD || par->split == CX_SPLIT_HOLDOUT) {
            for (size_t s = 0; s < par->n_slots; s++)
                add_group(a, m, i0, i1, s, NULL, &a->xp[l * par->n_slots + s]);
        } else if (par->split == CX_SPLIT_BOOTSTRAP) {
            add_group(a, m, i0, i1, SIZE_MAX, NULL, &a->xp[l * par->n_slots]);
            if (add_replicates(a, b, m, i0, i1, l, err))
                return CX_ENOMEM;
        } else {
            add_all(a, m, i0, i1, &a->xp[l * par->n_slots]);
        }
        i0 = i1;
    }
    return CX_OK;
}

static void xp_acc_merge(void *v, const void *o)
{
    xp_acc *a = v;
    const xp_acc *b = o;
    for (size_t i = 0; i < a->par->n_levels * a->par->n_slots; i++)
        ols_xp_add(&a->xp[i], &b->xp[i], a->par->p);
}

static const cx_reducer_type xp_reducer = {"ols_xprod",  xp_acc_alloc, xp_acc_reset, xp_acc_add,
                                           xp_acc_merge, NULL,         xp_acc_free};

/* MPI row splitting (engine/dist.h): per level and slot, the counts then
 * the (p+1) x (p+1) cross-products. */
static size_t xp_acc_pack(const void *v, void *vbuf)
{
    const xp_acc *a = v;
    size_t m = a->par->n_levels * a->par->n_slots, c = (a->par->p + 1) * (a->par->p + 1);
    double *buf = vbuf;
    for (size_t i = 0; buf && i < m; i++) {
        double *at = buf + i * (4 + c);
        at[0] = a->xp[i].n;
        at[1] = a->xp[i].npos;
        at[2] = a->xp[i].sw;
        at[3] = a->xp[i].slogw;
        memcpy(at + 4, a->xp[i].c, c * sizeof *at);
    }
    return m * (4 + c) * sizeof(double);
}

static int xp_acc_unpack(void *v, const void *vbuf, size_t size, cx_error *err)
{
    xp_acc *a = v;
    size_t m = a->par->n_levels * a->par->n_slots, c = (a->par->p + 1) * (a->par->p + 1);
    const double *buf = vbuf;
    if (size != m * (4 + c) * sizeof(double))
        return cx_error_set(err, CX_EFAIL, "ols: a packed total has the wrong size");
    for (size_t i = 0; i < m; i++) {
        const double *at = buf + i * (4 + c);
        a->xp[i].n = at[0];
        a->xp[i].npos = at[1];
        a->xp[i].sw = at[2];
        a->xp[i].slogw = at[3];
        memcpy(a->xp[i].c, at + 4, c * sizeof *at);
    }
    return CX_OK;
}

static const cx_pack_ops xp_pack_ops = {xp_acc_pack, xp_acc_unpack, NULL};

int ols_pass_xprod(const cx_job *job, const int *cols, size_t ncols, const ols_pass_params *par,
                   ols_xp **xp, cx_error *err)
{
    cx_reducer r = {&xp_reducer, par, NULL};
    cx_pack_register(&xp_reducer, &xp_pack_ops);
    int rc = cx_reduce_view(job->view, cols, ncols, &r, 1, job->threads, err);
    if (rc == CX_OK) {
        xp_acc *a = r.acc;
        *xp = a->xp; /* take the totals over */
        a->xp = NULL;
    }
    cx_reducer_release(&r);
    return rc;
}
