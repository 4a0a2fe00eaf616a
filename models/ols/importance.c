/*
 * importance.c — key-driver importance from one correlation matrix of
 * [drivers, outcome] (importance.h).
 *
 *  - standardized betas b* = Rxx^-1 rxy, R^2 = rxy' b*;
 *  - Johnson's (2000) relative weights: with Rxx = V diag(l) V', the
 *    symmetric root L = V diag(sqrt l) V' maps the drivers to their
 *    closest orthogonal counterparts Z; beta = L^-1 rxy regresses y on Z;
 *    eps_j = sum_k L_jk^2 beta_k^2, summing to R^2;
 *  - LMG (Lindeman, Merenda and Gold; the Shapley value of R^2): the R^2
 *    of every subset S of drivers, R^2(S) = r_S' R_SS^-1 r_S (a Cholesky
 *    solve each, subsets in parallel with OpenMP), then
 *    lmg_j = sum over S without j of |S|! (k-|S|-1)! / k! (R^2(S+j) - R^2(S)),
 *    exact (2^k subsets), summing to R^2.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "importance.h"

/* R^2 of the subset coded by the bits of `mask` (work: k*k + k). */
static double subset_r2(const double *r, size_t k, unsigned long mask, double *work)
{
    size_t idx[IMP_MAX_DRIVERS], m = 0;
    for (size_t j = 0; j < k; j++)
        if (mask & (1UL << j))
            idx[m++] = j;
    if (m == 0)
        return 0;
    size_t k1 = k + 1;
    double *a = work, *b = work + m * m;
    for (size_t j = 0; j < m; j++) {
        for (size_t i = 0; i < m; i++)
            a[j * m + i] = r[idx[j] * k1 + idx[i]];
        b[j] = r[k * k1 + idx[j]];
    }
    if (LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', (lapack_int)m, 1, a, (lapack_int)m, b,
                      (lapack_int)m) != 0)
        return NAN;
    double r2 = 0;
    for (size_t j = 0; j < m; j++)
        r2 += b[j] * r[k * k1 + idx[j]];
    return r2;
}

static int lmg(const double *r, size_t k, double *out, cx_error *err)
{
    unsigned long n = 1UL << k;
    double *r2 = cx_malloc(n * sizeof *r2, err);
    double *wt = cx_malloc((k + 1) * sizeof *wt, err);
    if (!r2 || !wt) {
        free(r2);
        free(wt);
        return CX_ENOMEM;
    }
    int bad = 0;
#pragma omp parallel reduction(| : bad)
    {
        double *work = malloc((k * k + k) * sizeof *work);
        if (!work)
            bad = 1;
#pragma omp for schedule(static)
        for (long s = 0; s < (long)n; s++)
            r2[s] = work ? subset_r2(r, k, (unsigned long)s, work) : NAN;
        free(work);
    }
    /* |S|! (k-|S|-1)! / k! = 1 / (k C(k-1, |S|)) */
    for (size_t m = 0; m < k; m++) {
        double c = 1;
        for (size_t i = 0; i < m; i++)
            c = c * (double)(k - 1 - i) / (double)(i + 1);
        wt[m] = 1 / ((double)k * c);
    }
    for (size_t j = 0; j < k; j++)
        out[j] = 0;
    for (unsigned long s = 0; s < n; s++) {
        size_t m = (size_t)__builtin_popcountl(s);
        for (size_t j = 0; j < k; j++)
            if (!(s & (1UL << j)))
                out[j] += wt[m] * (r2[s | (1UL << j)] - r2[s]);
    }
    for (unsigned long s = 0; s < n; s++)
        if (isnan(r2[s]))
            bad = 1;
    free(r2);
    free(wt);
    return bad ? cx_error_set(err, CX_EFAIL,
                              "a subset of drivers has a singular correlation "
                              "matrix")
               : CX_OK;
}

static int johnson(const double *r, size_t k, double *out, cx_error *err)
{
    size_t k1 = k + 1;
    double *v = cx_malloc(k * k * sizeof *v, err), *l = cx_malloc(k * sizeof *l, err);
    double *root = cx_malloc(k * k * sizeof *root, err), *beta = cx_malloc(k * sizeof *beta, err);
    int rc = v && l && root && beta ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < k; i++)
                v[j * k + i] = r[j * k1 + i];
        if (LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)k, v, (lapack_int)k, l) != 0 ||
            l[0] <= 0)
            rc = cx_error_set(err, CX_EFAIL, "the drivers' correlation matrix is singular");
    }
    if (rc == CX_OK) {
        /* root = V diag(sqrt l) V'; beta = V diag(1/sqrt l) V' rxy */
        double *vr = out; /* V' rxy, scratch */
        for (size_t c = 0; c < k; c++) {
            double s = 0;
            for (size_t i = 0; i < k; i++)
                s += v[c * k + i] * r[k * k1 + i];
            vr[c] = s / sqrt(l[c]);
        }
        for (size_t i = 0; i < k; i++) {
            double s = 0;
            for (size_t c = 0; c < k; c++)
                s += v[c * k + i] * vr[c];
            beta[i] = s;
        }
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < k; i++) {
                double s = 0;
                for (size_t c = 0; c < k; c++)
                    s += v[c * k + i] * sqrt(l[c]) * v[c * k + j];
                root[j * k + i] = s;
            }
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t c = 0; c < k; c++)
                s += root[c * k + j] * root[c * k + j] * beta[c] * beta[c];
            out[j] = s;
        }
    }
    free(v);
    free(l);
    free(root);
    free(beta);
    return rc;
}

int imp_compute(const double *r, size_t k, imp_result *out, cx_error *err)
{
    if (k == 0 || k > IMP_MAX_DRIVERS)
        return cx_error_set(err, CX_EUSAGE, "drivers: %zu drivers; expected 1 to %d", k,
                            IMP_MAX_DRIVERS);
    size_t k1 = k + 1;
    double *a = cx_malloc(k * k * sizeof *a, err);
    if (!a)
        return CX_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < k; i++)
            a[j * k + i] = r[j * k1 + i];
        out->std_beta[j] = r[k * k1 + j];
    }
    int rc = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', (lapack_int)k, 1, a, (lapack_int)k, out->std_beta,
                           (lapack_int)k) == 0
                 ? CX_OK
                 : cx_error_set(err, CX_EFAIL, "the drivers' correlation matrix is singular");
    free(a);
    if (rc != CX_OK)
        return rc;
    out->r2 = 0;
    for (size_t j = 0; j < k; j++)
        out->r2 += out->std_beta[j] * r[k * k1 + j];
    rc = johnson(r, k, out->johnson, err);
    if (rc == CX_OK)
        rc = lmg(r, k, out->lmg, err);
    return rc;
}

int imp_correlation(const double *c, size_t p, double *r)
{
    /* c: (p+1) x (p+1) Z'WZ with Z = [1 x_1..x_k y], k = p - 1 */
    size_t p1 = p + 1, k = p - 1, k1 = k + 1;
    double sw = c[0];
    if (!(sw > 0))
        return CX_EFAIL;
    double *cov = malloc(k1 * k1 * sizeof *cov);
    if (!cov)
        return CX_ENOMEM;
    for (size_t j = 0; j < k1; j++)
        for (size_t i = 0; i <= j; i++) {
            size_t ci = i + 1, cj = j + 1;
            double v = c[cj * p1 + ci] - c[ci * p1 + 0] * c[cj * p1 + 0] / sw;
            cov[j * k1 + i] = cov[i * k1 + j] = v;
        }
    int rc = CX_OK;
    for (size_t j = 0; j < k1; j++)
        if (!(cov[j * k1 + j] > 0))
            rc = CX_EFAIL;
    for (size_t j = 0; rc == CX_OK && j < k1; j++)
        for (size_t i = 0; i < k1; i++)
            r[j * k1 + i] = cov[j * k1 + i] / sqrt(cov[i * k1 + i] * cov[j * k1 + j]);
    free(cov);
    return rc;
}
