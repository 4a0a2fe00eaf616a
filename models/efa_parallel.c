/*
 * efa_parallel.c — Horn's parallel analysis as psych::fa.parallel
 * (fa = "both", fm = "minres", n.iter = 20, quant = .95) computes it.
 *
 * Each iteration draws two data sets of the real one's size n x p:
 *   simulated: independent standard normal values (their correlation
 *              matrix drawn directly, see simulated_correlation);
 *   resampled: each column of the real data resampled independently with
 *              replacement (keeps the items' distributions, breaks their
 *              correlations).
 * Of each it keeps the eigenvalues of the correlation matrix (principal
 * components) and the reduced eigenvalues of a one-factor minres solution
 * (psych's fa values).  psych keeps as many factors as the data's fa values
 * exceed the 95% quantile of the resampled fa values (R's type 7
 * quantile), and as many components as the data's eigenvalues exceed the
 * resampled ones' 95% quantile.
 *
 * Iterations run in parallel (OpenMP); iteration i draws from its own
 * generator seeded from (seed, i), so results do not depend on the number
 * of threads.  The draws are cxfit's, not R's: results agree with
 * fa.parallel within Monte Carlo error, not digit for digit.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>

#include "efa.h"
#include "resample.h"
#include "stats.h"

void openblas_set_num_threads(int num_threads);

/* Correlation matrix (p x p, full) of the n x p column-major X; X is
 * centered in place.  0, or -1 when a column is constant. */
static int correlation(double *X, size_t n, size_t p, double *C)
{
    for (size_t j = 0; j < p; j++) {
        double *x = X + j * n, m = 0;
        for (size_t i = 0; i < n; i++)
            m += x[i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            x[i] -= m;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)p, (int)n, 1.0, X, (int)n, 0.0, C,
                (int)p);
    for (size_t j = 0; j < p; j++)
        if (!(C[j * p + j] > 0))
            return -1;
    for (size_t j = 0; j < p; j++)
        for (size_t i = j + 1; i < p; i++)
            C[i * p + j] = C[j * p + i] = C[j * p + i] / sqrt(C[i * p + i] * C[j * p + j]);
    for (size_t j = 0; j < p; j++)
        C[j * p + j] = 1;
    return 0;
}

/* PC and one-factor fa eigenvalues of X's correlations into pc, fa. */
static int values_of(double *X, size_t n, size_t p, double *C, double *pc, double *fa,
                     cx_error *err)
{
    if (correlation(X, n, p, C) != 0)
        return cx_error_set(err, CX_EFAIL, "parallel analysis: a drawn item was constant");
    int rc = efa_eigen(C, p, pc, NULL, err);
    return rc ? rc : efa_reduced_eigen(C, p, 1, EFA_MINRES, fa, err);
}

/* The correlation matrix of n x p independent standard normal values,
 * drawn without the values: their centred cross-product matrix is
 * Wishart(n - 1, I), which Bartlett's decomposition W = A A' draws from
 * p(p+1)/2 numbers (A lower triangular, A_ii^2 ~ chi-square(n - 1 - i),
 * A_ij ~ N(0, 1) below the diagonal).  The same distribution as
 * fa.parallel's cor(matrix(rnorm(n * p), n)), at O(p^3) instead of O(n p). */
static void simulated_correlation(gsl_rng *rng, size_t n, size_t p, double *A, double *C)
{
    memset(A, 0, p * p * sizeof *A);
    for (size_t j = 0; j < p; j++) {
        A[j * p + j] = sqrt(gsl_ran_chisq(rng, (double)(n - 1 - j)));
        for (size_t i = j + 1; i < p; i++)
            A[j * p + i] = gsl_ran_gaussian_ziggurat(rng, 1);
    }
    for (size_t j = 0; j < p; j++) /* C = A A' (lower triangles meet) */
        for (size_t i = j; i < p; i++) {
            double s = 0;
            for (size_t l = 0; l <= j; l++)
                s += A[l * p + i] * A[l * p + j];
            C[j * p + i] = C[i * p + j] = s;
        }
    for (size_t j = 0; j < p; j++)
        for (size_t i = j + 1; i < p; i++)
            C[i * p + j] = C[j * p + i] = C[j * p + i] / sqrt(C[i * p + i] * C[j * p + j]);
    for (size_t j = 0; j < p; j++)
        C[j * p + j] = 1;
}

/* Stream of column j's row draws in iteration it (apart from the
 * bootstrap's and folds' streams, which count up from 0). */
#define PARALLEL_STREAM (0x5041524CULL << 32)

/* Row i's draw for column j of iteration it: an index in [0, n) from the
 * counter-based generator of engine/resample.h (Lemire's multiply-shift). */
static inline size_t draw_row(uint64_t base, size_t i, size_t n)
{
    uint64_t u = cx_mix64(base ^ (uint64_t)i);
    return (size_t)(((unsigned __int128)u * n) >> 64);
}

static uint64_t column_base(unsigned long seed, int it, size_t p, size_t j)
{
    return cx_mix64(cx_mix64(seed) ^ (PARALLEL_STREAM + (uint64_t)it * p + j));
}

/* The data for the resampled draws: the complete rows column-major, and,
 * when every value is a small integer (Likert items), the same values as
 * int16 columns: a column of 100 000 int16s stays in the core's cache
 * while the random row draws read it (doubles do not: the draws were
 * cache misses), and X'X of the draws goes through the moments pass's
 * exact integer kernel (cx_tiny_cross) instead of DSYRK. */
typedef struct resample_data {
    const double *x;
    int16_t *x16; /* NULL: not all small integers */
    size_t n, p;
} resample_data;

static int16_t *tiny_copy(const double *x, size_t n, size_t p)
{
    int16_t *t = malloc((n ? n : 1) * p * sizeof *t);
    for (size_t i = 0; t && i < n * p; i++) {
        double v = x[i];
        if (!(v == rint(v) && fabs(v) <= CX_TINY_MAX)) {
            free(t);
            return NULL;
        }
        t[i] = (int16_t)v;
    }
    return t;
}

/* Correlation matrix C of iteration it's resampled data from the int16
 * columns, exactly: integer X'X and sums chunk by chunk (ws: p x
 * CX_TINY_CHUNK int16s; acc: 2 p^2 + 2 p doubles), then the centred
 * cross-products in double from the exact integer sums.  0, or -1 when a
 * drawn column is constant. */
static int resampled_tiny(const resample_data *d, unsigned long seed, int it, int16_t *ws,
                          double *acc, double *C)
{
    size_t n = d->n, p = d->p;
    double *xx = acc, *s = xx + p * p, *c = s + p, *sum = c + p * p;
    memset(xx, 0, (p * p + p) * sizeof *xx);
    for (size_t r0 = 0; r0 < n; r0 += CX_TINY_CHUNK) {
        size_t rows = n - r0 < CX_TINY_CHUNK ? n - r0 : CX_TINY_CHUNK;
        for (size_t j = 0; j < p; j++) {
            uint64_t base = column_base(seed, it, p, j);
            const int16_t *col = d->x16 + j * n;
            int16_t *z = ws + j * CX_TINY_CHUNK;
            for (size_t i = 0; i < rows; i++)
                z[i] = col[draw_row(base, r0 + i, n)];
        }
        cx_tiny_cross(ws, rows, p, c, sum);
        for (size_t q = 0; q < p; q++) {
            s[q] += sum[q];
            for (size_t j = 0; j <= q; j++)
                xx[j + q * p] += c[j + q * p]; /* integers below 2^53: exact */
        }
    }
    double dn = (double)n;
    for (size_t q = 0; q < p; q++)
        for (size_t j = 0; j <= q; j++)
            C[j + q * p] = C[q + j * p] = xx[j + q * p] - s[j] * s[q] / dn;
    for (size_t j = 0; j < p; j++)
        if (!(C[j * p + j] > 0))
            return -1;
    for (size_t j = 0; j < p; j++)
        for (size_t i = j + 1; i < p; i++)
            C[i * p + j] = C[j * p + i] = C[j * p + i] / sqrt(C[i * p + i] * C[j * p + j]);
    for (size_t j = 0; j < p; j++)
        C[j * p + j] = 1;
    return 0;
}

/* Per-thread workspace of the iterations. */
typedef struct iter_ws {
    double *X;  /* resampled doubles (n x p), or Bartlett's A (p x p) */
    double *C;  /* p x p */
    int16_t *z; /* p x CX_TINY_CHUNK */
    double *acc;
} iter_ws;

static int iteration(const resample_data *d, size_t n, size_t p, unsigned long seed, int it,
                     iter_ws *w, double *vals, cx_error *err)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    gsl_rng_set(rng, (unsigned long)cx_mix64((uint64_t)seed * 0x9E3779B97F4A7C15ull + (uint64_t)it));
    simulated_correlation(rng, n, p, w->X, w->C);
    int rc = efa_eigen(w->C, p, vals, NULL, err);
    if (rc == CX_OK)
        rc = efa_reduced_eigen(w->C, p, 1, EFA_MINRES, vals + p, err);
    gsl_rng_free(rng);
    if (rc == CX_OK && d && d->x16) {
        if (resampled_tiny(d, seed, it, w->z, w->acc, w->C) != 0)
            return cx_error_set(err, CX_EFAIL, "parallel analysis: a drawn item was constant");
        rc = efa_eigen(w->C, p, vals + 2 * p, NULL, err);
        if (rc == CX_OK)
            rc = efa_reduced_eigen(w->C, p, 1, EFA_MINRES, vals + 3 * p, err);
    } else if (rc == CX_OK && d) {
        /* each column resampled with replacement, as doubles */
        for (size_t j = 0; j < p; j++) {
            uint64_t base = column_base(seed, it, p, j);
            const double *col = d->x + j * n;
            double *x = w->X + j * n;
            for (size_t i = 0; i < n; i++)
                x[i] = col[draw_row(base, i, n)];
        }
        rc = values_of(w->X, n, p, w->C, vals + 2 * p, vals + 3 * p, err);
    }
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile(x, q, type = 7) of v[0..m-1] (sorted in place). */
static double quantile7(double *v, size_t m, double q)
{
    qsort(v, m, sizeof *v, cmp_double);
    double h = (double)(m - 1) * q;
    size_t lo = (size_t)floor(h);
    return lo + 1 < m ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]) : v[lo];
}

int efa_parallel(const double *data, size_t n, size_t p, int n_iter, unsigned long seed,
                 int threads, efa_parallel_out *out, cx_error *err)
{
    size_t nv = 4 * p; /* pc sim, fa sim, pc resampled, fa resampled */
    double *all = cx_malloc((size_t)n_iter * nv * sizeof *all, err);
    if (!all)
        return CX_ENOMEM;
    resample_data rd = {data, data ? tiny_copy(data, n, p) : NULL, n, p};
    const resample_data *d = data ? &rd : NULL;
    int rc = CX_OK, nt = threads > 0 ? threads : omp_get_max_threads();
    if (nt > n_iter)
        nt = n_iter;
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
    {
        cx_error e = {0};
        /* resampled doubles, or Bartlett's A */
        size_t nx = data && !rd.x16 && n > p ? n * p : p * p;
        iter_ws w = {malloc(nx * sizeof *w.X), malloc(p * p * sizeof *w.C),
                     malloc(p * CX_TINY_CHUNK * sizeof *w.z),
                     malloc((2 * p * p + 2 * p) * sizeof *w.acc)};
        int trc = w.X && w.C && w.z && w.acc ? CX_OK : CX_ENOMEM;
#pragma omp for schedule(dynamic, 1)
        for (int it = 0; it < n_iter; it++)
            if (trc == CX_OK)
                trc = iteration(d, n, p, seed, it, &w, all + (size_t)it * nv, &e);
#pragma omp critical
        if (trc != CX_OK && rc == CX_OK) {
            rc = trc;
            if (e.code)
                *err = e;
            else
                cx_error_set(err, CX_ENOMEM, "out of memory in parallel analysis");
        }
        free(w.X), free(w.C), free(w.z), free(w.acc);
    }
    free(rd.x16);
    double *col = rc == CX_OK ? cx_malloc((size_t)n_iter * sizeof *col, err) : NULL;
    if (rc == CX_OK && !col)
        rc = CX_ENOMEM;
    for (size_t v = 0; rc == CX_OK && v < nv; v++) {
        double s = 0, s2 = 0;
        for (int it = 0; it < n_iter; it++) {
            double x = all[(size_t)it * nv + v];
            col[it] = x;
            s += x;
        }
        double mean = s / n_iter;
        for (int it = 0; it < n_iter; it++)
            s2 += (col[it] - mean) * (col[it] - mean);
        double sd = n_iter > 1 ? sqrt(s2 / (n_iter - 1)) : NAN;
        double q95 = quantile7(col, (size_t)n_iter, 0.95);
        size_t j = v % p, what = v / p;
        double *m[4] = {out->pc_sim, out->fa_sim, out->pc_resampled, out->fa_resampled};
        double *q[4] = {NULL, NULL, out->pc_resampled_q95, out->fa_resampled_q95};
        if (what == 0 && out->pc_sim_sd)
            out->pc_sim_sd[j] = sd;
        if (m[what] && (what < 2 || data))
            m[what][j] = mean;
        if (q[what] && data)
            q[what][j] = q95;
    }
    free(col);
    free(all);
    return rc;
}
