/*
 * bench_cov.c — throughput of the streaming covariance pass
 * (cx_stats_compute) against a naive single-pass loop.
 *
 *   bench_cov [ROWS [COLS [REPEATS]]]      defaults: 2000000 20 5
 *
 * Builds a ROWS x COLS in-memory table (float64 columns, mean 1e3, one
 * common factor), then times, median of REPEATS runs:
 *   - cx_stats_compute with 1 thread and with every core (OpenMP threads
 *     over row blocks, DSYRK on centred chunks, deterministic merge);
 *   - a naive loop: raw sums and cross-products in one pass, one thread
 *     (what "just accumulate X'X" costs, and how many digits it loses).
 * Prints rows/s and GB/s of column data (ROWS * COLS * 8 bytes) and the
 * largest relative difference of each covariance from the threaded one.
 * Timings are reported, never asserted.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "view.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ull;

static double uniform01(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double normal01(void)
{
    return sqrt(-2.0 * log(uniform01() + 1e-300)) * cos(6.283185307179586 * uniform01());
}

/* Column-major data with mean 1e3 and a common factor. */
static double *make_data(size_t n, size_t p)
{
    double *x = malloc(n * p * sizeof *x);
    if (!x)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        double f = normal01();
        for (size_t j = 0; j < p; j++)
            x[i + j * n] = 1e3 + (double)j + 0.6 * f + normal01();
    }
    return x;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int k)
{
    qsort(t, (size_t)k, sizeof *t, compare_doubles);
    return k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
}

/* Naive one-pass covariance: sum x and sum x x', then subtract. */
static void naive_covariance(const double *x, size_t n, size_t p, double *cov)
{
    double *s = calloc(p, sizeof *s), *sxx = calloc(p * p, sizeof *sxx);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double xj = x[i + j * n];
            s[j] += xj;
            for (size_t k = 0; k <= j; k++)
                sxx[k + j * p] += xj * x[i + k * n];
        }
    for (size_t j = 0; j < p; j++)
        for (size_t k = 0; k <= j; k++) {
            double c = (sxx[k + j * p] - s[j] * s[k] / (double)n) / (double)(n - 1);
            cov[k + j * p] = cov[j + k * p] = c;
        }
    free(s);
    free(sxx);
}

static double max_rel_diff(const double *a, const double *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fabs(b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

typedef struct bench_row {
    const char *name;
    int threads;
    double seconds;
    double rel_diff;
} bench_row;

/* Median time of cx_stats_compute with `threads`; its covariance in cov. */
static int time_stats(const cx_view *v, const int *cols, size_t p, int threads, int repeats,
                      double *cov, double *seconds)
{
    double *t = malloc((size_t)repeats * sizeof *t);
    cx_error err = {0};
    omp_set_num_threads(threads);
    for (int r = 0; r < repeats; r++) {
        cx_moments *m;
        double t0 = omp_get_wtime();
        if (cx_stats_compute(v, cols, p, -1, CX_MISSING_LISTWISE, &m, &err) != CX_OK) {
            fprintf(stderr, "bench_cov: %s\n", err.msg);
            free(t);
            return 1;
        }
        t[r] = omp_get_wtime() - t0;
        cx_moments_covariance(m, 1.0, cov);
        cx_moments_free(m);
    }
    *seconds = median(t, repeats);
    free(t);
    return 0;
}

static void print_table(const bench_row *rows, size_t nrows, size_t n, size_t p)
{
    double bytes = (double)n * (double)p * 8.0;
    printf("\n%zu rows x %zu columns (%.0f MB of float64), median of runs\n", n, p, bytes / 1e6);
    printf("%-28s %7s %10s %12s %9s %14s\n", "method", "threads", "seconds", "rows/s", "GB/s",
           "max rel diff");
    for (size_t i = 0; i < nrows; i++)
        printf("%-28s %7d %10.4f %12.3e %9.2f %14.2e\n", rows[i].name, rows[i].threads,
               rows[i].seconds, (double)n / rows[i].seconds, bytes / rows[i].seconds / 1e9,
               rows[i].rel_diff);
    printf("(max rel diff: against cx_stats_compute with all threads)\n");
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    size_t p = argc > 2 ? strtoull(argv[2], NULL, 10) : 20;
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    if (n < 2 || p < 1 || p > 1000 || repeats < 1) {
        fprintf(stderr, "usage: bench_cov [ROWS>=2 [COLS 1..1000 [REPEATS>=1]]]\n");
        return 2;
    }
    int all = omp_get_num_procs();
    cx_error err = {0};
    double *x = make_data(n, p);
    cx_table *t = x ? cx_table_memory_alloc("mem:/bench", n, &err) : NULL;
    int *cols = malloc(p * sizeof *cols);
    if (!t || !cols) {
        fprintf(stderr, "bench_cov: out of memory for %zu x %zu\n", n, p);
        return 1;
    }
    for (size_t j = 0; j < p; j++) {
        char name[32];
        snprintf(name, sizeof name, "x%zu", j + 1);
        cols[j] = (int)j;
        if (cx_table_memory_add_column(t, name, CX_COL_FLOAT, x + j * n, NULL, 0, &err)) {
            fprintf(stderr, "bench_cov: %s\n", err.msg);
            return 1;
        }
    }
    cx_view v;
    cx_view_init(&v, t, NULL);
    double *ref = malloc(p * p * sizeof *ref), *cov = malloc(p * p * sizeof *cov);
    bench_row rows[3];
    size_t nrows = 0;
    if (time_stats(&v, cols, p, all, repeats, ref, &rows[1].seconds))
        return 1;
    rows[1] = (bench_row){"cx_stats_compute", all, rows[1].seconds, 0};
    if (time_stats(&v, cols, p, 1, repeats, cov, &rows[0].seconds))
        return 1;
    rows[0] = (bench_row){"cx_stats_compute", 1, rows[0].seconds, max_rel_diff(cov, ref, p * p)};
    nrows = 2;
    double *tn = malloc((size_t)repeats * sizeof *tn);
    for (int r = 0; r < repeats; r++) {
        double t0 = omp_get_wtime();
        naive_covariance(x, n, p, cov);
        tn[r] = omp_get_wtime() - t0;
    }
    rows[nrows++] = (bench_row){"naive one-pass X'X loop", 1, median(tn, repeats),
                                max_rel_diff(cov, ref, p * p)};
    print_table(rows, nrows, n, p);
    free(tn);
    free(ref);
    free(cov);
    free(cols);
    cx_view_free(&v);
    cx_table_close(t);
    free(x);
    return 0;
}
