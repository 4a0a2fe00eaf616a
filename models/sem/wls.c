/*
 * wls.c — see wls.h.  Estimation through engine/optimize.h (Gauss-Newton
 * curvature Delta' W Delta), then the sandwich, the test and lavaan's fit
 * measures for WLSMV from the same Delta, W and Gamma.
 */
#include "wls.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "../../engine/optimize.h"
#include "est_internal.h"
#include "matrices.h"

typedef struct wls {
    const sem_partable *pt;
    const sem_ord_stats *s;
    sem_model mod;
    size_t p, nth, npair, dim, q, qm; /* qm: parameters before thresholds */
    sem_target *t;                    /* per partable row                  */
    int *par;                         /* per row: parameter or -1          */
    int *resvar;                      /* per row: ordinal residual variance */
    double *sobs, *vd, *m, *delta, *dsig, *x;
    double n;
} wls;

static void wls_free(wls *w)
{
    sem_model_free(&w->mod);
    free(w->t);
    free(w->par);
    free(w->resvar);
    free(w->sobs);
    free(w->vd);
    free(w->m);
    free(w->delta);
    free(w->dsig);
    free(w->x);
}

/* Rows -> matrix targets and parameters; residual variances of the items
 * become computed values (delta parameterization). */
static int wls_map(wls *w, cx_error *err)
{
    const sem_partable *pt = w->pt;
    size_t nr = pt->n_rows;
    int *newid = cx_calloc(pt->n_free + 2, sizeof *newid, err);
    if (!newid)
        return CX_ENOMEM;
    for (size_t k = 0; k <= pt->n_free + 1; k++)
        newid[k] = -1;
    int rc = CX_OK;
    for (size_t r = 0; r < nr && rc == CX_OK; r++) {
        const sem_param *row = &pt->rows[r];
        w->par[r] = -1;
        if (row->op > SEM_OP_THRESHOLD || row->op == SEM_OP_THRESHOLD ||
            row->op == SEM_OP_INTERCEPT) {
            rc = cx_error_set(err, CX_EUSAGE,
                              "'%s %s %s' is not supported with ordered items yet (thresholds "
                              "are added by cxfit; no intercepts, := or constraints)",
                              row->lhs, sem_op_string(row->op), row->rhs);
            break;
        }
        rc = sem_model_target(&w->mod, row->lhs, row->op, row->rhs, row->group, &w->t[r], err);
        if (rc != CX_OK)
            break;
        int ov = sem_model_ov_index(&w->mod, row->lhs);
        w->resvar[r] = row->op == SEM_OP_COVARIANCE && ov >= 0 && strcmp(row->lhs, row->rhs) == 0;
        if (ov >= 0 && w->mod.ov_node[ov] >= 0)
            rc = cx_error_set(err, CX_EUSAGE,
                              "ordered item '%s' in a regression or covariance with a latent "
                              "variable is not supported yet",
                              row->lhs);
        if (row->free > 0 && !w->resvar[r]) {
            if (newid[row->free] < 0)
                newid[row->free] = (int)w->qm++;
            w->par[r] = newid[row->free];
        }
    }
    free(newid);
    return rc;
}

static int wls_setup(wls *w, const sem_partable *pt, const sem_ord_stats *s, cx_error *err)
{
    memset(w, 0, sizeof *w);
    w->pt = pt;
    w->s = s;
    if (pt->n_groups != 1)
        return cx_error_set(err, CX_EUSAGE, "ordered items: multi-group models are not supported yet");
    int rc = sem_model_init(&w->mod, pt, err);
    if (rc != CX_OK)
        return rc;
    w->p = w->mod.p;
    if (w->p != s->p)
        return cx_error_set(err, CX_EFAIL, "ordinal statistics do not match the model");
    w->nth = s->nth;
    w->npair = s->npair;
    w->dim = s->dim;
    w->n = s->n;
    size_t nr = pt->n_rows;
    w->t = cx_calloc(nr + 1, sizeof *w->t, err);
    w->par = cx_calloc(nr + 1, sizeof *w->par, err);
    w->resvar = cx_calloc(nr + 1, sizeof *w->resvar, err);
    if (!w->t || !w->par || !w->resvar)
        return CX_ENOMEM;
    if ((rc = wls_map(w, err)) != CX_OK)
        return rc;
    w->q = w->qm + w->nth;
    w->sobs = cx_calloc(w->dim, sizeof *w->sobs, err);
    w->vd = cx_calloc(w->dim, sizeof *w->vd, err);
    w->m = cx_calloc(w->dim, sizeof *w->m, err);
    w->delta = cx_calloc(w->dim * w->q + 1, sizeof *w->delta, err);
    w->dsig = cx_calloc(w->p * w->p, sizeof *w->dsig, err);
    w->x = cx_calloc(w->q + 1, sizeof *w->x, err);
    if (!w->sobs || !w->vd || !w->m || !w->delta || !w->dsig || !w->x)
        return CX_ENOMEM;
    memcpy(w->sobs, s->th, w->nth * sizeof(double));
    size_t k = 0;
    for (size_t j = 0; j + 1 < w->p; j++)
        for (size_t i = j + 1; i < w->p; i++, k++)
            w->sobs[w->nth + k] = s->rho[i * w->p + j];
    for (size_t d = 0; d < w->dim; d++) {
        double g = s->gamma[d * w->dim + d];
        if (!(g > 0) || !isfinite(g))
            return cx_error_set(err, CX_EFAIL, "the asymptotic variance of a sample statistic "
                                               "is not positive");
        w->vd[d] = 1.0 / g;
    }
    return CX_OK;
}

/* Matrices at x (residual variances of the items 0: Sigma's off-diagonal
 * does not depend on them) and the model moments m. */
static int wls_implied(wls *w, const double *x, cx_error *err)
{
    sem_model_clear(&w->mod);
    for (size_t r = 0; r < w->pt->n_rows; r++) {
        const sem_param *row = &w->pt->rows[r];
        double v = w->par[r] >= 0 ? x[w->par[r]]
                   : w->resvar[r] ? 0.0
                   : isfinite(row->fixed_value) ? row->fixed_value
                                                : 0.0;
        sem_model_set(&w->mod, &w->t[r], v);
    }
    int rc = sem_model_implied(&w->mod, err);
    if (rc != CX_OK)
        return rc;
    memcpy(w->m, x + w->qm, w->nth * sizeof(double));
    const double *sig = w->mod.grp[0].sigma;
    size_t k = 0;
    for (size_t j = 0; j + 1 < w->p; j++)
        for (size_t i = j + 1; i < w->p; i++, k++)
            w->m[w->nth + k] = sig[i * w->p + j];
    return CX_OK;
}

static double wls_c(const wls *w)
{
    return (w->n - 1.0) / w->n;
}

static int wls_value(const double *x, double *f, void *data, cx_error *err)
{
    wls *w = data;
    int rc = wls_implied(w, x, err);
    if (rc != CX_OK)
        return rc;
    double s = 0;
    for (size_t d = 0; d < w->dim; d++) {
        double r = w->sobs[d] - w->m[d];
        s += w->vd[d] * r * r;
    }
    *f = 0.5 * wls_c(w) * s;
    return CX_OK;
}

/* Delta = d m / d theta (dim x q, row-major) at the current matrices. */
static void wls_delta(wls *w)
{
    size_t q = w->q, p = w->p;
    memset(w->delta, 0, w->dim * q * sizeof(double));
    for (size_t k = 0; k < w->nth; k++)
        w->delta[k * q + w->qm + k] = 1.0;
    for (size_t r = 0; r < w->pt->n_rows; r++) {
        if (w->par[r] < 0)
            continue;
        memset(w->dsig, 0, p * p * sizeof(double));
        sem_model_add_derivative(&w->mod, &w->t[r], 1.0, w->dsig, NULL);
        size_t k = 0;
        for (size_t j = 0; j + 1 < p; j++)
            for (size_t i = j + 1; i < p; i++, k++)
                w->delta[(w->nth + k) * q + (size_t)w->par[r]] += w->dsig[i * p + j];
    }
}

static int wls_derivatives(const double *x, double *grad, double *curv, void *data, cx_error *err)
{
    (void)x;
    (void)err;
    wls *w = data;
    size_t q = w->q;
    wls_delta(w);
    double c = wls_c(w);
    memset(grad, 0, q * sizeof(double));
    memset(curv, 0, q * q * sizeof(double));
    for (size_t d = 0; d < w->dim; d++) {
        const double *row = w->delta + d * q;
        double r = w->sobs[d] - w->m[d];
        cblas_daxpy((int)q, -c * w->vd[d] * r, row, 1, grad, 1);
        cblas_dsyr(CblasRowMajor, CblasLower, (int)q, c * w->vd[d], row, 1, curv, (int)q);
    }
    return CX_OK;
}

/* ---- start values ------------------------------------------------------ */

/* Standardized loading of the marker (first indicator) of factor f from
 * the polychorics: lambda_m^2 = r_mj r_mk / r_jk averaged over pairs. */
static double marker_loading(const wls *w, const int *ind, size_t n)
{
    const double *R = w->s->rho;
    size_t p = w->p;
    if (n < 2)
        return 0.7;
    if (n == 2)
        return sqrt(fmin(0.9, fmax(0.1, fabs(R[(size_t)ind[0] * p + (size_t)ind[1]]))));
    double sum = 0;
    size_t cnt = 0;
    for (size_t a = 1; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            double rjk = R[(size_t)ind[a] * p + (size_t)ind[b]];
            if (fabs(rjk) > 0.05) {
                sum += R[(size_t)ind[0] * p + (size_t)ind[a]] * R[(size_t)ind[0] * p + (size_t)ind[b]] / rjk;
                cnt++;
            }
        }
    double l2 = cnt ? sum / (double)cnt : 0.5;
    return sqrt(fmin(0.9, fmax(0.1, l2)));
}

static void wls_start(wls *w)
{
    const sem_partable *pt = w->pt;
    int *ind = calloc(w->p + 1, sizeof *ind);
    double *std = calloc(w->p + 1, sizeof *std);
    for (size_t r = 0; r < pt->n_rows; r++)
        if (w->par[r] >= 0)
            w->x[w->par[r]] = 0.0;
    for (size_t f = 0; ind && std && f < pt->n_lv; f++) {
        size_t n = 0;
        int marker_free = 0;
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            int ov = sem_model_ov_index(&w->mod, row->rhs);
            if (row->op == SEM_OP_LOADING && strcmp(row->lhs, pt->lv_names[f]) == 0 && ov >= 0) {
                if (n == 0)
                    marker_free = w->par[r] >= 0;
                ind[n++] = ov;
            }
        }
        if (n == 0)
            continue;
        double lm = marker_loading(w, ind, n);
        for (size_t a = 0; a < n; a++)
            std[a] = a == 0 ? lm : w->s->rho[(size_t)ind[0] * w->p + (size_t)ind[a]] / lm;
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            if (w->par[r] < 0)
                continue;
            if (row->op == SEM_OP_LOADING && strcmp(row->lhs, pt->lv_names[f]) == 0) {
                int ov = sem_model_ov_index(&w->mod, row->rhs);
                for (size_t a = 0; a < n; a++)
                    if (ind[a] == ov)
                        w->x[w->par[r]] = marker_free ? std[a] : std[a] / lm;
            }
            if (row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, pt->lv_names[f]) == 0 &&
                strcmp(row->rhs, row->lhs) == 0)
                w->x[w->par[r]] = marker_free ? 1.0 : lm * lm;
        }
    }
    memcpy(w->x + w->qm, w->s->th, w->nth * sizeof(double));
    free(ind);
    free(std);
}

/* ---- after the fit ------------------------------------------------------ */

/* Symmetric positive-definite inverse in place (n x n, row-major). */
static int spd_inverse(double *a, size_t n)
{
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0)
        return CX_EFAIL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            a[i * n + j] = a[j * n + i];
    return CX_OK;
}

typedef struct wls_test {
    double fmin, chisq, df, tr1, tr2;     /* model                      */
    double chisq_b, df_b, tr1_b, tr2_b;   /* baseline (independence)    */
} wls_test;

/* vcov (q x q) and the traces of U Gamma, from Delta at the estimate. */
static int wls_sandwich(wls *w, double *vcov, wls_test *t, cx_error *err)
{
    size_t q = w->q, D = w->dim;
    const double *G = w->s->gamma;
    double *E = cx_calloc(q * q, sizeof *E, err), *WD = cx_calloc(D * q, sizeof *WD, err);
    double *GWD = cx_calloc(D * q, sizeof *GWD, err), *B = cx_calloc(q * q, sizeof *B, err);
    double *U = cx_calloc(D * D, sizeof *U, err), *UG = cx_calloc(D * D, sizeof *UG, err);
    double *T1 = cx_calloc(D * q, sizeof *T1, err);
    int rc = E && WD && GWD && B && U && UG && T1 ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        for (size_t d = 0; d < D; d++)
            for (size_t j = 0; j < q; j++)
                WD[d * q + j] = w->vd[d] * w->delta[d * q + j];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q, (int)q, (int)D, 1.0,
                    w->delta, (int)q, WD, (int)q, 0.0, E, (int)q);
        if (spd_inverse(E, q) != CX_OK)
            rc = cx_error_set(err, CX_EFAIL, "the WLS information matrix is singular (is the "
                                             "model identified?)");
    }
    if (rc == CX_OK) {
        /* B = WD' Gamma WD;  vcov = E^-1 B E^-1 / (N - 1) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)D, (int)q, (int)D, 1.0, G,
                    (int)D, WD, (int)q, 0.0, GWD, (int)q);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q, (int)q, (int)D, 1.0, WD,
                    (int)q, GWD, (int)q, 0.0, B, (int)q);
        double *EB = T1; /* q x q scratch fits in D x q */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q, 1.0, E,
                    (int)q, B, (int)q, 0.0, EB, (int)q);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q,
                    1.0 / (w->n - 1.0), EB, (int)q, E, (int)q, 0.0, vcov, (int)q);
        /* U = W - WD E^-1 WD' */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)D, (int)q, (int)q, 1.0, WD,
                    (int)q, E, (int)q, 0.0, T1, (int)q);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)D, (int)D, (int)q, -1.0, T1,
                    (int)q, WD, (int)q, 0.0, U, (int)D);
        for (size_t d = 0; d < D; d++)
            U[d * D + d] += w->vd[d];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)D, (int)D, (int)D, 1.0, U,
                    (int)D, G, (int)D, 0.0, UG, (int)D);
        t->tr1 = t->tr2 = 0;
        for (size_t a = 0; a < D; a++) {
            t->tr1 += UG[a * D + a];
            for (size_t b = 0; b < D; b++)
                t->tr2 += UG[a * D + b] * UG[b * D + a];
        }
        /* baseline: thresholds saturated, correlations 0: U = [0 0; 0 W_c] */
        size_t o = w->nth;
        t->chisq_b = t->tr1_b = t->tr2_b = 0;
        for (size_t a = o; a < D; a++) {
            t->chisq_b += (w->n - 1.0) * w->vd[a] * w->sobs[a] * w->sobs[a];
            t->tr1_b += w->vd[a] * G[a * D + a];
            for (size_t b = o; b < D; b++)
                t->tr2_b += w->vd[a] * G[a * D + b] * w->vd[b] * G[b * D + a];
        }
        t->df_b = (double)w->npair;
    }
    free(E);
    free(WD);
    free(GWD);
    free(B);
    free(U);
    free(UG);
    free(T1);
    return rc;
}

/* ---- fit measures -------------------------------------------------------- */

static void put(sem_fit *f, const char *name, double v)
{
    sem_measure *m = realloc(f->measures, (f->n_measures + 1) * sizeof *m);
    if (!m)
        return;
    f->measures = m;
    snprintf(m[f->n_measures].name, SEM_MEASURE_NAME_MAX, "%s", name);
    m[f->n_measures++].value = v;
}

static double pchisq_upper(double x, double df)
{
    return df > 0 ? gsl_cdf_chisq_Q(x, df) : NAN;
}

/* lav_fit_cfi / tli / nnfi / rfi / nfi / pnfi / ifi / rni (c.hat = 1). */
static void incremental(sem_fit *f, const char *suffix, double x2, double df, double x2b,
                        double dfb, int others)
{
    char name[SEM_MEASURE_NAME_MAX];
    double t1 = fmax(x2 - df, 0), t2 = fmax(fmax(x2 - df, x2b - dfb), 0);
    double cfi = (fabs(t1) < 1e-8 && fabs(t2) < 1e-8) ? 1 : 1 - t1 / t2;
    double u1 = (x2 - df) * dfb, u2 = (x2b - dfb) * df;
    double tli = df > 0 && fabs(u2) > 0 ? 1 - u1 / u2 : 1;
    if (!others) {
        snprintf(name, sizeof name, "cfi%s", suffix), put(f, name, cfi);
        snprintf(name, sizeof name, "tli%s", suffix), put(f, name, tli);
        return;
    }
    double rfi = df > dfb ? NAN
                 : df > 0 && dfb > 0 ? ((x2b / dfb - x2 / df) < 0 ? 1 : (x2b / dfb - x2 / df) / (x2b / dfb))
                                     : 1;
    double nfi = df > dfb ? NAN : df > 0 ? (x2b - x2) / x2b : 1;
    double pnfi = dfb > 0 && x2b > 0 ? (df / dfb) * (x2b - x2) / x2b : NAN;
    double ifi = (x2b - df) < 0 ? 1 : (x2b - x2) / (x2b - df);
    double rni = 1 - (x2 - df) / (x2b - dfb);
    const char *names[] = {"nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"};
    const double v[] = {tli, rfi, nfi, pnfi, ifi, rni};
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof name, "%s%s", names[k], suffix);
        put(f, name, v[k]);
    }
}

/* lambda with pchisq(x2, df, lambda) = target, by bisection (lavaan's
 * uniroot, to a tighter tolerance). */
static double ncp_root(double x2, double df, double target, double hi)
{
    double lo = 0;
    for (int it = 0; it < 200 && hi - lo > 1e-12 * fmax(1, hi); it++) {
        double mid = 0.5 * (lo + hi);
        if (sem_pnchisq(x2, df, mid) - target > 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* lav_fit_rmsea, _ci, _closefit, _notclosefit with N = N - 1 (lavaan's
 * ntotal for non-ML estimators) and G = 1. */
static void rmsea(sem_fit *f, const char *suffix, double x2, double df, double n, int full)
{
    char name[SEM_MEASURE_NAME_MAX];
    double r = df > 0 ? sqrt(fmax(x2 / n / df - 1.0 / n, 0)) : 0;
    double lo = 0, hi = 0;
    if (df >= 1 && sem_pnchisq(x2, df, 0) - 0.95 >= 0)
        lo = sqrt(ncp_root(x2, df, 0.95, x2) / (n * df));
    double nr = fmax(n, 4 * x2);
    if (df >= 1 && !(sem_pnchisq(x2, df, nr) - 0.05 > 0) && !(sem_pnchisq(x2, df, 0) - 0.05 < 0))
        hi = sqrt(ncp_root(x2, df, 0.05, nr) / (n * df));
    snprintf(name, sizeof name, "rmsea%s", suffix), put(f, name, r);
    snprintf(name, sizeof name, "rmsea.ci.lower%s", suffix), put(f, name, lo);
    snprintf(name, sizeof name, "rmsea.ci.upper%s", suffix), put(f, name, hi);
    if (full)
        put(f, "rmsea.ci.level", 0.90);
    snprintf(name, sizeof name, "rmsea.pvalue%s", suffix);
    put(f, name, df > 0 ? 1 - sem_pnchisq(x2, df, n * df * 0.05 * 0.05) : NAN);
    if (full)
        put(f, "rmsea.close.h0", 0.05);
    snprintf(name, sizeof name, "rmsea.notclose.pvalue%s", suffix);
    put(f, name, df > 0 ? sem_pnchisq(x2, df, n * df * 0.08 * 0.08) : NAN);
    if (full)
        put(f, "rmsea.notclose.h0", 0.08);
}

static void wls_measures(const wls *w, const wls_test *t, sem_fit *f)
{
    double a = sqrt(t->df / t->tr2), shift = t->df - a * t->tr1;
    double xs = a * t->chisq + shift;
    double ab = sqrt(t->df_b / t->tr2_b), xbs = ab * t->chisq_b + t->df_b - ab * t->tr1_b;
    put(f, "npar", (double)w->q);
    put(f, "fmin", t->fmin);
    put(f, "chisq", t->chisq);
    put(f, "df", t->df);
    put(f, "pvalue", pchisq_upper(t->chisq, t->df));
    put(f, "chisq.scaled", xs);
    put(f, "df.scaled", t->df);
    put(f, "pvalue.scaled", pchisq_upper(xs, t->df));
    put(f, "chisq.scaling.factor", 1 / a);
    put(f, "baseline.chisq", t->chisq_b);
    put(f, "baseline.df", t->df_b);
    put(f, "baseline.pvalue", pchisq_upper(t->chisq_b, t->df_b));
    put(f, "baseline.chisq.scaled", xbs);
    put(f, "baseline.df.scaled", t->df_b);
    put(f, "baseline.pvalue.scaled", pchisq_upper(xbs, t->df_b));
    put(f, "baseline.chisq.scaling.factor", 1 / ab);
    incremental(f, "", t->chisq, t->df, t->chisq_b, t->df_b, 0);
    incremental(f, ".scaled", xs, t->df, xbs, t->df_b, 0);
    incremental(f, "", t->chisq, t->df, t->chisq_b, t->df_b, 1);
    incremental(f, ".scaled", xs, t->df, xbs, t->df_b, 1);
    double n = w->n - 1.0;
    rmsea(f, "", t->chisq, t->df, n, 1);
    /* scaled.shifted: rmsea.scaled is the scaled statistic on df */
    rmsea(f, ".scaled", xs, t->df, n, 0);
}

/* ---- the written rows ----------------------------------------------------- */

static int add_row(sem_wls_result *o, const char *lhs, const char *op, const char *rhs, double est,
                   double se, double std_lv, double std_all, cx_error *err)
{
    sem_wls_row *r = realloc(o->rows, (o->n_rows + 1) * sizeof *r);
    if (!r)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    o->rows = r;
    r += o->n_rows++;
    snprintf(r->lhs, sizeof r->lhs, "%s", lhs);
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->rhs, sizeof r->rhs, "%s", rhs);
    r->est = est, r->se = se, r->std_lv = std_lv, r->std_all = std_all;
    return CX_OK;
}

/* Implied SD of a node (latent: sqrt(V_ff)); 1 for observed (Sigma* has a
 * unit diagonal). */
static double node_sd(const wls *w, const char *name)
{
    int node = sem_model_node_index(&w->mod, name);
    if (node < 0 || sem_model_ov_index(&w->mod, name) >= 0)
        return 1.0;
    size_t M = w->mod.n_nodes;
    return sqrt(w->mod.grp[0].v[(size_t)node * M + (size_t)node]);
}

static int is_latent(const wls *w, const char *name)
{
    return sem_model_ov_index(&w->mod, name) < 0;
}

/* lavaan's std.lv and std.all of one partable row. */
static void standardize(const wls *w, const sem_param *row, double est, double *lv, double *all)
{
    double sl = node_sd(w, row->lhs), sr = row->rhs[0] ? node_sd(w, row->rhs) : 1.0;
    switch (row->op) {
    case SEM_OP_LOADING:
        *lv = *all = est * sl;
        break;
    case SEM_OP_REGRESSION:
        *lv = *all = est * sr / sl;
        break;
    case SEM_OP_COVARIANCE:
        if (is_latent(w, row->lhs) || is_latent(w, row->rhs)) {
            *lv = *all = est / (sl * sr);
        } else {
            *lv = est;
            *all = est; /* Sigma* has unit variances */
        }
        break;
    default:
        *lv = *all = est;
    }
}

static int wls_rows(wls *w, const double *vcov, sem_wls_result *o, cx_error *err)
{
    const sem_partable *pt = w->pt;
    const double *sig = w->mod.grp[0].sigma;
    int rc = CX_OK;
    /* =~ and ~ rows, thresholds, ~~ rows, ~*~, ~1: lavaan's order */
    for (int pass = 0; pass < 3 && rc == CX_OK; pass++) {
        if (pass == 1) {
            for (size_t i = 0; i < w->p && rc == CX_OK; i++)
                for (size_t k = 0; k + 1 < w->s->ncat[i] && rc == CX_OK; k++) {
                    size_t id = w->qm + w->s->th0[i] + k;
                    char t[32];
                    snprintf(t, sizeof t, "t%zu", k + 1);
                    rc = add_row(o, pt->ov_names[i], "|", t, w->x[id], sqrt(vcov[id * w->q + id]),
                                 w->x[id], w->x[id], err);
                }
            continue;
        }
        for (size_t r = 0; r < pt->n_rows && rc == CX_OK; r++) {
            const sem_param *row = &pt->rows[r];
            int first = row->op == SEM_OP_LOADING || row->op == SEM_OP_REGRESSION;
            if ((pass == 0) != first)
                continue;
            double est, se = 0;
            if (w->par[r] >= 0) {
                est = w->x[w->par[r]];
                se = sqrt(vcov[(size_t)w->par[r] * w->q + (size_t)w->par[r]]);
            } else if (w->resvar[r]) {
                int i = sem_model_ov_index(&w->mod, row->lhs);
                est = 1.0 - sig[(size_t)i * w->p + (size_t)i];
            } else {
                est = isfinite(row->fixed_value) ? row->fixed_value : 0.0;
            }
            double lv, all;
            standardize(w, row, est, &lv, &all);
            rc = add_row(o, row->lhs, sem_op_string(row->op), row->rhs, est, se, lv, all, err);
        }
    }
    for (size_t i = 0; i < w->p && rc == CX_OK; i++)
        rc = add_row(o, pt->ov_names[i], "~*~", pt->ov_names[i], 1, 0, 1, 1, err);
    for (size_t i = 0; i < w->p && rc == CX_OK; i++)
        rc = add_row(o, pt->ov_names[i], "~1", "", 0, 0, 0, 0, err);
    for (size_t f = 0; f < pt->n_lv && rc == CX_OK; f++)
        rc = add_row(o, pt->lv_names[f], "~1", "", 0, 0, 0, 0, err);
    return rc;
}

/* R^2 of every item (1 - residual variance) and endogenous latent. */
static int wls_r2(const wls *w, sem_fit *f)
{
    size_t n = w->p + w->pt->n_lv;
    f->r2_names = calloc(n + 1, sizeof *f->r2_names);
    f->r2_group = calloc(n + 1, sizeof *f->r2_group);
    f->r2 = calloc(n + 1, sizeof *f->r2);
    if (!f->r2_names || !f->r2_group || !f->r2)
        return CX_ENOMEM;
    const double *sig = w->mod.grp[0].sigma;
    for (size_t i = 0; i < w->p; i++) {
        snprintf(f->r2_names[f->n_r2], SEM_NAME_MAX, "%s", w->pt->ov_names[i]);
        f->r2[f->n_r2++] = sig[i * w->p + i];
    }
    /* an endogenous latent: 1 - psi_ff / V_ff */
    size_t M = w->mod.n_nodes;
    for (size_t r = 0; r < w->pt->n_rows; r++) {
        const sem_param *row = &w->pt->rows[r];
        if (row->op != SEM_OP_REGRESSION || !is_latent(w, row->lhs))
            continue;
        int node = sem_model_node_index(&w->mod, row->lhs), seen = 0;
        for (size_t k = w->p; k < f->n_r2; k++)
            seen |= strcmp(f->r2_names[k], row->lhs) == 0;
        if (seen || node < 0)
            continue;
        size_t a = (size_t)node;
        snprintf(f->r2_names[f->n_r2], SEM_NAME_MAX, "%s", row->lhs);
        f->r2[f->n_r2++] = 1 - w->mod.grp[0].psi[a * M + a] / w->mod.grp[0].v[a * M + a];
    }
    return CX_OK;
}

void sem_wls_result_clear(sem_wls_result *r)
{
    free(r->rows);
    sem_fit_free(r->fit);
    memset(r, 0, sizeof *r);
}

int sem_wls_fit(const sem_partable *pt, const sem_ord_stats *s, int max_iter,
                sem_wls_result *out, cx_error *err)
{
    memset(out, 0, sizeof *out);
    wls w;
    int rc = wls_setup(&w, pt, s, err);
    double *vcov = NULL;
    cx_optimizer *opt = NULL;
    out->fit = sem_fit_alloc();
    if (rc == CX_OK && !out->fit)
        rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK) {
        wls_start(&w);
        opt = cx_optimizer_alloc(w.q, err);
        vcov = cx_calloc(w.q * w.q + 1, sizeof *vcov, err);
        rc = opt && vcov ? CX_OK : CX_ENOMEM;
    }
    cx_opt_report rep = {0};
    if (rc == CX_OK) {
        cx_objective obj = {w.q, CX_OPT_MINIMIZE, wls_value, wls_derivatives, &w};
        cx_opt_options o = {.max_iter = max_iter > 0 ? max_iter : 1000, .gtol = 1e-10};
        cx_opt_status st = cx_optimizer_run(opt, &obj, w.x, &o, &rep, err);
        if (st == CX_OPT_EVAL_FAILED)
            rc = err->code ? err->code : CX_EFAIL;
        out->fit->converged = st == CX_OPT_CONVERGED;
        out->fit->iterations = rep.iterations;
        if (!out->fit->converged)
            sem_fit_warn(out->fit, "the DWLS fit did not converge (%s)", cx_opt_status_text(st));
    }
    wls_test t = {0};
    if (rc == CX_OK) {
        /* the optimizer's last calls were at w.x: matrices and m are current */
        double f;
        rc = wls_value(w.x, &f, &w, err);
        wls_delta(&w);
        t.fmin = f;
        t.chisq = 2.0 * w.n * f;
        t.df = (double)w.dim - (double)w.q;
        out->fit->fmin = f;
    }
    if (rc == CX_OK)
        rc = wls_sandwich(&w, vcov, &t, err);
    if (rc == CX_OK) {
        wls_measures(&w, &t, out->fit);
        rc = wls_rows(&w, vcov, out, err);
    }
    if (rc == CX_OK)
        rc = wls_r2(&w, out->fit) == CX_OK ? CX_OK : cx_error_set(err, CX_ENOMEM, "out of memory");
    for (size_t r = 0; rc == CX_OK && r < pt->n_rows; r++)
        if (w.resvar[r]) {
            int i = sem_model_ov_index(&w.mod, pt->rows[r].lhs);
            if (1.0 - w.mod.grp[0].sigma[(size_t)i * w.p + (size_t)i] < 0)
                sem_fit_warn(out->fit, "Heywood case: the residual variance of '%s' is negative",
                             pt->rows[r].lhs);
        }
    cx_optimizer_free(opt);
    free(vcov);
    wls_free(&w);
    return rc;
}
