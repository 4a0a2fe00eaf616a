/*
 * bootci.c — see bootci.h.
 */
#include "bootci.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cx_boot_quantile(const double *x, size_t n, double alpha)
{
    if (n == 0)
        return NAN;
    double rk = ((double)n + 1) * alpha;
    double k = floor(rk);
    if (k == rk && k >= 1 && k <= (double)n)
        return x[(size_t)k - 1];
    if (k < 1)
        return x[0]; /* beyond the replicates: the extreme one, as boot */
    if (k >= (double)n)
        return x[n - 1];
    size_t kk = (size_t)k;
    double z = gsl_cdf_ugaussian_Pinv(alpha);
    double z1 = gsl_cdf_ugaussian_Pinv(k / ((double)n + 1));
    double z2 = gsl_cdf_ugaussian_Pinv((k + 1) / ((double)n + 1));
    return x[kk - 1] + (z - z1) / (z2 - z1) * (x[kk] - x[kk - 1]);
}

/* Summaries of one parameter's replicates t[0..n) (sorted here). */
void cx_boot_summarise(double *t, size_t n, double t0, double level, cx_boot_summary *s)
{
    double alpha = 1 - level, sum = 0, ss = 0, below = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i];
    s->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        ss += (t[i] - s->mean) * (t[i] - s->mean);
        below += t[i] < t0;
    }
    s->se = sqrt(ss / ((double)n - 1));
    qsort(t, n, sizeof *t, compare_doubles);
    s->perc[0] = cx_boot_quantile(t, n, alpha / 2);
    s->perc[1] = cx_boot_quantile(t, n, 1 - alpha / 2);
    double z = gsl_cdf_ugaussian_Pinv(1 - alpha / 2), bias = s->mean - t0;
    s->norm[0] = t0 - bias - z * s->se;
    s->norm[1] = t0 - bias + z * s->se;
    double w = gsl_cdf_ugaussian_Pinv(below / (double)n);
    if (!isfinite(w)) { /* every replicate on one side: no correction */
        s->bca[0] = s->perc[0];
        s->bca[1] = s->perc[1];
        return;
    }
    s->bca[0] = cx_boot_quantile(t, n, gsl_cdf_ugaussian_P(2 * w - z));
    s->bca[1] = cx_boot_quantile(t, n, gsl_cdf_ugaussian_P(2 * w + z));
}

