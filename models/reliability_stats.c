/*
 * reliability_stats.c — the statistics of `model = reliability` from one
 * scale's covariance matrix, as psych::alpha (psych 2.2.9) computes them.
 *
 * Everything here is a function of the item covariance matrix C (divisor
 * N - 1) and of the scale's N: raw alpha k/(k-1) (1 - tr C / sum C),
 * standardized alpha from R = cov2cor(C), Guttman's lambda 6 from the
 * squared multiple correlations (psych's smc: 1 - 1/diag(pinv(R)),
 * clamped to [0, 1]), the average / median / variance of the inter-item
 * correlations, the signal/noise ratio, psych's asymptotic variance Q of
 * alpha, and per item the same statistics with the item left out, plus
 * the corrected item-total correlation r.drop, std.r and r.cor.
 */
#include "reliability_stats.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Squared multiple correlations of correlation matrix R (k x k) as psych's
 * smc: 1 - 1/diag(R+), R+ the SVD pseudo-inverse with psych's tolerance
 * sqrt(eps) * the largest singular value; clamped to [0, 1].  `work` holds
 * k*k + k doubles. */
int rel_smc(const double *R, size_t k, double *smc, double *work)
{
    double *V = work, *lambda = work + k * k;
    memcpy(V, R, k * k * sizeof *V);
    if (LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)k, V, (lapack_int)k, lambda))
        return -1;
    double top = 0;
    for (size_t j = 0; j < k; j++)
        top = fabs(lambda[j]) > top ? fabs(lambda[j]) : top;
    double tol = sqrt(2.220446049250313e-16) * top;
    for (size_t i = 0; i < k; i++) {
        double d = 0;
        for (size_t j = 0; j < k; j++)
            if (fabs(lambda[j]) > tol)
                d += V[j * k + i] * V[j * k + i] / lambda[j];
        double s = 1 - 1 / d;
        smc[i] = s > 1 ? 1 : s < 0 ? 0 : s;
    }
    return 0;
}

/* psych's alpha.1 on C (k x k, k >= 2) for N rows; `work` holds
 * 2 k*k + 3 k doubles. */
int rel_alpha_of(const double *C, size_t k, double n, rel_alpha *out, double *work)
{
    double *R = work, *smc = work + k * k, *rest = smc + k;
    double sum_c = 0, tr_c = 0, tr_cc = 0, sum_cc = 0, sum_r = 0;
    for (size_t j = 0; j < k; j++) {
        double col = 0;
        for (size_t i = 0; i < k; i++) {
            double c = C[j * k + i];
            R[j * k + i] = c / sqrt(C[i * k + i] * C[j * k + j]);
            col += c;
            tr_cc += c * c;
            sum_r += R[j * k + i];
        }
        sum_c += col;
        sum_cc += col * col;
        tr_c += C[j * k + j];
    }
    double kk = (double)k;
    out->raw = (1 - tr_c / sum_c) * kk / (kk - 1);
    out->std = (1 - kk / sum_r) * kk / (kk - 1);
    if (rel_smc(R, k, smc, rest))
        return -1;
    double sum_smc = 0;
    for (size_t i = 0; i < k; i++)
        sum_smc += smc[i];
    out->g6 = 1 - (kk - sum_smc) / sum_r;
    out->av_r = (sum_r - kk) / (kk * (kk - 1));
    out->s_n = kk * out->av_r / (1 - out->av_r);
    out->q = 2 * kk * kk / ((kk - 1) * (kk - 1) * sum_c * sum_c * sum_c) *
             (sum_c * (tr_cc + tr_c * tr_c) - 2 * tr_c * sum_cc);
    out->ase = n > 0 ? sqrt(out->q / n) : NAN;
    /* the lower triangle of R: median and variance (divisor m - 1) */
    size_t m = 0;
    for (size_t j = 0; j < k; j++)
        for (size_t i = j + 1; i < k; i++)
            rest[m++] = R[j * k + i];
    qsort(rest, m, sizeof *rest, cmp_double);
    out->med_r = m % 2 ? rest[m / 2] : (rest[m / 2 - 1] + rest[m / 2]) / 2;
    double mean = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
        mean += rest[i] / (double)m;
    for (size_t i = 0; i < m; i++)
        ss += (rest[i] - mean) * (rest[i] - mean);
    out->var_r = m > 1 ? ss / (double)(m - 1) : NAN;
    return 0;
}

/* Alpha if item `drop` is deleted; k == 2 follows psych's special case
 * (the one remaining item: C12/C(other), r12, smc, r12, r12/(1-r12)). */
static int drop_item(const double *C, size_t k, size_t drop, double n, rel_alpha *out, double *work)
{
    if (k == 2) {
        size_t o = 1 - drop;
        double r = C[2] / sqrt(C[0] * C[3]);
        memset(out, 0, sizeof *out);
        out->raw = C[2] / C[o * 3];
        out->std = r;
        out->g6 = r * r; /* smc of two variables: r^2 */
        out->av_r = r;
        out->s_n = r / (1 - r);
        out->q = out->ase = NAN;
        out->var_r = 0;
        out->med_r = r;
        return 0;
    }
    double *sub = work;
    size_t m = k - 1, a = 0;
    for (size_t j = 0; j < k; j++) {
        if (j == drop)
            continue;
        size_t b = 0;
        for (size_t i = 0; i < k; i++)
            if (i != drop)
                sub[a * m + b++] = C[j * k + i];
        a++;
    }
    return rel_alpha_of(sub, m, n, out, work + m * m);
}

int rel_scale_stats(const double *C, size_t k, double n, rel_scale_result *s, double *work)
{
    if (rel_alpha_of(C, k, n, &s->total, work))
        return -1;
    /* R, smc: recomputed for the item statistics (rel_alpha_of's scratch) */
    double *R = work, *smc = work + k * k;
    double sum_r = 0, sum_c = 0;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < k; i++) {
            R[j * k + i] = C[j * k + i] / sqrt(C[i * k + i] * C[j * k + j]);
            sum_r += R[j * k + i];
            sum_c += C[j * k + i];
        }
    if (rel_smc(R, k, smc, smc + k))
        return -1;
    double sum_smc = 0;
    for (size_t i = 0; i < k; i++)
        sum_smc += smc[i];
    double sum_rc = sum_r - (double)k + sum_smc;
    for (size_t i = 0; i < k; i++) {
        double col_r = 0, col_c = 0;
        for (size_t j = 0; j < k; j++) {
            col_r += R[i * k + j];
            col_c += C[i * k + j];
        }
        double cii = C[i * k + i];
        s->item[i].std_r = col_r / sqrt(sum_r);
        s->item[i].r_cor = (col_r - 1 + smc[i]) / sqrt(sum_rc);
        s->item[i].r_drop = (col_c - cii) / sqrt(cii * (sum_c - 2 * col_c + cii));
    }
    for (size_t i = 0; i < k; i++)
        if (drop_item(C, k, i, n, &s->item[i].dropped, work))
            return -1;
    return 0;
}

size_t rel_work_size(size_t k)
{
    /* drop_item: (k-1)^2 + rel_alpha_of's 2 m^2 + 3 m; the top level 2 k^2 + 3 k */
    return 3 * k * k + 3 * k + 8;
}

static double f_cdf_minus_p(double x, void *data)
{
    const double *a = data; /* p, df1, df2 */
    return gsl_cdf_fdist_P(x, a[1], a[2]) - a[0];
}

/* Brent's root of P(F <= x) = p, bracketed by doubling from [0, 1]. */
static double f_quantile_by_root(double p, double df1, double df2)
{
    double a[3] = {p, df1, df2}, lo = 0, hi = 1;
    while (gsl_cdf_fdist_P(hi, df1, df2) < p && hi < 1e300)
        lo = hi, hi *= 2;
    gsl_function f = {f_cdf_minus_p, a};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s || gsl_root_fsolver_set(s, &f, lo, hi) != GSL_SUCCESS) {
        gsl_root_fsolver_free(s);
        return NAN;
    }
    double x = NAN;
    for (int it = 0; it < 200; it++) {
        if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
            break;
        x = gsl_root_fsolver_root(s);
        if (gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s), 0,
                                   4 * DBL_EPSILON) == GSL_SUCCESS)
            break;
    }
    gsl_root_fsolver_free(s);
    return x;
}

double rel_quantile_f(double p, double df1, double df2)
{
    if (!(p > 0 && p < 1 && df1 > 0 && df2 > 0))
        return NAN;
    /* Not gsl_cdf_fdist_Pinv: its beta inversion gives up (and GSL's
     * default handler aborts) at large df, e.g. df1 = 5999, df2 = 23996;
     * the CDF itself is accurate there, so its root is the quantile. */
    return f_quantile_by_root(p, df1, df2);
}

void rel_feldt(double alpha, double n, size_t k, double level, double *lower, double *upper,
               double (*qf)(double p, double df1, double df2))
{
    double a = 1 - level, df1 = n - 1, df2 = (n - 1) * ((double)k - 1);
    *upper = 1 - (1 - alpha) * qf(a / 2, df1, df2);
    *lower = 1 - (1 - alpha) * qf(1 - a / 2, df1, df2);
}
