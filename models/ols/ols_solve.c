/*
 * ols_solve.c — one weighted least-squares fit from the cross-products
 * Z'WZ of Z = [X y], the way R's lm() reports it.
 *
 * Aliased columns (linear combinations of earlier ones, R's tolerance
 * 1e-7) are found by the design's helper and dropped, as lm's pivoting QR
 * does: their coefficients are NA (NaN here) and every other number is the
 * fit of the remaining columns.  The rest is a Cholesky factorisation of
 * the kept part of Z'WZ with y as the last column: its last diagonal
 * element squared is the residual sum of squares (no y'y - b'X'y
 * cancellation), the leading triangle gives beta and (X'WX)^-1.  The
 * matrix is equilibrated (unit diagonal) first, so columns of very
 * different scales (a count next to a share) cost no accuracy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "ols_internal.h"
#include "resample.h"

void ols_fit_clear(ols_fit *f)
{
    free(f->aliased);
    free(f->keep);
    free(f->beta);
    free(f->beta0);
    free(f->a);
    memset(f, 0, sizeof *f);
}

double ols_fit_rdf(const ols_fit *f)
{
    return f->npos - (double)f->q;
}

static int fit_alloc(ols_fit *f, size_t p, cx_error *err)
{
    memset(f, 0, sizeof *f);
    f->p = p;
    f->aliased = cx_calloc(p ? p : 1, sizeof *f->aliased, err);
    f->keep = cx_calloc(p ? p : 1, sizeof *f->keep, err);
    f->beta = cx_calloc(p ? p : 1, sizeof *f->beta, err);
    f->beta0 = cx_calloc(p ? p : 1, sizeof *f->beta0, err);
    f->a = cx_calloc(p > 0 ? p * p : 1, sizeof *f->a, err);
    if (f->aliased && f->keep && f->beta && f->beta0 && f->a)
        return CX_OK;
    ols_fit_clear(f);
    return CX_ENOMEM;
}

/* Element (i, j) of the symmetric (p+1) x (p+1) c (upper triangle). */
static double sym(const double *c, size_t ld, size_t i, size_t j)
{
    return i <= j ? c[j * ld + i] : c[i * ld + j];
}

/* The kept columns and y, equilibrated: m ((q+1) x (q+1)), scales d. */
static void kept_system(const ols_xp *xp, const ols_fit *f, double *m, double *d)
{
    size_t p1 = f->p + 1, q = f->q, q1 = q + 1;
    for (size_t i = 0; i < q1; i++) {
        size_t ci = i < q ? f->keep[i] : f->p;
        double v = sym(xp->c, p1, ci, ci);
        d[i] = v > 0 ? 1 / sqrt(v) : 1;
    }
    for (size_t j = 0; j < q1; j++)
        for (size_t i = 0; i < q1; i++) {
            size_t ci = i < q ? f->keep[i] : f->p, cj = j < q ? f->keep[j] : f->p;
            m[j * q1 + i] = sym(xp->c, p1, ci, cj) * d[i] * d[j];
        }
}

/* Cholesky of the kept system: beta, (X'WX)^-1 and the RSS. */
static int solve_kept(const ols_xp *xp, ols_fit *f, cx_error *err)
{
    size_t q = f->q, q1 = q + 1;
    double *m = cx_malloc(q1 * q1 * sizeof *m, err), *d = cx_malloc(q1 * sizeof *d, err);
    int rc = m && d ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        kept_system(xp, f, m, d);
        /* y last: when y is an exact combination the last pivot is 0 */
        lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)q, m, (lapack_int)q1);
        if (info != 0)
            rc = cx_error_set(err, CX_EFAIL,
                              "X'WX is not positive definite after dropping "
                              "aliased columns (column %d)",
                              (int)info);
    }
    if (rc == CX_OK) {
        /* R' r = X'Wy (scaled) gives r; residual^2 = yy - r'r */
        double *r = m + q * q1; /* column q, rows 0..q-1: X'Wy */
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)q, m, (int)q1, r, 1);
        double rr = 0;
        for (size_t i = 0; i < q; i++)
            rr += r[i] * r[i];
        double yy = m[q * q1 + q]; /* 1 after scaling, unless y'Wy = 0 */
        double rss = (yy - rr) / (d[q] * d[q]);
        f->rss = rss > 0 ? rss : 0;
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)q, m, (int)q1, r,
                    1);
        for (size_t j = 0; j < f->p; j++) {
            f->beta[j] = NAN;
            f->beta0[j] = 0;
        }
        for (size_t i = 0; i < q; i++) {
            f->beta[f->keep[i]] = f->beta0[f->keep[i]] = r[i] * d[i] / d[q];
        }
        LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)q, m, (lapack_int)q1);
        for (size_t j = 0; j < q; j++)
            for (size_t i = 0; i < q; i++)
                f->a[j * q + i] = (i <= j ? m[j * q1 + i] : m[i * q1 + j]) * d[i] * d[j];
    }
    free(m);
    free(d);
    return rc;
}

int ols_fit_xp(const ols_xp *xp, size_t p, const char *const *names, int intercept, ols_fit *f,
               cx_error *err)
{
    if (fit_alloc(f, p, err))
        return CX_ENOMEM;
    f->intercept = intercept;
    f->n = xp->n;
    f->npos = xp->npos;
    f->sw = xp->sw;
    f->slogw = xp->slogw;
    if (xp->npos <= 0 || xp->sw <= 0)
        return cx_error_set(err, CX_EFAIL, "no rows with a positive weight");
    size_t p1 = p + 1;
    double *xtx = cx_malloc(p * p * sizeof *xtx, err);
    if (!xtx)
        return CX_ENOMEM;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            xtx[j * p + i] = sym(xp->c, p1, i, j);
    long na =
        cx_design_aliased(xtx, p, names, 1e-7, f->aliased, f->alias_msg, sizeof f->alias_msg, err);
    free(xtx);
    if (na < 0)
        return err->code ? err->code : CX_EFAIL;
    for (size_t j = 0; j < p; j++)
        if (!f->aliased[j])
            f->keep[f->q++] = j;
    if (f->q == 0)
        return cx_error_set(err, CX_EFAIL, "every column of the design is aliased");
    double yy = xp->c[p * p1 + p];
    if (intercept) {
        double swy = xp->c[p * p1 + 0];
        f->ybar = swy / xp->sw;
        f->tss = yy - swy * f->ybar;
    } else {
        f->ybar = NAN;
        f->tss = yy;
    }
    return solve_kept(xp, f, err);
}

void ols_sandwich(const double *a, const double *m, size_t q, double *out)
{
    double *t = malloc(q * q * sizeof *t);
    if (!t) {
        for (size_t i = 0; i < q * q; i++)
            out[i] = NAN;
        return;
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q, 1.0, a, (int)q,
                m, (int)q, 0.0, t, (int)q);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q, 1.0, t, (int)q,
                a, (int)q, 0.0, out, (int)q);
    free(t);
}

uint64_t ols_cluster_key(double v)
{
    return cx_value_key(v);
}
