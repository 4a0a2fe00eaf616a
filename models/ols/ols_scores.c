/*
 * ols_scores.c — pass 2 of the closed-form regressions: with every level's
 * fit known from pass 1, stream the rows once more for what cross-products
 * cannot give: the residual scores of the robust variances and the
 * out-of-sample residuals of validation.
 *
 * Per row of level l, with x the kept design columns, e = y - x'b:
 *   HC0/HC1   meat += w^2 e^2 x x'
 *   HC2       meat += w^2 e^2 / (1 - h) x x'
 *   HC3       meat += w^2 e^2 / (1 - h)^2 x x'
 *   cluster   u_g += w e x for the row's cluster g (per dimension, and the
 *             intersection for two-way), meat_d = sum_g u_g u_g' at the end
 * with the hat value h = w x'(X'WX)^-1 x computed here (sandwich's
 * estfun.lm and hatvalues.lm, weights included).  Validation: a test row
 * of slot s is predicted with the training fit of s (the merge of the
 * other slots' cross-products), its residual summed in squares and
 * absolute values.
 *
 * The direct path (as pass 1's, ols_xprod.c): an unweighted fit without
 * a split whose design columns are all the intercept or plain table
 * columns (cx_design_direct) reads the raw block's columns in place of
 * the design fill, DIRECT_ROWS rows at a time: residuals column by column,
 * cluster sums column by column, the HC meat as one DSYRK of the gathered
 * kept columns.  A chunk with a missing value (a non-finite residual, a
 * missing cluster key) is filled and goes the usual way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../../engine/filter_eval.h"
#include "dist.h"
#include "ols_internal.h"
#include "../../engine/xprod.h"
#include "resample.h"

/* ---- cluster sums: (key1, key2) -> u (p values), insertion ordered ------- */

typedef struct cmap {
    size_t cap, n, p;
    uint64_t *k1, *k2; /* per entry                             */
    size_t *slot;      /* hash slot -> entry + 1 (0 = empty)     */
    double *u;         /* n x p                                  */
    size_t ucap;
    size_t last; /* entry + 1 of the previous lookup (0 = none):
                    rows of one cluster often come together */
} cmap;

static void cmap_free(cmap *m)
{
    free(m->k1);
    free(m->k2);
    free(m->slot);
    free(m->u);
    memset(m, 0, sizeof *m);
}

static int cmap_rehash(cmap *m, size_t cap)
{
    size_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return CX_ENOMEM;
    for (size_t e = 0; e < m->n; e++) {
        size_t h = (size_t)cx_mix64(m->k1[e] ^ cx_mix64(m->k2[e])) & (cap - 1);
        while (slot[h])
            h = (h + 1) & (cap - 1);
        slot[h] = e + 1;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return CX_OK;
}

/* The sums of (k1, k2), created zero when new; NULL when out of memory. */
static double *cmap_get(cmap *m, uint64_t k1, uint64_t k2)
{
    if (m->last && m->k1[m->last - 1] == k1 && m->k2[m->last - 1] == k2)
        return m->u + (m->last - 1) * m->p;
    if (2 * (m->n + 1) > m->cap && cmap_rehash(m, m->cap ? 2 * m->cap : 64))
        return NULL;
    size_t h = (size_t)cx_mix64(k1 ^ cx_mix64(k2)) & (m->cap - 1);
    while (m->slot[h]) {
        size_t e = m->slot[h] - 1;
        if (m->k1[e] == k1 && m->k2[e] == k2) {
            m->last = e + 1;
            return m->u + e * m->p;
        }
        h = (h + 1) & (m->cap - 1);
    }
    if (m->n == m->ucap) {
        size_t nc = m->ucap ? 2 * m->ucap : 64;
        uint64_t *a = realloc(m->k1, nc * sizeof *a);
        if (a)
            m->k1 = a;
        uint64_t *b = realloc(m->k2, nc * sizeof *b);
        if (b)
            m->k2 = b;
        double *u = realloc(m->u, nc * m->p * sizeof *u);
        if (u)
            m->u = u;
        if (!a || !b || !u)
            return NULL;
        m->ucap = nc;
    }
    size_t e = m->n++;
    m->k1[e] = k1;
    m->k2[e] = k2;
    memset(m->u + e * m->p, 0, m->p * sizeof *m->u);
    m->slot[h] = e + 1;
    m->last = e + 1;
    return m->u + e * m->p;
}

/* ---- the reducer ---------------------------------------------------------- */

typedef struct sc_acc {
    const ols_score_params *par;
    double *meat; /* n_levels x p x p                         */
    cmap *maps;   /* n_levels x 3                             */
    ols_oos *oos; /* n_levels x n_slots                       */
    int failed;   /* out of memory in a map                   */
    cx_design_ws *ws;
    cx_design_buf rows; /* row-major X; y, w, extra (leading dimension rows.cap) */
    size_t cap;         /* rows g holds (= rows.cap)                             */
    double *g, *xr;
    /* the direct path (add_block_direct) */
    int direct;
    ols_direct dm;
    size_t cslot[2];     /* raw slots of the cluster columns                 */
    double *e;           /* DIRECT_ROWS residuals                            */
    double *f2;          /* DIRECT_ROWS HC row factors                       */
    double *dg, *dt;     /* DIRECT_ROWS x p: kept columns; times A (HC2/HC3) */
    uint64_t *key;       /* 2 x DIRECT_ROWS cluster keys                     */
    size_t *ent;         /* DIRECT_ROWS cluster map entries                  */
    const double **xcol; /* p: the chunk's design columns (raw, or ones)     */
    const double **kcol; /* p: its kept columns                              */
    double *ones;        /* DIRECT_ROWS ones: the intercept's column         */
} sc_acc;

/* Rows of one direct chunk: its residuals, keys and gathered columns stay
 * in cache between the column sweeps. */
#define DIRECT_ROWS 1024

static void sc_acc_free(void *v)
{
    sc_acc *a = v;
    if (!a)
        return;
    for (size_t i = 0; a->maps && i < 3 * a->par->n_levels; i++)
        cmap_free(&a->maps[i]);
    free(a->maps);
    free(a->meat);
    free(a->oos);
    cx_design_ws_free(a->ws);
    cx_design_buf_free(&a->rows);
    free(a->g);
    free(a->xr);
    ols_direct_free(&a->dm);
    free(a->e);
    free(a->f2);
    free(a->dg);
    free(a->dt);
    free(a->key);
    free(a->ent);
    free(a->xcol);
    free(a->kcol);
    free(a->ones);
    free(a);
}

/* 1 when raw slot s is an X column's or the outcome's. */
static int is_xy_slot(const ols_direct *dm, size_t p, size_t s)
{
    for (size_t j = 0; j <= p; j++)
        if (dm->xslot[j] == (long)s)
            return 1;
    return 0;
}

/* The robust part of a plain unweighted fit of a direct design reads the
 * raw block (cx_design_direct); sets a->direct when it applies and
 * allocates its scratch. */
static int direct_setup(sc_acc *a, cx_error *err)
{
    const ols_score_params *par = a->par;
    size_t p = par->p, n = DIRECT_ROWS;
    if (par->split != CX_SPLIT_NONE || !par->fits || par->se == OLS_SE_CLASSICAL)
        return CX_OK;
    int direct;
    if (ols_direct_init(&a->dm, par->d, p, par->n_inputs, &direct, err) != CX_OK)
        return CX_ENOMEM;
    if (!direct)
        return CX_OK;
    int cluster = par->se == OLS_SE_CLUSTER;
    for (size_t d = 0; cluster && d < par->n_cluster; d++)
        a->cslot[d] = cx_design_extra_slot(par->d, (size_t)par->cluster_extra[d]);
    /* the residual proves X and y complete (a missing value makes it
     * non-finite), the key lookup the cluster columns; a design needing
     * any other column (none does today) keeps the fill */
    for (size_t k = 0; k < a->dm.n_check; k++) {
        size_t s = a->dm.check[k];
        int key = cluster && (s == a->cslot[0] || (par->n_cluster == 2 && s == a->cslot[1]));
        if (!key && !is_xy_slot(&a->dm, p, s))
            return CX_OK;
    }
    a->e = cx_malloc(n * sizeof *a->e, err);
    a->xcol = cx_malloc((p ? p : 1) * sizeof *a->xcol, err);
    a->kcol = cx_malloc((p ? p : 1) * sizeof *a->kcol, err);
    a->ones = cx_malloc(n * sizeof *a->ones, err);
    if (!a->e || !a->xcol || !a->kcol || !a->ones)
        return CX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a->ones[i] = 1.0;
    if (cluster) {
        a->key = cx_malloc(2 * n * sizeof *a->key, err);
        a->ent = cx_malloc(n * sizeof *a->ent, err);
        if (!a->key || !a->ent)
            return CX_ENOMEM;
    } else {
        a->f2 = cx_malloc(n * sizeof *a->f2, err);
        a->dg = cx_malloc(n * (p ? p : 1) * sizeof *a->dg, err);
        a->dt = cx_malloc(n * (p ? p : 1) * sizeof *a->dt, err);
        if (!a->f2 || !a->dg || !a->dt)
            return CX_ENOMEM;
    }
    a->direct = 1;
    return CX_OK;
}

static void *sc_acc_alloc(const void *params, cx_error *err)
{
    const ols_score_params *par = params;
    sc_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    size_t L = par->n_levels, p = par->p;
    a->meat = cx_calloc(L * p * p, sizeof *a->meat, err);
    a->maps = cx_calloc(3 * L, sizeof *a->maps, err);
    a->oos = cx_calloc(L * (par->n_slots ? par->n_slots : 1), sizeof *a->oos, err);
    a->xr = cx_calloc(2 * p + 1, sizeof *a->xr, err);
    a->ws = cx_design_ws_alloc(par->d, err);
    cx_design_buf_init(&a->rows, par->d, CX_ROWS_ROW_MAJOR);
    if (!a->meat || !a->maps || !a->oos || !a->xr || !a->ws || direct_setup(a, err) != CX_OK) {
        sc_acc_free(a);
        return NULL;
    }
    for (size_t i = 0; i < 3 * L; i++)
        a->maps[i].p = p;
    return a;
}

static void sc_acc_reset(void *v)
{
    sc_acc *a = v;
    const ols_score_params *par = a->par;
    size_t L = par->n_levels, p = par->p;
    memset(a->meat, 0, L * p * p * sizeof *a->meat);
    for (size_t i = 0; i < 3 * L; i++) {
        cmap_free(&a->maps[i]);
        a->maps[i].p = p;
    }
    memset(a->oos, 0, L * (par->n_slots ? par->n_slots : 1) * sizeof *a->oos);
    a->failed = 0;
}

/* Room for n rows: the design rows and the scaled kept-column rows g
 * (column-major, the same leading dimension). */
static int sc_grow(sc_acc *a, size_t n, cx_error *err)
{
    if (cx_design_buf_reserve(&a->rows, n, err) != CX_OK)
        return CX_ENOMEM;
    n = a->rows.cap;
    if (n <= a->cap)
        return CX_OK;
    free(a->g);
    a->g = cx_malloc(n * (a->par->p ? a->par->p : 1) * sizeof *a->g, err);
    a->cap = a->g ? n : 0;
    return a->cap ? CX_OK : CX_ENOMEM;
}

/* Test slot of raw row r, or SIZE_MAX when the row is in no test set. */
static size_t test_slot(const ols_score_params *par, const cx_block *b, size_t r)
{
    if (par->split == CX_SPLIT_KFOLD)
        return cx_fold_of(par->seed, b->row[r], par->n_slots);
    if (par->split == CX_SPLIT_HOLDOUT)
        return ols_is_holdout_row(par->holdout, par->holdout_at, b, r) ? 1 : SIZE_MAX;
    return SIZE_MAX;
}

/* Out-of-sample residual of filled row i (row-major x: x[i*p + j]), raw
 * row r0 + kept[i]. */
static void add_oos(sc_acc *a, const cx_block *b, size_t r0, size_t i, size_t l)
{
    const ols_score_params *par = a->par;
    size_t s = test_slot(par, b, r0 + a->rows.kept[i]);
    if (s == SIZE_MAX)
        return;
    const double *bt = par->beta_train[l * par->n_slots + s];
    if (!bt)
        return;
    const double *x = a->rows.x + i * par->p;
    double pred = 0;
    for (size_t j = 0; j < par->p; j++)
        pred += x[j] * bt[j];
    double y = a->rows.y[i], w = a->rows.w[i], e = y - pred;
    ols_oos *o = &a->oos[l * par->n_slots + s];
    o->n += 1;
    o->sw += w;
    o->swe2 += w * e * e;
    o->swae += w * fabs(e);
    o->swy += w * y;
    o->swy2 += w * y * y;
}

/* Robust part of row i: returns the row's meat weight, fills xr (kept
 * columns) and adds the cluster sums. */
static double robust_row(sc_acc *a, size_t i, size_t l, size_t m)
{
    const ols_score_params *par = a->par;
    const ols_fit *f = &par->fits[l];
    const double *x = a->rows.x + i * par->p;
    size_t q = f->q;
    double *xr = a->xr, *ax = a->xr + par->p, e = a->rows.y[i], w = a->rows.w[i];
    for (size_t k = 0; k < q; k++) {
        xr[k] = x[f->keep[k]];
        e -= xr[k] * f->beta0[f->keep[k]];
    }
    if (par->se == OLS_SE_CLUSTER) {
        uint64_t k1 = ols_cluster_key(a->rows.extra[(size_t)par->cluster_extra[0] * m + i]), k2 = 0;
        if (par->n_cluster == 2)
            k2 = ols_cluster_key(a->rows.extra[(size_t)par->cluster_extra[1] * m + i]);
        double *u[3] = {cmap_get(&a->maps[3 * l], k1, 0), NULL, NULL};
        if (par->n_cluster == 2) {
            u[1] = cmap_get(&a->maps[3 * l + 1], k2, 0);
            u[2] = cmap_get(&a->maps[3 * l + 2], k1, k2);
        }
        for (size_t d = 0; d < (par->n_cluster == 2 ? 3u : 1u); d++) {
            if (!u[d]) {
                a->failed = 1;
                continue;
            }
            for (size_t k = 0; k < q; k++)
                u[d][k] += w * e * xr[k];
        }
        return 0;
    }
    double f2 = w * w * e * e;
    if (par->se == OLS_SE_HC2 || par->se == OLS_SE_HC3) {
        cblas_dsymv(CblasColMajor, CblasUpper, (int)q, 1.0, f->a, (int)q, xr, 1, 0.0, ax, 1);
        double h = w * cblas_ddot((int)q, xr, 1, ax, 1);
        f2 = h < 1 ? f2 / (par->se == OLS_SE_HC2 ? 1 - h : (1 - h) * (1 - h)) : 0;
    }
    return f2;
}

/* The robust and validation parts of the used filled rows, whose raw rows
 * are r0 + kept[i] in block b. */
static void add_filled(sc_acc *a, const cx_block *b, size_t r0, size_t used)
{
    const ols_score_params *par = a->par;
    size_t m = a->rows.cap, p = par->p; /* m: the buffers' leading dimension */
    int hc = par->fits && par->se != OLS_SE_CLASSICAL && par->se != OLS_SE_CLUSTER;
    for (size_t i0 = 0; i0 < used;) {
        size_t l = b->level[r0 + a->rows.kept[i0]], i1 = i0 + 1, k = 0;
        while (i1 < used && b->level[r0 + a->rows.kept[i1]] == l)
            i1++;
        const ols_fit *f = par->fits ? &par->fits[l] : NULL;
        int ok = f && f->q > 0;
        for (size_t i = i0; i < i1; i++) {
            if (par->split != CX_SPLIT_NONE)
                add_oos(a, b, r0, i, l);
            if (!ok || par->se == OLS_SE_CLASSICAL)
                continue;
            double f2 = robust_row(a, i, l, m);
            if (hc && f2 > 0) {
                double s = sqrt(f2);
                for (size_t c = 0; c < f->q; c++)
                    a->g[c * m + k] = a->xr[c] * s;
                k++;
            }
        }
        if (hc && k)
            cx_xprod_add(a->g, m, k, f->q, a->meat + l * p * p, NULL);
        i0 = i1;
    }
}

/* 1 when every value of column x (n rows) is finite: 0 x is 0 for a
 * finite x and NaN otherwise, so the sum is 0 exactly when all are. */
static int all_finite(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += 0 * x[i];
    return s == 0;
}

/* Residuals e = y - X b0 of raw rows [r0, r0 + n) of b from the raw
 * columns, in the fill's order of operations (an aliased column's b0 is
 * 0 and subtracts nothing, but still turns a missing value into a NaN).
 * Returns 1 when the rows are complete: every residual finite. */
static int direct_residuals(sc_acc *a, const cx_block *b, size_t r0, size_t n, const ols_fit *f)
{
    const ols_direct *dm = &a->dm;
    const double *const *x = a->xcol, *bt = f->beta0;
    size_t p = a->par->p;
    double *e = a->e;
    for (size_t j = 0; j < p; j++) /* the intercept's column is ones: 1 b0 = b0 */
        a->xcol[j] = dm->xslot[j] < 0 ? a->ones : b->data + (size_t)dm->xslot[j] * b->ld + r0;
    memcpy(e, b->data + (size_t)dm->xslot[p] * b->ld + r0, n * sizeof *e);
    /* four columns per sweep, subtracted left to right as one at a time */
    size_t j = 0;
    for (; j + 4 <= p; j += 4) {
        const double *x0 = x[j], *x1 = x[j + 1], *x2 = x[j + 2], *x3 = x[j + 3];
        double b0 = bt[j], b1 = bt[j + 1], b2 = bt[j + 2], b3 = bt[j + 3];
        for (size_t i = 0; i < n; i++)
            e[i] = e[i] - x0[i] * b0 - x1[i] * b1 - x2[i] * b2 - x3[i] * b3;
    }
    for (; j < p; j++)
        for (size_t i = 0; i < n; i++)
            e[i] -= x[j][i] * bt[j];
    return all_finite(e, n);
}

/* The cluster keys of raw rows [r0, r0 + n); 0 when one is missing (the
 * fill would drop the row). */
static int direct_keys(sc_acc *a, const cx_block *b, size_t r0, size_t n)
{
    for (size_t d = 0; d < a->par->n_cluster; d++) {
        const double *g = b->data + a->cslot[d] * b->ld + r0;
        uint64_t *key = a->key + d * DIRECT_ROWS;
        for (size_t i = 0; i < n; i++) {
            if (isnan(g[i]))
                return 0;
            key[i] = ols_cluster_key(g[i]);
        }
    }
    return 1;
}

/* Cluster sums of the n complete rows of level l whose residuals and
 * columns direct_residuals left in a->e and a->xcol, keys in a->key: per
 * dimension every row's entry first (the map may move while it grows),
 * then u_g += e x column by column, each sum in row order as the fill
 * adds it. */
static void direct_cluster(sc_acc *a, size_t n, size_t l)
{
    const ols_score_params *par = a->par;
    const ols_fit *f = &par->fits[l];
    const double *e = a->e;
    const uint64_t *k1 = a->key, *k2 = a->key + DIRECT_ROWS;
    size_t *ent = a->ent;
    const double **x = a->kcol; /* kept column k of the chunk */
    for (size_t k = 0; k < f->q; k++)
        x[k] = a->xcol[f->keep[k]];
    for (size_t d = 0; d < (par->n_cluster == 2 ? 3u : 1u); d++) {
        cmap *map = &a->maps[3 * l + d];
        for (size_t i = 0; i < n; i++) {
            double *u = cmap_get(map, d == 1 ? k2[i] : k1[i], d == 2 ? k2[i] : 0);
            if (!u) {
                a->failed = 1; /* the pass fails: nothing more to add */
                return;
            }
            ent[i] = (size_t)(u - map->u);
        }
        /* four columns per sweep: a row's four sums share a cache line */
        size_t k = 0;
        for (; k + 4 <= f->q; k += 4) {
            const double *x0 = x[k], *x1 = x[k + 1], *x2 = x[k + 2], *x3 = x[k + 3];
            for (size_t i = 0; i < n; i++) {
                double *u = map->u + ent[i] + k, ei = e[i];
                u[0] += ei * x0[i];
                u[1] += ei * x1[i];
                u[2] += ei * x2[i];
                u[3] += ei * x3[i];
            }
        }
        for (; k < f->q; k++)
            for (size_t i = 0; i < n; i++)
                map->u[ent[i] + k] += e[i] * x[k][i];
    }
}

/* HC meat of the n complete rows of level l that direct_residuals left
 * in a->e and a->xcol: the kept columns gathered, scaled by the rows'
 * sqrt(f2) and added with one DSYRK; the hat values of HC2/HC3 as the row
 * sums of X .* (X A). */
static void direct_hc(sc_acc *a, size_t n, size_t l)
{
    const ols_score_params *par = a->par;
    const ols_fit *f = &par->fits[l];
    size_t q = f->q, p = par->p, m = DIRECT_ROWS;
    double *g = a->dg, *f2 = a->f2;
    for (size_t c = 0; c < q; c++)
        memcpy(g + c * m, a->xcol[f->keep[c]], n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        f2[i] = a->e[i] * a->e[i];
    if (par->se == OLS_SE_HC2 || par->se == OLS_SE_HC3) {
        double *t = a->dt;
        cblas_dsymm(CblasColMajor, CblasRight, CblasUpper, (int)n, (int)q, 1.0, f->a, (int)q, g,
                    (int)m, 0.0, t, (int)m);
        double *h = t; /* column 0 of t becomes the hat values */
        for (size_t i = 0; i < n; i++)
            h[i] *= g[i];
        for (size_t c = 1; c < q; c++)
            for (size_t i = 0; i < n; i++)
                h[i] += g[c * m + i] * t[c * m + i];
        for (size_t i = 0; i < n; i++)
            f2[i] =
                h[i] < 1 ? f2[i] / (par->se == OLS_SE_HC2 ? 1 - h[i] : (1 - h[i]) * (1 - h[i])) : 0;
    }
    for (size_t i = 0; i < n; i++)
        f2[i] = sqrt(f2[i]);
    for (size_t c = 0; c < q; c++)
        for (size_t i = 0; i < n; i++)
            g[c * m + i] *= f2[i];
    cx_xprod_add(g, m, n, q, a->meat + l * p * p, NULL);
}

/* The direct path over a block, level by level in chunks of DIRECT_ROWS;
 * a chunk with a missing value is filled and added the usual way. */
static int add_block_direct(sc_acc *a, const cx_block *b, cx_error *err)
{
    const ols_score_params *par = a->par;
    for (size_t l = 0; l < b->n_levels && l < par->n_levels; l++) {
        const ols_fit *f = &par->fits[l];
        if (f->q == 0) /* nothing estimable: the fill adds nothing either */
            continue;
        for (size_t r0 = b->start[l]; r0 < b->start[l + 1]; r0 += DIRECT_ROWS) {
            size_t n = b->start[l + 1] - r0 < DIRECT_ROWS ? b->start[l + 1] - r0 : DIRECT_ROWS;
            int cluster = par->se == OLS_SE_CLUSTER;
            if (direct_residuals(a, b, r0, n, f) && (!cluster || direct_keys(a, b, r0, n))) {
                if (cluster)
                    direct_cluster(a, n, l);
                else
                    direct_hc(a, n, l);
                continue;
            }
            long used = cx_design_buf_fill(par->d, a->ws, &a->rows, b->data + r0, b->ld, n, err);
            if (used < 0)
                return err->code ? err->code : CX_EFAIL;
            add_filled(a, b, r0, (size_t)used);
        }
    }
    return CX_OK;
}

static int sc_acc_add(void *v, const cx_block *b, cx_error *err)
{
    sc_acc *a = v;
    if (b->n == 0)
        return CX_OK;
    if (sc_grow(a, b->n, err))
        return CX_ENOMEM;
    if (a->direct) {
        int rc = add_block_direct(a, b, err);
        if (rc != CX_OK)
            return rc;
    } else {
        long used = cx_design_buf_fill(a->par->d, a->ws, &a->rows, b->data, b->ld, b->n, err);
        if (used < 0)
            return err->code ? err->code : CX_EFAIL;
        add_filled(a, b, 0, (size_t)used);
    }
    if (a->failed)
        return cx_error_set(err, CX_ENOMEM, "out of memory for the cluster sums");
    return CX_OK;
}

static void sc_acc_merge(void *v, const void *o)
{
    sc_acc *a = v;
    const sc_acc *b = o;
    const ols_score_params *par = a->par;
    size_t L = par->n_levels, p = par->p;
    for (size_t i = 0; i < L * p * p; i++)
        a->meat[i] += b->meat[i];
    for (size_t i = 0; i < L * (par->n_slots ? par->n_slots : 1); i++) {
        ols_oos *x = &a->oos[i];
        const ols_oos *y = &b->oos[i];
        x->n += y->n;
        x->sw += y->sw;
        x->swe2 += y->swe2;
        x->swae += y->swae;
        x->swy += y->swy;
        x->swy2 += y->swy2;
    }
    for (size_t i = 0; i < 3 * L; i++) {
        const cmap *src = &b->maps[i];
        for (size_t e = 0; e < src->n; e++) {
            double *u = cmap_get(&a->maps[i], src->k1[e], src->k2[e]);
            if (!u) {
                a->failed = 1;
                continue;
            }
            for (size_t k = 0; k < p; k++)
                u[k] += src->u[e * p + k];
        }
    }
}

static int sc_acc_finalize(void *v, cx_error *err)
{
    sc_acc *a = v;
    return a->failed ? cx_error_set(err, CX_ENOMEM, "out of memory for the cluster sums") : CX_OK;
}

static const cx_reducer_type sc_reducer = {"ols_scores", sc_acc_alloc,    sc_acc_reset, sc_acc_add,
                                           sc_acc_merge, sc_acc_finalize, sc_acc_free};

/* MPI row splitting (engine/dist.h), as 8-byte words: failed; the meat
 * (n_levels x p x p); the out-of-sample sums (n_levels x n_slots x 6);
 * then each of the 3 n_levels cluster maps: its entry count, and per entry
 * the two keys' bits and the p sums, in first-seen order (the merge keeps
 * it, so the clusters come out in table order as in one process). */
static size_t sc_acc_pack(const void *v, void *vbuf)
{
    const sc_acc *a = v;
    const ols_score_params *par = a->par;
    size_t L = par->n_levels, p = par->p, S = L * (par->n_slots ? par->n_slots : 1);
    double *buf = vbuf;
    size_t at = 1 + L * p * p + 6 * S;
    if (buf) {
        buf[0] = a->failed;
        memcpy(buf + 1, a->meat, L * p * p * sizeof *buf);
        for (size_t i = 0; i < S; i++) {
            const ols_oos *o = &a->oos[i];
            double *x = buf + 1 + L * p * p + 6 * i;
            x[0] = o->n, x[1] = o->sw, x[2] = o->swe2, x[3] = o->swae, x[4] = o->swy,
            x[5] = o->swy2;
        }
    }
    for (size_t i = 0; i < 3 * L; i++) {
        const cmap *m = &a->maps[i];
        if (buf)
            buf[at] = (double)m->n;
        at++;
        for (size_t e = 0; e < m->n; e++, at += 2 + p)
            if (buf) {
                memcpy(buf + at, &m->k1[e], sizeof m->k1[e]);
                memcpy(buf + at + 1, &m->k2[e], sizeof m->k2[e]);
                memcpy(buf + at + 2, m->u + e * p, p * sizeof *buf);
            }
    }
    return at * sizeof(double);
}

static int sc_acc_unpack(void *v, const void *vbuf, size_t size, cx_error *err)
{
    sc_acc *a = v;
    const ols_score_params *par = a->par;
    size_t L = par->n_levels, p = par->p, S = L * (par->n_slots ? par->n_slots : 1);
    const double *buf = vbuf;
    size_t n = size / sizeof *buf, at = 1 + L * p * p + 6 * S;
    if (n < at)
        return cx_error_set(err, CX_EFAIL, "ols: a packed score total is too short");
    a->failed = buf[0] != 0;
    memcpy(a->meat, buf + 1, L * p * p * sizeof *buf);
    for (size_t i = 0; i < S; i++) {
        const double *x = buf + 1 + L * p * p + 6 * i;
        a->oos[i] = (ols_oos){x[0], x[1], x[2], x[3], x[4], x[5]};
    }
    for (size_t i = 0; i < 3 * L; i++) {
        if (at >= n)
            return cx_error_set(err, CX_EFAIL, "ols: a packed score total is too short");
        size_t entries = (size_t)buf[at++];
        if (entries > (n - at) / (2 + p))
            return cx_error_set(err, CX_EFAIL, "ols: a packed score total is too short");
        for (size_t e = 0; e < entries; e++, at += 2 + p) {
            uint64_t k1, k2;
            memcpy(&k1, buf + at, sizeof k1);
            memcpy(&k2, buf + at + 1, sizeof k2);
            double *u = cmap_get(&a->maps[i], k1, k2);
            if (!u)
                return cx_error_set(err, CX_ENOMEM, "out of memory for the cluster sums");
            memcpy(u, buf + at + 2, p * sizeof *u);
        }
    }
    return at == n ? CX_OK : cx_error_set(err, CX_EFAIL, "ols: a packed score total is too long");
}

static const cx_pack_ops sc_pack_ops = {sc_acc_pack, sc_acc_unpack, NULL};

/* meat of one cluster dimension: sum_g u_g u_g' (q x q), G in *g. */
static void cluster_meat(const cmap *m, size_t q, double *out, double *g)
{
    memset(out, 0, q * q * sizeof *out);
    for (size_t e = 0; e < m->n; e++)
        cblas_dsyr(CblasColMajor, CblasUpper, (int)q, 1.0, m->u + e * m->p, 1, out, (int)q);
    *g = (double)m->n;
}

/* Symmetric q x q from its upper triangle. */
static void symmetrize(double *a, size_t q)
{
    for (size_t j = 0; j < q; j++)
        for (size_t i = j + 1; i < q; i++)
            a[j * q + i] = a[i * q + j];
}

/* Cluster meat of level l with sandwich's cadjust G/(G-1) per dimension;
 * two-way: M1 + M2 - M12 (Cameron, Gelbach and Miller; vcovCL). */
static int level_cluster_meat(const sc_acc *a, size_t l, size_t q, double *meat, double *ng,
                              cx_error *err)
{
    double *t = cx_malloc(q * q * sizeof *t, err);
    if (!t)
        return CX_ENOMEM;
    size_t dims = a->par->n_cluster == 2 ? 3 : 1;
    memset(meat, 0, q * q * sizeof *meat);
    for (size_t d = 0; d < dims; d++) {
        double g;
        cluster_meat(&a->maps[3 * l + d], q, t, &g);
        ng[d] = g;
        double adj = g > 1 ? g / (g - 1) : NAN, sign = d == 2 ? -1 : 1;
        for (size_t i = 0; i < q * q; i++)
            meat[i] += sign * adj * t[i];
    }
    free(t);
    symmetrize(meat, q);
    return CX_OK;
}

int ols_pass_scores(const cx_job *job, const int *cols, size_t ncols, const ols_score_params *par,
                    ols_scores *out, cx_error *err)
{
    memset(out, 0, sizeof *out);
    cx_reducer r = {&sc_reducer, par, NULL};
    cx_pack_register(&sc_reducer, &sc_pack_ops);
    int rc = cx_reduce_view(job->view, cols, ncols, &r, 1, job->threads, err);
    size_t L = par->n_levels, p = par->p;
    if (rc == CX_OK) {
        sc_acc *a = r.acc;
        out->meat = a->meat;
        a->meat = NULL;
        out->oos = a->oos;
        a->oos = NULL;
        out->n_clusters = cx_calloc(3 * L, sizeof *out->n_clusters, err);
        if (!out->n_clusters)
            rc = CX_ENOMEM;
        for (size_t l = 0; rc == CX_OK && par->fits && l < L; l++) {
            size_t q = par->fits[l].q;
            if (par->se == OLS_SE_CLUSTER && q)
                rc = level_cluster_meat(a, l, q, out->meat + l * p * p, out->n_clusters + 3 * l,
                                        err);
            else if (q)
                symmetrize(out->meat + l * p * p, q);
        }
    }
    cx_reducer_release(&r);
    if (rc != CX_OK)
        ols_scores_clear(out);
    return rc;
}

void ols_scores_clear(ols_scores *s)
{
    free(s->meat);
    free(s->n_clusters);
    free(s->oos);
    memset(s, 0, sizeof *s);
}
