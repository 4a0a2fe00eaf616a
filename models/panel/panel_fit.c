/*
 * panel_fit.c — the estimators of `model = panel`, as plm 2.6 computes them.
 *
 * Every method is least squares on transformed data (Xt, yt):
 *   pooling  the rows as they are;
 *   within   deviations from unit means (effect = individual), period
 *            means (time), or both (twoways: alternating projections —
 *            demean by unit, then by period, until both sets of means
 *            vanish — exact in one sweep when the panel is balanced, and
 *            never a dummy matrix, so 100k units cost 100k sums);
 *   between  one row per unit (or period): its means;
 *   fd       differences of consecutive rows of a unit, as plm's pdiff
 *            (consecutive *observations*, so a unit with a hole in its
 *            years is differenced across it), with an intercept column 1
 *            when the formula has one;
 *   random   Swamy-Arora variance components (two-way: balanced panels) (plm's ercomp, both its
 *            balanced and unbalanced degrees-of-freedom corrections,
 *            which coincide in the formulas below) and quasi-demeaning
 *            x - theta_i xbar_i with theta_i = 1 - sqrt(s2_e / (T_i s2_u + s2_e)).
 * Aliased columns (a time-invariant regressor under within, ...) are
 * dropped as plm drops them, and named in a warning.  r2 is plm's default
 * (type "cor"): the squared correlation of yt and Xt b; adj_r2 =
 * 1 - (1 - r2)(nt - 1)/df.  The slopes' Wald statistic uses the classical
 * covariance: F = W/q (chisq = W for random, as plm's summary).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "design.h"
#include "panel.h"

#define TWOWAY_MAX_SWEEPS 100000
#define TWOWAY_TOL 1e-14

int panel_fit_alloc(panel_fit *f, size_t p, cx_error *err)
{
    memset(f, 0, sizeof *f);
    f->beta = cx_malloc(p * sizeof *f->beta, err);
    f->se = cx_malloc(p * sizeof *f->se, err);
    f->vcov = cx_malloc(p * p * sizeof *f->vcov, err);
    if (!f->beta || !f->se || !f->vcov) {
        panel_fit_free(f);
        return CX_ENOMEM;
    }
    for (size_t j = 0; j < p; j++)
        f->beta[j] = f->se[j] = NAN;
    for (size_t j = 0; j < p * p; j++)
        f->vcov[j] = NAN;
    return CX_OK;
}

void panel_fit_free(panel_fit *f)
{
    free(f->beta);
    free(f->se);
    free(f->vcov);
    free(f->resid);
    f->beta = f->se = f->vcov = f->resid = NULL;
    f->n_resid = 0;
}

/* ---- group means --------------------------------------------------------- */

/* sum[g] and cnt[g] of v over the rows of each group. */
static void group_sums(const double *v, size_t n, const size_t *code, size_t G, double *sum,
                       double *cnt)
{
    memset(sum, 0, G * sizeof *sum);
    if (cnt)
        memset(cnt, 0, G * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        sum[code[i]] += v[i];
        if (cnt)
            cnt[code[i]] += 1;
    }
}

/* v -= its group means; returns the largest |mean| removed. */
static double demean(double *v, size_t n, const size_t *code, size_t G, double *sum,
                     const double *cnt)
{
    group_sums(v, n, code, G, sum, NULL);
    double largest = 0;
    for (size_t g = 0; g < G; g++) {
        sum[g] = cnt[g] > 0 ? sum[g] / cnt[g] : 0;
        if (fabs(sum[g]) > largest)
            largest = fabs(sum[g]);
    }
    for (size_t i = 0; i < n; i++)
        v[i] -= sum[code[i]];
    return largest;
}

typedef struct demean_ws {
    double *sum_u, *cnt_u, *sum_t, *cnt_t;
} demean_ws;

/* Two-way demeaning of one column by alternating projections: the number
 * of sweeps (period means, then unit means) it took, -1 when
 * TWOWAY_MAX_SWEEPS did not converge. */
static long twoway_sweeps(double *v, const panel_data *d, demean_ws *w)
{
    double scale = 0;
    for (size_t i = 0; i < d->n; i++)
        scale = fmax(scale, fabs(v[i]));
    demean(v, d->n, d->unit, d->n_units, w->sum_u, w->cnt_u);
    for (long sweep = 0; sweep < TWOWAY_MAX_SWEEPS; sweep++) {
        double moved = demean(v, d->n, d->time, d->n_times, w->sum_t, w->cnt_t);
        moved = fmax(moved, demean(v, d->n, d->unit, d->n_units, w->sum_u, w->cnt_u));
        if (moved <= TWOWAY_TOL * (scale > 0 ? scale : 1))
            return sweep + 1;
    }
    return -1;
}

/* Within transform of one column by `effect`; 0, or 1 when the two-way
 * sweeps did not converge. */
static int within_column(double *v, const panel_data *d, panel_effect effect, demean_ws *w)
{
    if (effect == PANEL_INDIVIDUAL) {
        demean(v, d->n, d->unit, d->n_units, w->sum_u, w->cnt_u);
        return 0;
    }
    if (effect == PANEL_TIME) {
        demean(v, d->n, d->time, d->n_times, w->sum_t, w->cnt_t);
        return 0;
    }
    return twoway_sweeps(v, d, w) < 0;
}

/* ---- least squares on the kept columns ---------------------------------- */

/* The transformed problem: nt rows, k columns (design columns col[0..k-1]). */
typedef struct tproblem {
    size_t nt, k;
    double *xt; /* nt x k column-major */
    double *yt;
    size_t *col;      /* design column of each */
    size_t *cl_unit;  /* unit / period of each transformed row (for SEs) */
    size_t *cl_time;
} tproblem;

static void tproblem_free(tproblem *t)
{
    free(t->xt);
    free(t->yt);
    free(t->col);
    free(t->cl_unit);
    free(t->cl_time);
    memset(t, 0, sizeof *t);
}

static int tproblem_alloc(tproblem *t, size_t nt, size_t k, cx_error *err)
{
    memset(t, 0, sizeof *t);
    t->nt = nt;
    t->k = k;
    t->xt = cx_malloc((nt * k + 1) * sizeof *t->xt, err);
    t->yt = cx_malloc((nt ? nt : 1) * sizeof *t->yt, err);
    t->col = cx_malloc((k ? k : 1) * sizeof *t->col, err);
    t->cl_unit = cx_malloc((nt ? nt : 1) * sizeof *t->cl_unit, err);
    t->cl_time = cx_malloc((nt ? nt : 1) * sizeof *t->cl_time, err);
    if (!t->xt || !t->yt || !t->col || !t->cl_unit || !t->cl_time) {
        tproblem_free(t);
        return CX_ENOMEM;
    }
    return CX_OK;
}

/* Inverse of the k x k SPD matrix a (column-major, full) in place. */
static int spd_inverse(double *a, size_t k)
{
    if (k == 0)
        return 0;
    lapack_int lk = (lapack_int)k;
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', lk, a, lk) != 0 ||
        LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', lk, a, lk) != 0)
        return -1;
    for (size_t j = 0; j < k; j++)
        for (size_t i = j + 1; i < k; i++)
            a[j * k + i] = a[i * k + j];
    return 0;
}

/* Drop the aliased columns of t (R's lm: a column that is a linear
 * combination of earlier ones), recording them in f. */
static int drop_aliased(tproblem *t, const panel_data *d, panel_fit *f, cx_error *err)
{
    size_t k = t->k;
    if (k == 0)
        return CX_OK;
    double *xtx = cx_malloc(k * k * sizeof *xtx, err);
    int *aliased = cx_calloc(k, sizeof *aliased, err);
    const char **names = cx_malloc(k * sizeof *names, err);
    if (!xtx || !aliased || !names) {
        free(xtx);
        free(aliased);
        free(names);
        return CX_ENOMEM;
    }
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)t->nt, 1.0, t->xt,
                (int)t->nt, t->xt, (int)t->nt, 0.0, xtx, (int)k);
    for (size_t j = 0; j < k; j++)
        names[j] = d->names[t->col[j]];
    long n_al = cx_design_aliased(xtx, k, names, 1e-7, aliased, f->dropped, sizeof f->dropped, err);
    int rc = n_al < 0 ? err->code : CX_OK;
    if (n_al > 0) {
        size_t kk = 0;
        for (size_t j = 0; j < k; j++) {
            if (aliased[j])
                continue;
            if (kk != j) {
                memcpy(t->xt + kk * t->nt, t->xt + j * t->nt, t->nt * sizeof *t->xt);
                t->col[kk] = t->col[j];
            }
            kk++;
        }
        t->k = kk;
        f->n_dropped = (int)n_al;
    }
    free(xtx);
    free(aliased);
    free(names);
    return rc;
}

/* OLS of yt on xt: b (k), ainv = (X'X)^-1 (k x k), e (nt). */
static int ols(const tproblem *t, double *b, double *ainv, double *e, cx_error *err)
{
    size_t k = t->k, nt = t->nt;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)nt, 1.0, t->xt,
                (int)nt, t->xt, (int)nt, 0.0, ainv, (int)k);
    if (spd_inverse(ainv, k))
        return cx_error_set(err, CX_EFAIL, "the design matrix is singular after the transform");
    double *xty = cx_malloc((k ? k : 1) * sizeof *xty, err);
    if (!xty)
        return CX_ENOMEM;
    if (k) {
        cblas_dgemv(CblasColMajor, CblasTrans, (int)nt, (int)k, 1.0, t->xt, (int)nt, t->yt, 1,
                    0.0, xty, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)k, (int)k, 1.0, ainv, (int)k, xty, 1, 0.0,
                    b, 1);
    }
    free(xty);
    memcpy(e, t->yt, nt * sizeof *e);
    if (k)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)nt, (int)k, -1.0, t->xt, (int)nt, b, 1, 1.0,
                    e, 1);
    return CX_OK;
}

/* ---- covariance matrices ------------------------------------------------- */

/* meat += sum over clusters g of s_g s_g', s_g = sum_{rows in g} x_r e_r. */
static int meat_cluster(const tproblem *t, const double *e, const size_t *code, size_t G,
                        double sign, double *meat, cx_error *err)
{
    size_t k = t->k;
    double *s = cx_calloc(G * k + 1, sizeof *s, err); /* G x k, row-major */
    if (!s)
        return CX_ENOMEM;
    for (size_t j = 0; j < k; j++)
        for (size_t r = 0; r < t->nt; r++)
            s[code[r] * k + j] += t->xt[j * t->nt + r] * e[r];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)k, (int)k, (int)G, sign, s, (int)k,
                s, (int)k, 1.0, meat, (int)k);
    free(s);
    return CX_OK;
}

/* Driscoll-Kraay: h_t = sum over rows of period t of x e; meat =
 * sum_t h_t h_t' + sum_{l=1..L} w_l sum_t (h_t h_{t-l}' + h_{t-l} h_t'),
 * w_l = 1 - l/(L+1) (plm's vcovSCC, Bartlett weights). */
static int meat_dk(const tproblem *t, const double *e, size_t T, long L, double *meat,
                   cx_error *err)
{
    size_t k = t->k;
    double *h = cx_calloc(T * k + 1, sizeof *h, err); /* T x k row-major */
    if (!h)
        return CX_ENOMEM;
    for (size_t j = 0; j < k; j++)
        for (size_t r = 0; r < t->nt; r++)
            h[t->cl_time[r] * k + j] += t->xt[j * t->nt + r] * e[r];
    for (long l = 0; l <= L && (size_t)l < T; l++) {
        double w = l == 0 ? 1.0 : 1.0 - (double)l / (double)(L + 1);
        for (size_t tt = (size_t)l; tt < T; tt++)
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++) {
                    double v = h[tt * k + a] * h[(tt - (size_t)l) * k + b];
                    meat[b * k + a] += w * v;
                    if (l > 0)
                        meat[a * k + b] += w * v;
                }
    }
    free(h);
    return CX_OK;
}

/* vcov = ainv meat ainv (k x k) into out. */
static void sandwich(const double *ainv, const double *meat, size_t k, double *tmp, double *out)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)k, (int)k, 1.0, ainv,
                (int)k, meat, (int)k, 0.0, tmp, (int)k);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)k, (int)k, 1.0, tmp,
                (int)k, ainv, (int)k, 0.0, out, (int)k);
}

static int robust_vcov(const tproblem *t, const double *e, const panel_data *d,
                       const panel_options *opt, const double *ainv, double *v, cx_error *err)
{
    size_t k = t->k;
    double *meat = cx_calloc(k * k + 1, sizeof *meat, err);
    double *tmp = cx_malloc((k * k + 1) * sizeof *tmp, err);
    size_t *rows = cx_malloc((t->nt + 1) * sizeof *rows, err);
    int rc = (meat && tmp && rows) ? CX_OK : CX_ENOMEM;
    if (!rc) {
        switch (opt->se) {
        case PANEL_SE_CLUSTER_UNIT:
            rc = meat_cluster(t, e, t->cl_unit, d->n_units, 1.0, meat, err);
            break;
        case PANEL_SE_CLUSTER_TIME:
            rc = meat_cluster(t, e, t->cl_time, d->n_times, 1.0, meat, err);
            break;
        case PANEL_SE_CLUSTER_TWO: /* unit + time - rows (White) */
            for (size_t r = 0; r < t->nt; r++)
                rows[r] = r;
            rc = meat_cluster(t, e, t->cl_unit, d->n_units, 1.0, meat, err);
            if (!rc)
                rc = meat_cluster(t, e, t->cl_time, d->n_times, 1.0, meat, err);
            if (!rc)
                rc = meat_cluster(t, e, rows, t->nt, -1.0, meat, err);
            break;
        case PANEL_SE_DK: {
            long L = opt->dk_lag >= 0 ? opt->dk_lag : (long)floor(pow((double)d->n_times, 0.25));
            rc = meat_dk(t, e, d->n_times, L, meat, err);
            break;
        }
        default:
            break;
        }
    }
    if (!rc)
        sandwich(ainv, meat, k, tmp, v);
    free(meat);
    free(tmp);
    free(rows);
    return rc;
}

/* ---- the transforms ------------------------------------------------------ */

static int alloc_demean_ws(demean_ws *w, const panel_data *d, cx_error *err)
{
    w->sum_u = cx_malloc((d->n_units + 1) * sizeof *w->sum_u, err);
    w->cnt_u = cx_calloc(d->n_units + 1, sizeof *w->cnt_u, err);
    w->sum_t = cx_malloc((d->n_times + 1) * sizeof *w->sum_t, err);
    w->cnt_t = cx_calloc(d->n_times + 1, sizeof *w->cnt_t, err);
    if (!w->sum_u || !w->cnt_u || !w->sum_t || !w->cnt_t)
        return CX_ENOMEM;
    for (size_t i = 0; i < d->n; i++) {
        w->cnt_u[d->unit[i]] += 1;
        w->cnt_t[d->time[i]] += 1;
    }
    return CX_OK;
}

static void free_demean_ws(demean_ws *w)
{
    free(w->sum_u);
    free(w->cnt_u);
    free(w->sum_t);
    free(w->cnt_t);
}

/* Rows as they are (pooling), or demeaned (within: no intercept). */
static int build_rows(const panel_data *d, int within, panel_effect effect, tproblem *t,
                      panel_fit *f, cx_error *err)
{
    size_t k = 0;
    for (size_t j = 0; j < d->p; j++)
        k += !(within && (long)j == d->intercept);
    if (tproblem_alloc(t, d->n, k, err))
        return CX_ENOMEM;
    memcpy(t->cl_unit, d->unit, d->n * sizeof *d->unit);
    memcpy(t->cl_time, d->time, d->n * sizeof *d->time);
    memcpy(t->yt, d->y, d->n * sizeof *d->y);
    k = 0;
    for (size_t j = 0; j < d->p; j++)
        if (!(within && (long)j == d->intercept)) {
            t->col[k] = j;
            memcpy(t->xt + k * d->n, d->x + j * d->n, d->n * sizeof *d->x);
            k++;
        }
    if (!within)
        return CX_OK;
    demean_ws w = {0};
    int rc = alloc_demean_ws(&w, d, err);
    for (size_t j = 0; !rc && j <= k; j++) {
        double *v = j < k ? t->xt + j * d->n : t->yt;
        f->not_converged |= within_column(v, d, effect, &w);
    }
    free_demean_ws(&w);
    return rc;
}

/* One row per group (unit for individual, period for time): the means. */
static int build_between(const panel_data *d, panel_effect effect, tproblem *t, cx_error *err)
{
    const size_t *code = effect == PANEL_TIME ? d->time : d->unit;
    size_t G = effect == PANEL_TIME ? d->n_times : d->n_units;
    if (tproblem_alloc(t, G, d->p, err))
        return CX_ENOMEM;
    double *cnt = cx_calloc(G, sizeof *cnt, err);
    if (!cnt)
        return CX_ENOMEM;
    for (size_t j = 0; j <= d->p; j++) {
        double *out = j < d->p ? t->xt + j * G : t->yt;
        group_sums(j < d->p ? d->x + j * d->n : d->y, d->n, code, G, out, cnt);
        for (size_t g = 0; g < G; g++)
            out[g] /= cnt[g];
        if (j < d->p)
            t->col[j] = j;
    }
    for (size_t g = 0; g < G; g++)
        t->cl_unit[g] = t->cl_time[g] = g;
    free(cnt);
    return CX_OK;
}

/* Differences of consecutive rows of each unit (plm's pdiff). */
static int build_fd(const panel_data *d, tproblem *t, cx_error *err)
{
    size_t nt = 0;
    for (size_t i = 1; i < d->n; i++)
        nt += d->unit[i] == d->unit[i - 1];
    if (tproblem_alloc(t, nt, d->p, err))
        return CX_ENOMEM;
    size_t r = 0;
    for (size_t i = 1; i < d->n; i++) {
        if (d->unit[i] != d->unit[i - 1])
            continue;
        for (size_t j = 0; j < d->p; j++)
            t->xt[j * nt + r] =
                (long)j == d->intercept ? 1.0 : d->x[j * d->n + i] - d->x[j * d->n + i - 1];
        t->yt[r] = d->y[i] - d->y[i - 1];
        t->cl_unit[r] = d->unit[i];
        t->cl_time[r] = d->time[i];
        r++;
    }
    for (size_t j = 0; j < d->p; j++)
        t->col[j] = j;
    return CX_OK;
}

/* s2_e of Swamy-Arora: RSS of the within fit / (n - absorbed effects - K_w). */
static int idiosyncratic_variance(const panel_data *d, panel_effect effect, double *s2e,
                                  cx_error *err)
{
    tproblem w = {0};
    panel_fit scratch = {0};
    int rc = build_rows(d, 1, effect, &w, &scratch, err);
    if (!rc)
        rc = drop_aliased(&w, d, &scratch, err);
    double *b = cx_malloc((w.k + 1) * sizeof *b, err), *a = cx_malloc((w.k * w.k + 1) * sizeof *a, err);
    double *e = cx_malloc((d->n + 1) * sizeof *e, err);
    if (!rc && (!b || !a || !e))
        rc = CX_ENOMEM;
    if (!rc)
        rc = ols(&w, b, a, e, err);
    double rss = 0;
    for (size_t i = 0; !rc && i < d->n; i++)
        rss += e[i] * e[i];
    double absorbed = effect == PANEL_INDIVIDUAL ? (double)d->n_units
                      : effect == PANEL_TIME     ? (double)d->n_times
                                                 : (double)(d->n_units + d->n_times - 1);
    *s2e = rss / ((double)d->n - absorbed - (double)w.k);
    tproblem_free(&w);
    free(b);
    free(a);
    free(e);
    return rc;
}

/* What an unbalanced two-way fit needs besides s2_u: quad, the
 * denominator n - tr(A^-1 B) and A^-1 (p x p). */
typedef struct between_parts {
    double quad, denom;
    double *ainv; /* p x p, caller-owned; NULL: not wanted */
} between_parts;

/* Group means m (G x (p+1): the design columns, then y) and counts, and the
 * effect variance from the between regression weighted by the counts T_g:
 * s2_u = (quad - (G - K - 1) s2_e) / (n - tr(A^-1 B)), A = sum T m m',
 * B = sum T^2 m m', quad = sum T (ybar - m'b)^2; clamped at 0. */
static int between_component(const panel_data *d, const size_t *code, size_t G, double s2e,
                             double *m, double *cnt, double *s2u, between_parts *parts,
                             cx_error *err)
{
    size_t p = d->p, n = d->n;
    double *a = cx_calloc(p * p + 1, sizeof *a, err), *bb = cx_calloc(p * p + 1, sizeof *bb, err);
    double *xy = cx_calloc(p + 1, sizeof *xy, err), *b = cx_calloc(p + 1, sizeof *b, err);
    int rc = a && bb && xy && b ? CX_OK : CX_ENOMEM;
    for (size_t j = 0; !rc && j <= p; j++) {
        group_sums(j < p ? d->x + j * n : d->y, n, code, G, m + j * G, cnt);
        for (size_t g = 0; g < G; g++)
            m[j * G + g] /= cnt[g];
    }
    for (size_t g = 0; !rc && g < G; g++)
        for (size_t i = 0; i < p; i++) {
            xy[i] += cnt[g] * m[i * G + g] * m[p * G + g];
            for (size_t j = 0; j < p; j++) {
                a[j * p + i] += cnt[g] * m[i * G + g] * m[j * G + g];
                bb[j * p + i] += cnt[g] * cnt[g] * m[i * G + g] * m[j * G + g];
            }
        }
    if (!rc && spd_inverse(a, p))
        rc = cx_error_set(err, CX_EFAIL, "random: the between regression is singular");
    double tr = 0, quad = 0;
    for (size_t i = 0; !rc && i < p; i++)
        for (size_t j = 0; j < p; j++) {
            b[i] += a[j * p + i] * xy[j];
            tr += a[j * p + i] * bb[i * p + j];
        }
    for (size_t g = 0; !rc && g < G; g++) {
        double r = m[p * G + g];
        for (size_t j = 0; j < p; j++)
            r -= m[j * G + g] * b[j];
        quad += cnt[g] * r * r;
    }
    double k_between = (double)p - (d->intercept >= 0);
    *s2u = (quad - ((double)G - k_between - 1) * s2e) / ((double)n - tr);
    if (*s2u < 0)
        *s2u = 0;
    if (!rc && parts) {
        parts->quad = quad;
        parts->denom = (double)n - tr;
        if (parts->ainv)
            memcpy(parts->ainv, a, p * p * sizeof *a);
    }
    free(a);
    free(bb);
    free(xy);
    free(b);
    return rc;
}

/* G_self - tr(A^-1 sum_o s_o s_o'), s_o = the sum over the rows of other-
 * group o of their own group's means m (plm's ercomp, unbalanced two-way
 * swar: M["id", "mu"] with self = units, other = periods, and
 * M["ts", "eta"] the other way round). */
static int cross_term(const panel_data *d, const size_t *self, size_t G, const double *m,
                      const double *ainv, const size_t *other, size_t Go, double *out,
                      cx_error *err)
{
    size_t p = d->p;
    double *s = cx_calloc(Go * p + 1, sizeof *s, err);
    if (!s)
        return CX_ENOMEM;
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < p; j++)
            s[other[i] * p + j] += m[j * G + self[i]];
    double tr = 0;
    for (size_t o = 0; o < Go; o++)
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++)
                tr += ainv[b * p + a] * s[o * p + b] * s[o * p + a];
    *out = (double)G - tr;
    free(s);
    return CX_OK;
}

/* Unbalanced two-way Swamy-Arora (plm's ercomp, dfcor 3): the two effect
 * variances solve one 2 x 2 system, the units' and periods' Between
 * equations each holding the other's variance (zero when balanced). */
static int twoway_unbalanced(const panel_data *d, double s2e, double *mu, double *cu, double *mt,
                             double *ct, double *s2u, double *s2t, cx_error *err)
{
    size_t p = d->p, N = d->n_units, T = d->n_times;
    between_parts pu = {0}, pt = {0};
    pu.ainv = cx_malloc((p * p + 1) * sizeof *pu.ainv, err);
    pt.ainv = cx_malloc((p * p + 1) * sizeof *pt.ainv, err);
    double cross_u = 0, cross_t = 0;
    int rc = pu.ainv && pt.ainv ? CX_OK : CX_ENOMEM;
    if (!rc)
        rc = between_component(d, d->unit, N, s2e, mu, cu, s2u, &pu, err);
    if (!rc)
        rc = between_component(d, d->time, T, s2e, mt, ct, s2t, &pt, err);
    if (!rc)
        rc = cross_term(d, d->unit, N, mu, pu.ainv, d->time, T, &cross_u, err);
    if (!rc)
        rc = cross_term(d, d->time, T, mt, pt.ainv, d->unit, N, &cross_t, err);
    if (!rc) {
        double k = (double)p - 1; /* plm: ncol(model.matrix) - 1 */
        double b1 = pu.quad - ((double)N - k - 1) * s2e, b2 = pt.quad - ((double)T - k - 1) * s2e;
        double det = pu.denom * pt.denom - cross_u * cross_t;
        *s2u = (b1 * pt.denom - cross_u * b2) / det;
        *s2t = (pu.denom * b2 - cross_t * b1) / det;
        *s2u = *s2u < 0 ? 0 : *s2u;
        *s2t = *s2t < 0 ? 0 : *s2t;
    }
    free(pu.ainv);
    free(pt.ainv);
    return rc;
}

/* Swamy-Arora components and the quasi-demeaned rows, as plm's ercomp and
 * ptransform: one-way x - theta_g xbar_g; two-way x - theta_1 xbar_i -
 * theta_2 xbar_t + theta_3 xbar with the thetas of each row's T_i and N_t
 * (plm's ptransform, balanced or not). */
static int build_random(const panel_data *d, panel_effect effect, tproblem *t, panel_fit *f,
                        cx_error *err)
{
    size_t p = d->p, n = d->n, N = d->n_units, T = d->n_times;
    double *mu = cx_malloc((N * (p + 1) + 1) * sizeof *mu, err), *cu = cx_calloc(N + 1, sizeof *cu, err);
    double *mt = cx_malloc((T * (p + 1) + 1) * sizeof *mt, err), *ct = cx_calloc(T + 1, sizeof *ct, err);
    int rc = mu && cu && mt && ct ? CX_OK : CX_ENOMEM;
    double s2e = 0, s2u = 0, s2t = 0;
    if (!rc)
        rc = idiosyncratic_variance(d, effect, &s2e, err);
    int unbalanced_twoway = effect == PANEL_TWOWAYS && n != N * T;
    if (!rc && unbalanced_twoway)
        rc = twoway_unbalanced(d, s2e, mu, cu, mt, ct, &s2u, &s2t, err);
    if (!rc && !unbalanced_twoway && effect != PANEL_TIME)
        rc = between_component(d, d->unit, N, s2e, mu, cu, &s2u, NULL, err);
    if (!rc && !unbalanced_twoway && effect != PANEL_INDIVIDUAL)
        rc = between_component(d, d->time, T, s2e, mt, ct, &s2t, NULL, err);
    f->sigma2_idios = s2e;
    f->sigma2_effect = effect == PANEL_TIME ? s2t : s2u;
    f->sigma2_time = effect == PANEL_TWOWAYS ? s2t : NAN;
    double *grand = cx_calloc(p + 2, sizeof *grand, err);
    if (!rc && !grand)
        rc = CX_ENOMEM;
    for (size_t j = 0; !rc && j <= p; j++) {
        const double *v = j < p ? d->x + j * n : d->y;
        for (size_t i = 0; i < n; i++)
            grand[j] += v[i] / (double)n;
    }
    if (!rc)
        rc = tproblem_alloc(t, n, p, err);
    double theta_sum = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        size_t u = d->unit[i], tt = d->time[i];
        double th1 = effect == PANEL_TIME ? 0 : 1 - sqrt(s2e / (cu[u] * s2u + s2e));
        double th2 = effect == PANEL_INDIVIDUAL ? 0 : 1 - sqrt(s2e / (ct[tt] * s2t + s2e));
        double th3 = effect != PANEL_TWOWAYS || s2u == 0 || s2t == 0
                         ? 0
                         : th1 + th2 - 1 + sqrt(s2e / (s2e + ct[tt] * s2t + cu[u] * s2u));
        theta_sum += effect == PANEL_TIME ? th2 : th1;
        for (size_t j = 0; j <= p; j++) {
            const double *v = j < p ? d->x + j * n : d->y;
            double out = v[i] + th3 * grand[j];
            if (effect != PANEL_TIME)
                out -= th1 * mu[j * N + u];
            if (effect != PANEL_INDIVIDUAL)
                out -= th2 * mt[j * T + tt];
            if (j < p)
                t->xt[j * n + i] = out;
            else
                t->yt[i] = out;
        }
        t->cl_unit[i] = u;
        t->cl_time[i] = tt;
    }
    for (size_t j = 0; !rc && j < p; j++)
        t->col[j] = j;
    f->theta_mean = theta_sum / (double)n;
    free(mu);
    free(cu);
    free(mt);
    free(ct);
    free(grand);
    return rc;
}

/* ---- two-way demeaning on its own (bench_panel_sweep) ------------------ */

long panel_twoway_demean(const panel_data *d, double *v, size_t ncols, cx_error *err)
{
    demean_ws w;
    if (alloc_demean_ws(&w, d, err))
        return -1;
    long total = 0;
    for (size_t j = 0; j < ncols && total >= 0; j++) {
        long s = twoway_sweeps(v + j * d->n, d, &w);
        total = s < 0 ? -1 : total + s;
    }
    free_demean_ws(&w);
    if (total < 0)
        cx_error_set(err, CX_EFAIL, "two-way demeaning did not converge");
    return total;
}

/* ---- the fit ------------------------------------------------------------- */

/* r2 = cor(yt, fitted)^2. */
static double cor2(const double *y, const double *e, size_t n)
{
    double my = 0, mf = 0;
    for (size_t i = 0; i < n; i++) {
        my += y[i];
        mf += y[i] - e[i];
    }
    my /= (double)n;
    mf /= (double)n;
    double syy = 0, sff = 0, syf = 0;
    for (size_t i = 0; i < n; i++) {
        double a = y[i] - my, b = y[i] - e[i] - mf;
        syy += a * a;
        sff += b * b;
        syf += a * b;
    }
    return syf * syf / (syy * sff);
}

/* Wald statistic of the slopes (kept columns but the intercept). */
static double wald_slopes(const tproblem *t, const panel_data *d, const double *b,
                          const double *v, size_t *q_out, cx_error *err)
{
    size_t k = t->k, q = 0;
    double *vs = cx_malloc((k * k + 1) * sizeof *vs, err);
    double *bs = cx_malloc((k + 1) * sizeof *bs, err);
    size_t *idx = cx_malloc((k + 1) * sizeof *idx, err);
    double w = NAN;
    if (vs && bs && idx) {
        for (size_t j = 0; j < k; j++)
            if ((long)t->col[j] != d->intercept)
                idx[q++] = j;
        for (size_t a = 0; a < q; a++) {
            bs[a] = b[idx[a]];
            for (size_t c = 0; c < q; c++)
                vs[c * q + a] = v[idx[c] * k + idx[a]];
        }
        if (q > 0 && spd_inverse(vs, q) == 0) {
            w = 0;
            for (size_t a = 0; a < q; a++)
                for (size_t c = 0; c < q; c++)
                    w += bs[a] * vs[c * q + a] * bs[c];
        }
    }
    free(vs);
    free(bs);
    free(idx);
    *q_out = q;
    return w;
}

static int build_transformed(const panel_data *d, const panel_options *opt, tproblem *t,
                             panel_fit *f, cx_error *err)
{
    switch (opt->method) {
    case PANEL_POOLING:
        return build_rows(d, 0, opt->effect, t, f, err);
    case PANEL_WITHIN:
        return build_rows(d, 1, opt->effect, t, f, err);
    case PANEL_BETWEEN:
        return build_between(d, opt->effect, t, err);
    case PANEL_FD:
        return build_fd(d, t, err);
    case PANEL_RANDOM:
        return build_random(d, opt->effect, t, f, err);
    }
    return cx_error_set(err, CX_EUSAGE, "unknown panel method");
}

/* Residual degrees of freedom as plm's df.residual. */
static double residual_df(const panel_data *d, const panel_options *opt, const tproblem *t)
{
    double df = (double)t->nt - (double)t->k;
    if (opt->method == PANEL_WITHIN) {
        if (opt->effect == PANEL_INDIVIDUAL)
            df -= (double)d->n_units;
        else if (opt->effect == PANEL_TIME)
            df -= (double)d->n_times;
        else
            df -= (double)d->n_units + (double)d->n_times - 1;
    }
    return df;
}

/* ---- random two-way effects on an unbalanced panel ---------------------- */

/* Sums a panel's unit-demeaned dummies need: for every unit i its rows are
 * contiguous (sorted by unit, time).  dd += D*'D* where row r of D* is
 * e_t - c_i 1_{S_i}, c_i = theta_i / T_i: per unit diag(1_S) + (T_i c² -
 * 2c) 1_S 1_S'.  xd (p x T) += X*'D*, dy (T) += D*'y*. */
static void wk_cross_products(const panel_data *d, const double *xs, const double *ys,
                              const double *theta, const double *cu, double *dd, double *xd,
                              double *dy, double *sx)
{
    size_t n = d->n, p = d->p, T = d->n_times;
    for (size_t i0 = 0; i0 < n;) {
        size_t u = d->unit[i0], i1 = i0;
        while (i1 < n && d->unit[i1] == u)
            i1++;
        double c = theta[i0] / cu[u], sy = 0, w = cu[u] * c * c - 2 * c;
        memset(sx, 0, p * sizeof *sx);
        for (size_t r = i0; r < i1; r++) {
            size_t t = d->time[r];
            dd[t * T + t] += 1;
            for (size_t j = 0; j < p; j++) {
                xd[t * p + j] += xs[j * n + r];
                sx[j] += xs[j * n + r];
            }
            dy[t] += ys[r];
            sy += ys[r];
            for (size_t q = i0; q < i1; q++)
                dd[d->time[q] * T + t] += w;
        }
        for (size_t r = i0; r < i1; r++) {
            size_t t = d->time[r];
            for (size_t j = 0; j < p; j++)
                xd[t * p + j] -= c * sx[j];
            dy[t] -= c * sy;
        }
        i0 = i1;
    }
}

/* Wald statistic of the slopes of a fit with its full p x p vcov. */
static double wald_of(const panel_fit *f, const panel_data *d, size_t *q, cx_error *err)
{
    size_t *col = cx_malloc((d->p + 1) * sizeof *col, err);
    if (!col)
        return NAN;
    for (size_t j = 0; j < d->p; j++)
        col[j] = j;
    tproblem t = {.k = d->p, .col = col};
    double w = wald_slopes(&t, d, f->beta, f->vcov, q, err);
    free(col);
    return w;
}

/* plm's GLS for random two-way effects on unbalanced panels (plm.fit, after
 * Wansbeek and Kapteyn): X*, y* quasi-demeaned by unit (theta_i), the
 * period dummies D* demeaned the same way, phi = s2_time / s2_idios,
 * P = (I + phi D*'D*)^-1, XPX = X*'X* - phi X*'D* P D*'X* (XPy likewise),
 * gamma = XPX^-1 XPy, vcov = XPX^-1 as plm has it (no sigma² factor: the
 * transform is not scaled), residuals y - X gamma, df = n - p.  Classical
 * SEs only: plm's vcovHC applies its one-way transform to these
 * residuals, which is no sandwich of this estimator. */
/* XPX^-1 (in xpx) and XPy of the GLS: from the unit-quasi-demeaned xs
 * (n x (p+1), y last) and theta, with phi = s2_time / s2_idios. */
static int wk_normal_equations(const panel_data *d, const double *xs, const double *theta,
                               const double *cu, double phi, double *xpx, double *xpy,
                               cx_error *err)
{
    size_t n = d->n, p = d->p, T = d->n_times;
    const double *ys = xs + n * p;
    double *dd = cx_calloc(T * T + 1, sizeof *dd, err), *xd = cx_calloc(p * T + 1, sizeof *xd, err);
    double *dy = cx_calloc(T + 1, sizeof *dy, err), *sx = cx_malloc((p + 1) * sizeof *sx, err);
    double *pxd = cx_malloc((T * p + 1) * sizeof *pxd, err);
    int rc = dd && xd && dy && sx && pxd ? CX_OK : CX_ENOMEM;
    if (!rc) {
        wk_cross_products(d, xs, ys, theta, cu, dd, xd, dy, sx);
        for (size_t k = 0; k < T * T; k++)
            dd[k] *= phi;
        for (size_t t = 0; t < T; t++)
            dd[t * T + t] += 1;
        if (spd_inverse(dd, T)) /* P */
            rc = cx_error_set(err, CX_EFAIL, "random two-way: I + phi D'D is singular");
    }
    if (!rc) { /* pxd = P D*'X* (T x p), then XPX, XPy */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)T, (int)p, (int)T, 1.0, dd,
                    (int)T, xd, (int)p, 0.0, pxd, (int)T);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)p, (int)p, (int)n, 1.0, xs,
                    (int)n, xs, (int)n, 0.0, xpx, (int)p);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)p, (int)T, -phi, xd,
                    (int)p, pxd, (int)T, 1.0, xpx, (int)p);
        cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)p, 1.0, xs, (int)n, ys, 1, 0.0, xpy, 1);
        for (size_t j = 0; j < p; j++)
            for (size_t t = 0; t < T; t++)
                xpy[j] -= phi * pxd[j * T + t] * dy[t];
        if (spd_inverse(xpx, p))
            rc = cx_error_set(err, CX_EFAIL, "random two-way: the GLS matrix is singular");
    }
    free(dd), free(xd), free(dy), free(sx), free(pxd);
    return rc;
}

/* gamma = XPX^-1 XPy, vcov = XPX^-1, residuals in levels, the fit's rows. */
static int wk_finish(const panel_data *d, const double *xpxinv, const double *xpy, panel_fit *f,
                     cx_error *err)
{
    size_t n = d->n, p = d->p;
    double *e = cx_malloc((n + 1) * sizeof *e, err);
    if (!e)
        return CX_ENOMEM;
    for (size_t a = 0; a < p; a++) {
        f->beta[a] = 0;
        for (size_t c = 0; c < p; c++)
            f->beta[a] += xpxinv[c * p + a] * xpy[c];
        f->se[a] = sqrt(xpxinv[a * p + a]);
        for (size_t c = 0; c < p; c++)
            f->vcov[c * p + a] = xpxinv[c * p + a];
    }
    double rss = 0;
    for (size_t i = 0; i < n; i++) {
        e[i] = d->y[i];
        for (size_t j = 0; j < p; j++)
            e[i] -= d->x[j * n + i] * f->beta[j];
        rss += e[i] * e[i];
    }
    f->nobs = (double)n;
    f->df_residual = (double)(n - p);
    f->sigma2 = rss / f->df_residual;
    f->r2 = cor2(d->y, e, n); /* plm: cor(y, fitted)², in levels here */
    f->adj_r2 = 1 - (1 - f->r2) * ((double)n - 1) / f->df_residual;
    size_t q = 0; /* Wald chisq of the slopes with vcov = XPX^-1 */
    f->stat = wald_of(f, d, &q, err);
    f->stat_df1 = (double)q;
    free(f->resid);
    f->resid = e;
    f->n_resid = n;
    return CX_OK;
}

static int random_twoway_unbalanced(const panel_data *d, const panel_options *opt, panel_fit *f,
                                    cx_error *err)
{
    if (opt->se != PANEL_SE_CLASSICAL)
        return cx_error_set(err, CX_EFAIL,
                            "method = random, effect = twoways on an unbalanced panel (%zu rows, "
                            "%zu units x %zu periods) has classical SEs only (plm's robust "
                            "vcov of this GLS fit is not a sandwich of it); expected se = "
                            "classical, or method = within",
                            d->n, d->n_units, d->n_times);
    size_t n = d->n, p = d->p, N = d->n_units, T = d->n_times;
    double *mu = cx_malloc((N * (p + 1) + 1) * sizeof *mu, err),
           *cu = cx_calloc(N + 1, sizeof *cu, err);
    double *mt = cx_malloc((T * (p + 1) + 1) * sizeof *mt, err),
           *ct = cx_calloc(T + 1, sizeof *ct, err);
    double *xs = cx_malloc((n * (p + 1) + 1) * sizeof *xs, err),
           *theta = cx_malloc((n + 1) * sizeof *theta, err);
    double *xpx = cx_malloc((p * p + 1) * sizeof *xpx, err),
           *xpy = cx_malloc((p + 1) * sizeof *xpy, err);
    int rc = mu && cu && mt && ct && xs && theta && xpx && xpy ? CX_OK : CX_ENOMEM;
    double s2e = 0, s2u = 0, s2t = 0, theta_sum = 0;
    if (!rc)
        rc = idiosyncratic_variance(d, PANEL_TWOWAYS, &s2e, err);
    if (!rc)
        rc = twoway_unbalanced(d, s2e, mu, cu, mt, ct, &s2u, &s2t, err);
    for (size_t i = 0; !rc && i < n; i++) { /* x - theta_i xbar_i, y last */
        size_t u = d->unit[i];
        theta[i] = 1 - sqrt(s2e / (cu[u] * s2u + s2e));
        theta_sum += theta[i];
        for (size_t j = 0; j <= p; j++)
            xs[j * n + i] = (j < p ? d->x[j * n + i] : d->y[i]) - theta[i] * mu[j * N + u];
    }
    if (!rc)
        rc = wk_normal_equations(d, xs, theta, cu, s2t / s2e, xpx, xpy, err);
    if (!rc)
        rc = wk_finish(d, xpx, xpy, f, err);
    f->sigma2_idios = s2e;
    f->sigma2_effect = s2u;
    f->sigma2_time = s2t;
    f->theta_mean = theta_sum / (double)n;
    free(mu), free(cu), free(mt), free(ct), free(xs), free(theta), free(xpx), free(xpy);
    return rc;
}

int panel_estimate(const panel_data *d, const panel_options *opt, panel_fit *f, cx_error *err)
{
    if (opt->method == PANEL_RANDOM && opt->effect == PANEL_TWOWAYS &&
        d->n != d->n_units * d->n_times)
        return random_twoway_unbalanced(d, opt, f, err);
    tproblem t = {0};
    int rc = build_transformed(d, opt, &t, f, err);
    if (!rc)
        rc = drop_aliased(&t, d, f, err);
    if (!rc && t.nt <= t.k)
        rc = cx_error_set(err, CX_EFAIL,
                          "%zu rows after the %s transform for %zu coefficients; expected more "
                          "rows than coefficients",
                          t.nt, opt->method == PANEL_FD ? "first-difference" : "panel", t.k);
    size_t k = t.k;
    double *b = NULL, *ainv = NULL, *e = NULL, *v = NULL;
    if (!rc) {
        b = cx_malloc((k + 1) * sizeof *b, err);
        ainv = cx_malloc((k * k + 1) * sizeof *ainv, err);
        v = cx_malloc((k * k + 1) * sizeof *v, err);
        e = cx_malloc((t.nt + 1) * sizeof *e, err);
        if (!b || !ainv || !v || !e)
            rc = CX_ENOMEM;
    }
    if (!rc)
        rc = ols(&t, b, ainv, e, err);
    if (!rc) {
        double rss = 0;
        for (size_t i = 0; i < t.nt; i++)
            rss += e[i] * e[i];
        f->nobs = (double)t.nt;
        f->df_residual = residual_df(d, opt, &t);
        f->sigma2 = rss / f->df_residual;
        for (size_t j = 0; j < k * k; j++)
            v[j] = f->sigma2 * ainv[j];
        size_t q;
        double w = wald_slopes(&t, d, b, v, &q, err);
        f->stat_df1 = (double)q;
        f->stat = opt->method == PANEL_RANDOM ? w : w / (double)q;
        f->r2 = cor2(t.yt, e, t.nt);
        f->adj_r2 = 1 - (1 - f->r2) * ((double)t.nt - 1) / f->df_residual;
        if (opt->se != PANEL_SE_CLASSICAL)
            rc = robust_vcov(&t, e, d, opt, ainv, v, err);
    }
    for (size_t a = 0; !rc && a < k; a++) {
        f->beta[t.col[a]] = b[a];
        f->se[t.col[a]] = sqrt(v[a * k + a]);
        for (size_t c = 0; c < k; c++)
            f->vcov[t.col[c] * d->p + t.col[a]] = v[c * k + a];
    }
    if (!rc) { /* the residuals stay with the fit (compare's Vuong test) */
        free(f->resid);
        f->resid = e;
        f->n_resid = t.nt;
        e = NULL;
    }
    free(b);
    free(ainv);
    free(v);
    free(e);
    tproblem_free(&t);
    return rc;
}
