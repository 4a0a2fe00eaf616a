/*
 * logit_pass.c — the binary logit's accumulator for one pass at given
 * coefficients (logit_pass.h).
 *
 * Per block of design rows (weights w, outcome y in [0, 1]):
 *   eta = X b, mu = 1 / (1 + exp(-eta)),
 *   loglik += sum w (y log mu + (1 - y) log(1 - mu))  (computed from eta,
 *             so no log(0) for large |eta|),
 *   score  += X' w (y - mu),  information += X' diag(w mu (1 - mu)) X
 * by BLAS (dgemv, dsyrk on rows scaled by sqrt(w mu (1 - mu))), fused
 * per chunk of rows that stays in cache (chunk_rows).  This is
 * glm's IRLS step written as Newton: for the logit link the observed and
 * expected information agree, so Fisher scoring is Newton.
 * The final pass adds the meat of sandwich's HC0 (score outer products:
 * estfun.glm = w (y - mu) x), the per-cluster score sums of vcovCL, and
 * keeps (mu, y, w) of every row for the rank-based AUC.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logit_pass.h"
#include "../../engine/xprod.h"

static void acc_free(void *vacc)
{
    logit_acc *a = vacc;
    if (!a)
        return;
    free(a->grad);
    free(a->info);
    free(a->meat);
    free(a->pred);
    free(a->y);
    free(a->w);
    lg_clusters_free(&a->clusters);
    free(a->xa);
    free(a->s);
    free(a->sv);
    free(a->eta);
    free(a->r);
    free(a->v);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    free(a);
}

static void acc_reset(void *vacc)
{
    logit_acc *a = vacc;
    size_t q = a->q;
    a->ll = a->ll_sat = a->sum_w = a->sum_wy = a->nobs = 0;
    a->n_rows = 0;
    memset(a->grad, 0, q * sizeof *a->grad);
    memset(a->info, 0, q * q * sizeof *a->info);
    if (a->meat)
        memset(a->meat, 0, q * q * sizeof *a->meat);
    a->n_extreme = 0;
    a->n_pred = 0;
    lg_clusters_reset(&a->clusters);
}

/* Rows per chunk of the fused row loop: the chunk's design rows and their
 * sqrt(v)-scaled copy (2 x 512 x q doubles, the copy column-major for
 * cx_xprod_add) stay in L2 while eta, the score and the information read
 * them, instead of three sweeps
 * over a 64K-row block from memory; and a chunk's product of
 * (1 + e^-|eta|) stays below 2^512, far from overflow. */
#define LOGIT_CHUNK 512

static void *acc_alloc(const void *vpar, cx_error *err)
{
    const logit_params *par = vpar;
    size_t q = par->q ? par->q : 1;
    logit_acc *a = calloc(1, sizeof *a);
    if (a) {
        a->q = par->q;
        a->expect_pred = par->expect_rows;
        lg_clusters_init(&a->clusters, par->q);
        a->grad = calloc(q, sizeof *a->grad);
        a->info = calloc(q * q, sizeof *a->info);
        if (par->final)
            a->meat = calloc(q * q, sizeof *a->meat);
        /* chunk scratch (chunk_rows), allocated once */
        a->eta = malloc(LOGIT_CHUNK * sizeof *a->eta);
        a->r = malloc(LOGIT_CHUNK * sizeof *a->r);
        a->v = malloc(LOGIT_CHUNK * sizeof *a->v);
        a->s = malloc(LOGIT_CHUNK * q * sizeof *a->s);
        a->sv = malloc(LOGIT_CHUNK * sizeof *a->sv);
    }
    if (!a || !a->grad || !a->info || (par->final && !a->meat) || !a->eta || !a->r || !a->v ||
        !a->s || !a->sv) {
        acc_free(a);
        cx_error_set(err, CX_ENOMEM, "logit: out of memory");
        return NULL;
    }
    return a;
}

/* Room for m compacted rows (compact_rows). */
static int reserve_rows(logit_acc *a, size_t m, cx_error *err)
{
    if (m <= a->cap_rows)
        return CX_OK;
    size_t q = a->q ? a->q : 1;
    free(a->xa);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    a->yc = malloc(m * sizeof *a->yc);
    a->wc = malloc(m * sizeof *a->wc);
    a->kc = malloc(m * sizeof *a->kc);
    a->xa = malloc(m * q * sizeof *a->xa);
    a->cap_rows = m;
    if (!a->xa || !a->yc || !a->wc || !a->kc) {
        a->cap_rows = 0;
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    }
    return CX_OK;
}

/* Room for `extra` more predictions: at least expect_pred (the pass's
 * row count, known from the previous pass) the first time, so that the
 * total of a final pass is sized once instead of grown by copies. */
static int reserve_preds(logit_acc *a, size_t extra, size_t expect_pred, cx_error *err)
{
    if (a->n_pred + extra <= a->cap_pred)
        return CX_OK;
    size_t cap = a->cap_pred ? a->cap_pred : expect_pred > 1024 ? expect_pred : 1024;
    while (cap < a->n_pred + extra)
        cap *= 2;
    double *p = realloc(a->pred, cap * sizeof *p);
    if (p)
        a->pred = p;
    double *y = realloc(a->y, cap * sizeof *y);
    if (y)
        a->y = y;
    double *w = realloc(a->w, cap * sizeof *w);
    if (w)
        a->w = w;
    if (!p || !y || !w)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory for the predictions");
    a->cap_pred = cap;
    return CX_OK;
}

static double xlogx(double x)
{
    return x > 0 ? x * log(x) : 0;
}

/* A numeric outcome must be 0/1 or a proportion (as glm's binomial). */
static int check_outcome(const cx_rows *r, size_t i, cx_error *err)
{
    double y = r->y[i];
    if (y >= 0 && y <= 1)
        return CX_OK;
    return cx_error_set(err, CX_EUSAGE,
                        "the outcome is %g at table row %zu: a binary logit needs 0/1 (or a "
                        "proportion in [0, 1]), or a two-level factor",
                        y, r->row[i] + 1);
}

/* The rows this pass uses (validation slots), their active columns into
 * a->xa (row-major, q wide) and their outcome, weight and cluster into
 * yc, wc, kc; returns how many, or -1 (err set) for an outcome outside
 * [0, 1] or out of memory.
 * When every row and every column is used, xs/ys/ws point at the rows as
 * they came (no copy). */
static long compact_rows(logit_acc *a, const cx_rows *r, const logit_params *par, const double **xs,
                         const double **ys, const double **ws, cx_error *err)
{
    size_t q = par->q;
    int all = q == r->p && !r->slot && !par->cluster && par->boot.rep < 0;
    for (size_t k = 0; all && k < q; k++)
        all = par->active[k] == k;
    for (size_t i = 0; !par->factor_outcome && i < r->m; i++)
        if (check_outcome(r, i, err) != CX_OK)
            return -1;
    if (all) {
        *xs = r->x;
        *ys = r->y;
        *ws = r->w;
        return (long)r->m;
    }
    if (reserve_rows(a, r->m, err) != CX_OK)
        return -1;
    long m = 0;
    for (size_t i = 0; i < r->m; i++) {
        if (r->slot && ((par->skip_slot >= 0 && r->slot[i] == (size_t)par->skip_slot) ||
                        (par->only_slot >= 0 && r->slot[i] != (size_t)par->only_slot)))
            continue;
        unsigned count = lg_boot_count(&par->boot, r, i);
        if (count == 0)
            continue; /* not drawn into this replicate */
        for (size_t k = 0; k < q; k++)
            a->xa[m * q + k] = r->x[i * r->p + par->active[k]];
        a->yc[m] = r->y[i];
        a->wc[m] = r->w[i] * count;
        a->kc[m] = par->cluster ? r->extra[i] : 0;
        m++;
    }
    *xs = a->xa;
    *ys = a->yc;
    *ws = a->wc;
    return m;
}

/* outer += sum_i c_i x_i x_i' over the c rows x (c_i >= 0) by one dsyrk
 * of the rows scaled by sqrt(c_i) into the chunk scratch a->s. */
static void add_weighted_syrk(logit_acc *a, const double *x, size_t c, const double *wt,
                              double *outer)
{
    size_t q = a->q;
    for (size_t i = 0; i < c; i++) {
        double s = sqrt(wt[i]);
        for (size_t k = 0; k < q; k++)
            a->s[i * q + k] = x[i * q + k] * s;
    }
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)q, (int)c, 1.0, a->s, (int)q, 1.0,
                outer, (int)q);
}

/* HC2 / HC3: r2[i] /= (1 - h_i)^power with the hat value h_i = v_i x_i'
 * A x_i (v: the information weights); a row with h >= 1 adds nothing (as
 * ols).  X A is one DGEMM per chunk into the scratch a->s. */
static void scale_by_hat(logit_acc *a, const double *x, size_t c, const logit_params *par,
                         double *r2)
{
    size_t q = par->q;
    if (!q)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c, (int)q, (int)q, 1.0, x, (int)q,
                par->hat_inv, (int)q, 0.0, a->s, (int)q);
    for (size_t i = 0; i < c; i++) {
        double h = a->v[i] * cblas_ddot((int)q, a->s + i * q, 1, x + i * q, 1);
        r2[i] = h < 1 ? r2[i] / (par->hat_power == 1 ? 1 - h : (1 - h) * (1 - h)) : 0;
    }
}

/* The final pass's extras for the chunk of c used rows from row i0 (after
 * chunk_rows): predictions, HC meat, cluster score sums. */
static int add_final(logit_acc *a, size_t i0, size_t c, const logit_params *par, cx_error *err)
{
    size_t q = par->q;
    const double *x = a->xr + i0 * q;
    if (reserve_preds(a, c, 0, err) != CX_OK)
        return CX_ENOMEM;
    double *r2 = a->eta; /* holds mu (chunk_rows); becomes r^2 */
    for (size_t i = 0; i < c; i++) {
        double mu = r2[i];
        a->pred[a->n_pred] = mu;
        a->y[a->n_pred] = a->yr[i0 + i];
        a->w[a->n_pred] = a->wr[i0 + i];
        a->n_pred++;
        if (mu < LOGIT_EXTREME || mu > 1 - LOGIT_EXTREME)
            a->n_extreme++;
        r2[i] = a->r[i] * a->r[i];
    }
    if (par->meat) { /* classical and cluster SEs do not read it: left 0 */
        if (par->hat_inv)
            scale_by_hat(a, x, c, par, r2);
        add_weighted_syrk(a, x, c, r2, a->meat);
    }
    if (!par->cluster)
        return CX_OK;
    for (size_t i = 0; i < c; i++) {
        double *s = lg_clusters_sums(&a->clusters, a->kc[i0 + i], err);
        if (!s)
            return CX_ENOMEM;
        for (size_t k = 0; k < q; k++)
            s[k] += a->r[i] * x[i * q + k];
    }
    return CX_OK;
}

/* One chunk of c rows from row i0 of the block's used rows: the
 * log-likelihood, the score and the information; a->r = w (y - mu),
 * a->v = w mu (1 - mu) and mu (in a->eta) stay for add_final.
 *   log-likelihood: sum w (y eta - softplus(eta)), softplus(eta) =
 *   max(eta, 0) + log(1 + e), e = exp(-|eta|) (no overflow, no log(0));
 *   the log(1 + e) of unit-weight rows is one log of their product (at
 *   most 2^512 over a chunk): one exp per row and one log per chunk
 *   instead of an exp and a log1p per row.  Rounding 1 + e costs at most
 *   an ulp of 1 per row, far below the 1e-13 relative the optimizer's
 *   line search tolerates.  mu (1 - mu) = e / (1 + e)^2 has no
 *   cancellation for mu near 1. */
static void chunk_rows(logit_acc *a, size_t i0, size_t c, const logit_params *par)
{
    size_t q = par->q;
    const double *x = a->xr + i0 * q, *y = a->yr + i0, *w = a->wr + i0;
    double *eta = a->eta, *r = a->r, *v = a->v, *s = a->s;
    if (q)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)c, (int)q, 1.0, x, (int)q, par->beta, 1, 0.0,
                    eta, 1);
    else
        memset(eta, 0, c * sizeof *eta);
    double lin = 0, soft = 0, prod = 1, sum_w = 0, sum_wy = 0, nobs = 0;
    for (size_t i = 0; i < c; i++) {
        double et = eta[i], yi = y[i], wi = w[i];
        double e = exp(-fabs(et)), inv = 1 / (1 + e);
        double mu = et >= 0 ? inv : e * inv;
        lin += wi * (yi * et - (et > 0 ? et : 0));
        if (wi == 1)
            prod *= 1 + e;
        else
            soft += wi * log1p(e);
        if (yi != 0 && yi != 1) /* a proportion: the saturated model's term */
            a->ll_sat += wi * (xlogx(yi) + xlogx(1 - yi));
        sum_w += wi;
        sum_wy += wi * yi;
        nobs += wi != 0;
        r[i] = wi * (yi - mu);
        v[i] = wi * e * inv * inv;
        a->sv[i] = sqrt(v[i]);
        eta[i] = mu; /* for add_final */
    }
    a->ll += lin - (soft + log(prod));
    a->n_rows += c;
    a->sum_w += sum_w;
    a->sum_wy += sum_wy;
    a->nobs += nobs;
    if (!q)
        return;
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)c, (int)q, 1.0, x, (int)q, r, 1, 1.0, a->grad, 1);
    /* the rows scaled by sqrt(v), column-major (cx_xprod_add's layout):
     * column by column, so the writes are sequential */
    for (size_t k = 0; k < q; k++)
        for (size_t i = 0; i < c; i++)
            s[k * LOGIT_CHUNK + i] = x[i * q + k] * a->sv[i];
    cx_xprod_add(s, LOGIT_CHUNK, c, q, a->info, NULL);
}

static int acc_add_rows(void *vacc, const cx_rows *r, const void *vpar, cx_error *err)
{
    logit_acc *a = vacc;
    const logit_params *par = vpar;
    long got = compact_rows(a, r, par, &a->xr, &a->yr, &a->wr, err);
    if (got < 0)
        return err->code ? err->code : CX_EUSAGE;
    size_t m = (size_t)got;
    for (size_t i0 = 0; i0 < m; i0 += LOGIT_CHUNK) {
        size_t c = m - i0 < LOGIT_CHUNK ? m - i0 : LOGIT_CHUNK;
        chunk_rows(a, i0, c, par);
        if (par->final && add_final(a, i0, c, par, err) != CX_OK)
            return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

static void acc_merge(void *vacc, const void *vother)
{
    logit_acc *a = vacc;
    const logit_acc *o = vother;
    size_t q = a->q;
    a->ll += o->ll;
    a->ll_sat += o->ll_sat;
    a->sum_w += o->sum_w;
    a->sum_wy += o->sum_wy;
    a->nobs += o->nobs;
    a->n_rows += o->n_rows;
    for (size_t k = 0; k < q; k++)
        a->grad[k] += o->grad[k];
    for (size_t k = 0; k < q * q; k++)
        a->info[k] += o->info[k];
    if (!a->meat)
        return;
    for (size_t k = 0; k < q * q; k++)
        a->meat[k] += o->meat[k];
    a->n_extreme += o->n_extreme;
    cx_error err = {0};
    /* merge cannot fail by contract: on out of memory the totals would be
     * wrong, so keep going but poison the log-likelihood (NaN fails the fit) */
    if (reserve_preds(a, o->n_pred, a->expect_pred, &err) != CX_OK) {
        a->ll = NAN;
        return;
    }
    if (o->n_pred) { /* a block without rows: the arrays may still be NULL */
        memcpy(a->pred + a->n_pred, o->pred, o->n_pred * sizeof *a->pred);
        memcpy(a->y + a->n_pred, o->y, o->n_pred * sizeof *a->y);
        memcpy(a->w + a->n_pred, o->w, o->n_pred * sizeof *a->w);
    }
    a->n_pred += o->n_pred;
    if (lg_clusters_merge(&a->clusters, &o->clusters, &err) != CX_OK)
        a->ll = NAN;
}

const cx_rowpass_type logit_pass_type = {"logit",      acc_alloc, acc_reset,
                                         acc_add_rows, acc_merge, acc_free};
