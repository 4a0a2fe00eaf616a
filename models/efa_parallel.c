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

#include "blas_threads.h"
#include "efa.h"
#include "resample.h"
#include "stats.h"

/* Scale the cross-product/covariance matrix C (p x p, column-major; its
 * lower triangle C[j * p + i], i > j, is read) to a full correlation
 * matrix in place; -1 when a column has no variance. */
static int scale_to_correlation(double *C, size_t p)
{
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
    return scale_to_correlation(C, p);
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

/* The data for the resampled draws.  Drawing a row uniformly and taking
 * its value draws from the column's empirical distribution, and so does
 * taking the value at the drawn position of the column SORTED: the draws
 * read sorted columns, which lets small-integer columns (Likert items) skip
 * the memory read altogether (the draws were cache misses): with levels
 * v_0 < .. < v_{c-1} and cum_t = #{values < v_t}, position r holds
 *   v_0 + sum_{t >= 1} [r >= cum_t] (v_t - v_{t-1}),
 * c - 1 comparisons.  Such columns become int16 and X'X of the draws goes
 * through the moments pass's exact integer kernel (cx_tiny_cross) instead
 * of DSYRK; other data are drawn from the sorted doubles. */
#define MAX_LEVELS 16

typedef struct level_table {
    int n_levels; /* 0: more than MAX_LEVELS, read sorted16 */
    int16_t step[MAX_LEVELS];
    /* r = floor(u n / 2^64) >= cum_t exactly when u >= ceil(cum_t 2^64 / n):
     * the level from the 64 random bits u without the 128-bit product */
    uint64_t at[MAX_LEVELS];
} level_table;

typedef struct resample_data {
    double *sorted;      /* n x p: each column sorted ascending      */
    int16_t *sorted16;   /* the same as int16, or NULL (not tiny)  */
    level_table *tables; /* p, with sorted16                  */
    size_t n, p;
} resample_data;

static int cmp_double(const void *a, const void *b);

/* Sorted columns and, for small integers, the int16 copies and level
 * tables (tables: p of them). */
static int resample_prepare(const double *x, size_t n, size_t p, double **sorted,
                            int16_t **sorted16, level_table **tables)
{
    *sorted16 = NULL;
    *tables = NULL;
    *sorted = malloc((n ? n : 1) * p * sizeof **sorted);
    if (!*sorted)
        return -1;
    int tiny = 1;
    for (size_t i = 0; i < n * p && tiny; i++)
        tiny = x[i] == rint(x[i]) && fabs(x[i]) <= CX_TINY_MAX;
    size_t *count = tiny ? calloc(2 * CX_TINY_MAX + 1, sizeof *count) : NULL;
    for (size_t j = 0; j < p; j++) {
        const double *col = x + j * n;
        double *c = *sorted + j * n;
        if (!count) {
            memcpy(c, col, n * sizeof *c);
            qsort(c, n, sizeof *c, cmp_double);
            continue;
        }
        /* small integers: counting sort */
        memset(count, 0, (2 * CX_TINY_MAX + 1) * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(int)col[i] + CX_TINY_MAX]++;
        size_t at = 0;
        for (int v = 0; v <= 2 * CX_TINY_MAX; v++)
            for (size_t r = 0; r < count[v]; r++)
                c[at++] = v - CX_TINY_MAX;
    }
    free(count);
    if (!tiny)
        return 0;
    *sorted16 = malloc((n ? n : 1) * p * sizeof **sorted16);
    *tables = calloc(p, sizeof **tables);
    if (!*sorted16 || !*tables) {
        free(*sorted16), free(*tables);
        *sorted16 = NULL, *tables = NULL;
        return 0; /* the double path */
    }
    for (size_t j = 0; j < p; j++) {
        const double *c = *sorted + j * n;
        level_table *t = *tables + j;
        for (size_t i = 0; i < n; i++) {
            (*sorted16)[j * n + i] = (int16_t)c[i];
            if (i == 0 || c[i] != c[i - 1]) {
                if (t->n_levels < MAX_LEVELS) {
                    unsigned __int128 num = (unsigned __int128)i << 64;
                    t->step[t->n_levels] = (int16_t)(i == 0 ? c[i] : c[i] - c[i - 1]);
                    t->at[t->n_levels] = (uint64_t)((num + n - 1) / n);
                }
                t->n_levels++;
            }
        }
        if (t->n_levels > MAX_LEVELS)
            t->n_levels = 0;
    }
    return 0;
}

/* The 64 random bits of draws r0 .. r0 + rows - 1 of a column (draw_row's
 * bits), in a loop of its own so that it vectorises. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#endif
static void
draw_bits(uint64_t base, size_t r0, size_t rows, uint64_t *u)
{
    for (size_t i = 0; i < rows; i++)
        u[i] = cx_mix64(base ^ (uint64_t)(r0 + i));
}

/* Iteration it's draws of column j, rows r0 .. r0 + rows - 1, as int16
 * (u: rows uint64s of scratch). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#endif
static void
draw_tiny(const int16_t *sorted, const level_table *t, uint64_t base, size_t n, size_t r0,
          size_t rows, uint64_t *u, int16_t *z)
{
    if (t->n_levels == 0) {
        for (size_t i = 0; i < rows; i++)
            z[i] = sorted[draw_row(base, r0 + i, n)];
        return;
    }
    draw_bits(base, r0, rows, u);
    for (size_t i = 0; i < rows; i++)
        z[i] = t->step[0];
    for (int l = 1; l < t->n_levels; l++) {
        uint64_t at = t->at[l];
        int16_t step = t->step[l];
        for (size_t i = 0; i < rows; i++)
            z[i] = (int16_t)(z[i] + (u[i] >= at ? step : 0));
    }
}

/* Correlation matrix C of iteration it's resampled data from the int16
 * columns, exactly: integer X'X and sums chunk by chunk (ws: p x
 * CX_TINY_CHUNK int16s; acc: 2 p^2 + 2 p doubles), then the centred
 * cross-products in double from the exact integer sums.  0, or -1 when a
 * drawn column is constant. */
static int resampled_tiny(const resample_data *d, unsigned long seed, int it, int16_t *ws,
                          uint64_t *bits, double *acc, double *C)
{
    size_t n = d->n, p = d->p;
    double *xx = acc, *s = xx + p * p, *c = s + p, *sum = c + p * p;
    memset(xx, 0, (p * p + p) * sizeof *xx);
    for (size_t r0 = 0; r0 < n; r0 += CX_TINY_CHUNK) {
        size_t rows = n - r0 < CX_TINY_CHUNK ? n - r0 : CX_TINY_CHUNK;
        for (size_t j = 0; j < p; j++)
            draw_tiny(d->sorted16 + j * n, d->tables + j, column_base(seed, it, p, j), n, r0, rows,
                      bits, ws + j * CX_TINY_CHUNK);
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
    return scale_to_correlation(C, p);
}

/* Per-thread workspace of the iterations. */
typedef struct iter_ws {
    double *X;      /* resampled doubles (n x p), or Bartlett's A (p x p) */
    double *C;      /* p x p */
    int16_t *z;     /* p x CX_TINY_CHUNK */
    uint64_t *bits; /* CX_TINY_CHUNK */
    double *acc;
} iter_ws;

static int iteration(const resample_data *d, size_t n, size_t p, unsigned long seed, int it,
                     iter_ws *w, double *vals, cx_error *err)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    gsl_rng_set(rng,
                (unsigned long)cx_mix64((uint64_t)seed * 0x9E3779B97F4A7C15ull + (uint64_t)it));
    simulated_correlation(rng, n, p, w->X, w->C);
    int rc = efa_eigen(w->C, p, vals, NULL, err);
    if (rc == CX_OK)
        rc = efa_reduced_eigen(w->C, p, 1, EFA_MINRES, vals + p, err);
    gsl_rng_free(rng);
    if (rc == CX_OK && d && d->sorted16) {
        if (resampled_tiny(d, seed, it, w->z, w->bits, w->acc, w->C) != 0)
            return cx_error_set(err, CX_EFAIL, "parallel analysis: a drawn item was constant");
        rc = efa_eigen(w->C, p, vals + 2 * p, NULL, err);
        if (rc == CX_OK)
            rc = efa_reduced_eigen(w->C, p, 1, EFA_MINRES, vals + 3 * p, err);
    } else if (rc == CX_OK && d) {
        /* each column resampled with replacement, as doubles */
        for (size_t j = 0; j < p; j++) {
            uint64_t base = column_base(seed, it, p, j);
            const double *col = d->sorted + j * n;
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
    resample_data rd = {NULL, NULL, NULL, n, p};
    if (data && resample_prepare(data, n, p, &rd.sorted, &rd.sorted16, &rd.tables) != 0) {
        free(all);
        return cx_error_set(err, CX_ENOMEM, "out of memory in parallel analysis");
    }
    const resample_data *d = data ? &rd : NULL;
    int rc = CX_OK, nt = threads > 0 ? threads : omp_get_max_threads();
    if (nt > n_iter)
        nt = n_iter;
    cx_blas_single_threaded();
#pragma omp parallel num_threads(nt)
    {
        cx_error e = {0};
        /* resampled doubles, or Bartlett's A */
        size_t nx = data && !rd.sorted16 && n > p ? n * p : p * p;
        iter_ws w = {malloc(nx * sizeof *w.X), malloc(p * p * sizeof *w.C),
                     malloc(p * CX_TINY_CHUNK * sizeof *w.z),
                     malloc(CX_TINY_CHUNK * sizeof *w.bits),
                     malloc((2 * p * p + 2 * p) * sizeof *w.acc)};
        int trc = w.X && w.C && w.z && w.bits && w.acc ? CX_OK : CX_ENOMEM;
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
        free(w.X), free(w.C), free(w.z), free(w.bits), free(w.acc);
    }
    free(rd.sorted), free(rd.sorted16), free(rd.tables);
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
