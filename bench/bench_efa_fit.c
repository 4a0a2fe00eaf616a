/*
 * bench_efa_fit.c — the EFA model in process: efa_run (extraction,
 * rotation, psych's signs and order, fit statistics) on a correlation
 * matrix, without start-up, reading or writing.
 *
 *   bench_efa_fit [--repeats K] [--rows N] [--items P] [--factors M]
 *                 [--method minres|ml|pa] [--rotation NAME] [--cor FILE]
 *
 * Defaults: bfi's shape, 25 items x 2436 rows, 5 factors.  The data are
 * drawn once (fixed seed) from an M-factor model with 5-point answers and
 * their Pearson correlation is the input; or --cor reads a P x P matrix
 * (whitespace-separated numbers; P from their count) for N rows, so that
 * psych can be timed on the same matrix (bench/bench_efa_fit.sh).  For each method x rotation it
 * prints the median over K (default 200) runs of the CPU time of one
 * efa_run, and of the extraction alone (rotation none) — the rotation's
 * share is the difference.  Timings are printed, never asserted; compare
 * psych::fa on the same shape (bench/bench_efa.sh has the whole command).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "efa.h"

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Correlation of n rows from an m-factor model, 5-point items. */
static void simulated_correlation(size_t n, size_t p, size_t m, double *R)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261202);
    double *x = malloc(p * sizeof *x), *f = malloc(m * sizeof *f);
    double *s = calloc(p, sizeof *s), *ss = calloc(p * p, sizeof *ss);
    for (size_t r = 0; r < n; r++) {
        for (size_t g = 0; g < m; g++)
            f[g] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < p; i++) {
            double lam = 0.45 + 0.07 * (double)(i % 5);
            double v = lam * f[i % m] + 0.15 * f[(i + 1) % m] + gsl_ran_gaussian(rng, 0.75);
            x[i] = fmin(5, fmax(1, round(3 + 1.1 * v)));
        }
        for (size_t j = 0; j < p; j++) {
            s[j] += x[j];
            for (size_t i = 0; i <= j; i++)
                ss[j * p + i] += x[i] * x[j];
        }
    }
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++)
            R[j * p + i] = R[i * p + j] = ss[j * p + i] - s[i] * s[j] / (double)n;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            if (i != j)
                R[j * p + i] /= sqrt(R[i * p + i] * R[j * p + j]);
    for (size_t i = 0; i < p; i++)
        R[i * p + i] = 1;
    free(x), free(f), free(s), free(ss);
    gsl_rng_free(rng);
}

/* A square matrix of whitespace-separated numbers; *p its order. */
static double *read_matrix(const char *path, size_t *p)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return NULL;
    size_t n = 0, cap = 1024;
    double *v = malloc(cap * sizeof *v), x;
    while (v && fscanf(in, "%lf", &x) == 1) {
        if (n == cap) {
            double *w = realloc(v, 2 * cap * sizeof *v);
            if (!w) {
                free(v);
                v = NULL;
                break;
            }
            v = w, cap *= 2;
        }
        v[n++] = x;
    }
    fclose(in);
    size_t q = (size_t)llround(sqrt((double)n));
    if (!v || q * q != n || q < 3) {
        free(v);
        return NULL;
    }
    *p = q;
    return v;
}

static double median_fit(const double *R, size_t p, double n, efa_options opt, int reps,
                         int *status, int *iters)
{
    double *t = malloc((size_t)reps * sizeof *t);
    cx_error err = {0};
    efa_fit *f = efa_fit_alloc(p, opt.factors, &err);
    *status = 0;
    for (int r = 0; r < reps && f; r++) {
        double t0 = cpu_now();
        if (efa_run(R, p, n, &opt, f, &err) != CX_OK)
            *status = -1;
        t[r] = cpu_now() - t0;
        if (f->status != EFA_OK)
            *status = (int)f->status;
        *iters = f->iterations;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = t[reps / 2];
    efa_fit_free(f);
    free(t);
    return med;
}

int main(int argc, char **argv)
{
    int reps = 200;
    size_t n = 2436, p = 25, m = 5;
    const char *only = NULL, *only_rot = NULL, *cor = NULL;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--repeats") == 0)
            reps = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--rows") == 0)
            n = (size_t)atol(argv[a + 1]);
        else if (strcmp(argv[a], "--items") == 0)
            p = (size_t)atol(argv[a + 1]);
        else if (strcmp(argv[a], "--factors") == 0)
            m = (size_t)atol(argv[a + 1]);
        else if (strcmp(argv[a], "--method") == 0)
            only = argv[a + 1];
        else if (strcmp(argv[a], "--rotation") == 0)
            only_rot = argv[a + 1];
        else if (strcmp(argv[a], "--cor") == 0)
            cor = argv[a + 1];
    }
    double *R = NULL;
    if (cor && !(R = read_matrix(cor, &p))) {
        fprintf(stderr, "bench_efa_fit: cannot read a square matrix from %s\n", cor);
        return 2;
    }
    if (reps < 1 || p < 3 || m < 1 || m >= p) {
        fprintf(stderr, "bench_efa_fit: bad arguments\n");
        free(R);
        return 2;
    }
    if (!R) {
        R = malloc(p * p * sizeof *R);
        simulated_correlation(n, p, m, R);
    }
    static const char *const methods[] = {"minres", "ml", "pa"};
    static const char *const rots[] = {"none",    "varimax",   "quartimax", "promax",
                                       "oblimin", "quartimin", "geomin"};
    printf("p = %zu items, %zu rows, %zu factors, median CPU of %d runs (ms)\n", p, n, m, reps);
    printf("%-8s %-10s %10s %12s %10s %10s\n", "method", "rotation", "efa_run", "extraction",
           "status", "iters");
    for (int me = 0; me < 3; me++) {
        if (only && strcmp(only, methods[me]) != 0)
            continue;
        efa_options none = {(efa_method)me, EFA_ROT_NONE, m, 1, 10};
        int st, it;
        double ext = median_fit(R, p, (double)n, none, reps, &st, &it);
        for (int ro = 0; ro < 7; ro++) {
            if (only_rot && strcmp(only_rot, rots[ro]) != 0)
                continue;
            efa_options opt = {(efa_method)me, (efa_rotation)ro, m, 1, 10};
            double t = median_fit(R, p, (double)n, opt, reps, &st, &it);
            printf("%-8s %-10s %10.3f %12.3f %10d %10d\n", methods[me], rots[ro], 1e3 * t,
                   1e3 * ext, st, it);
        }
    }
    free(R);
    return 0;
}
