/*
 * bench_cov.c — covariance of 25 uint8 Likert columns read from HDF5:
 * what the statistics cost on top of reading the data.
 *
 *   bench_cov [--rows N] [--repeats K] [--threads 1,2] [--deflate L]
 *             [--missing F] [--dir D]
 *
 * Defaults: 20 000 000 rows, 5 repeats, 1 and 2 threads, the writer's
 * default compression (table_write.h), 0.1 % missing cells.  The table
 * (25 uint8 items 1..5 with `missing_value` 0, plus a uint8 frequency
 * weight `w` 1..4) is written once with engine/table_write.h — chunked and
 * filtered exactly as `cxfit import` writes it — to
 * $D/cxfit_bench_likert_N_dL.h5 (D = $BENCH_DIR, else /tmp) and reused
 * when present.  For each thread count it times, median of K runs:
 *   read       every block of the 25 items through cx_view_read_block in
 *              the pattern cx_stats_compute uses (OpenMP threads take
 *              blocks dynamically), summing the values so nothing is
 *              skipped: the floor the statistics stand on;
 *   stats      cx_stats_compute, listwise, unweighted;
 *   read+w     the same read with the weight column as well;
 *   stats+w    cx_stats_compute, listwise, weighted;
 *   naive      the read plus an uncentred X'X (DSYRK on each block's
 *              complete rows) and column sums: the raw-sums single pass.
 * rows/s counts table rows; GB/s counts the decoded data the pass
 * delivers, rows x columns x 8 bytes (the doubles the reader hands over,
 * not the bytes on disk).  overhead = time / read time - 1 (stats+w
 * against read+w).  Timings are printed, never asserted.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "stats.h"
#include "table_write.h"
#include "view.h"

#define N_ITEMS 25
#define MAX_RUNS 64
#define MAX_THREADS 16

typedef struct options {
    size_t rows;
    int repeats;
    int threads[MAX_THREADS], n_threads;
    int deflate;
    double missing;
    const char *dir;
} options;

/* ---- data ------------------------------------------------------------ */

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static unsigned long long rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static double uniform01(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* One factor model on a 1..5 scale: item = round(3 + 0.9 f + e), clamped;
 * f and e are sums of uniforms (close enough to normal, and fast). */
static void make_block(size_t n, double missing, int64_t *items, unsigned char *miss,
                       int64_t *weights)
{
    for (size_t i = 0; i < n; i++) {
        double f = (uniform01() + uniform01() + uniform01() - 1.5) * 2.0;
        for (size_t j = 0; j < N_ITEMS; j++) {
            double e = (uniform01() + uniform01() - 1.0) * 1.7;
            long v = lround(3.0 + 0.9 * f + e);
            v = v < 1 ? 1 : v > 5 ? 5 : v;
            items[j * n + i] = v;
            miss[j * n + i] = uniform01() < missing;
        }
        weights[i] = 1 + (int64_t)(rng_next() >> 62);
    }
}

static int write_columns(cx_table_writer *w, size_t rows, double missing, cx_error *err)
{
    const size_t block = 1 << 20;
    int64_t *items = malloc(block * N_ITEMS * sizeof *items);
    int64_t *weights = malloc(block * sizeof *weights);
    unsigned char *miss = malloc(block * N_ITEMS);
    int rc = items && weights && miss ? CX_OK : cx_error_set(err, CX_ENOMEM, "out of memory");
    for (size_t r0 = 0; rc == CX_OK && r0 < rows; r0 += block) {
        size_t n = rows - r0 < block ? rows - r0 : block;
        make_block(n, missing, items, miss, weights);
        for (size_t j = 0; rc == CX_OK && j < N_ITEMS; j++)
            rc = cx_table_writer_write_i64(w, j, r0, n, items + j * n, miss + j * n, err);
        if (rc == CX_OK)
            rc = cx_table_writer_write_i64(w, N_ITEMS, r0, n, weights, NULL, err);
    }
    free(items);
    free(miss);
    free(weights);
    return rc;
}

/* Write the table to a temporary name and rename it into place, so an
 * interrupted run never leaves a half-written file to be reused. */
static int write_table(const char *path, const options *o, cx_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    remove(tmp);
    cx_table_writer *w = cx_table_writer_alloc(tmp, "/data", o->rows, err);
    if (!w)
        return err->code;
    if (o->deflate >= 0)
        cx_table_writer_set_deflate(w, o->deflate);
    int rc = CX_OK;
    for (size_t j = 0; rc == CX_OK && j <= N_ITEMS; j++) {
        char name[16];
        snprintf(name, sizeof name, j < N_ITEMS ? "q%zu" : "w", j + 1);
        cx_column_spec s = {.name = name,
                            .kind = CX_COL_INT,
                            .bytes = 1,
                            .is_unsigned = 1,
                            .has_missing_value = j < N_ITEMS,
                            .missing_value = 0};
        rc = cx_table_writer_add(w, &s, NULL, err);
    }
    if (rc == CX_OK)
        rc = write_columns(w, o->rows, o->missing, err);
    if (rc != CX_OK) {
        cx_table_writer_abort(w);
        remove(tmp);
        return rc;
    }
    rc = cx_table_writer_close(w, err);
    if (rc == CX_OK && rename(tmp, path) != 0)
        rc = cx_error_set(err, CX_EIO, "%s: cannot rename to %s", tmp, path);
    return rc;
}

/* ---- timing helpers -------------------------------------------------- */

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

/* What one timed pass computes, to compare across methods and threads. */
typedef struct pass_result {
    double checksum;               /* read passes: sum of the values      */
    double cov[N_ITEMS * N_ITEMS]; /* stats passes: the covariance      */
} pass_result;

typedef enum pass_kind { PASS_READ, PASS_STATS, PASS_NAIVE } pass_kind;

/* Raw sums of one block's complete rows: s += X'1, sxx += X'X (upper). */
static void naive_block(double *x, size_t n, size_t p, double *s, double *sxx, double *cnt)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t j = 0; j < p; j++)
            ok &= !isnan(x[j * CX_BLOCK_ROWS + i]);
        if (!ok)
            continue;
        for (size_t j = 0; j < p; j++)
            x[j * CX_BLOCK_ROWS + k] = x[j * CX_BLOCK_ROWS + i];
        k++;
    }
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < k; i++)
            s[j] += x[j * CX_BLOCK_ROWS + i];
    if (k)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)p, (int)k, 1.0, x, CX_BLOCK_ROWS,
                    1.0, sxx, (int)p);
    *cnt += (double)k;
}

static void naive_covariance(const double *s, const double *sxx, double n, size_t p, double *cov)
{
    for (size_t j = 0; j < p; j++)
        for (size_t k = 0; k <= j; k++) {
            double c = (sxx[k + j * p] - s[j] * s[k] / n) / (n - 1);
            cov[k + j * p] = cov[j + k * p] = c;
        }
}

/* Sum of a block, in 8 independent lanes so it vectorises and costs a
 * fraction of the read it checks (a plain running sum is a serial
 * dependency chain, slower than the reading). */
static double touch(const double *x, size_t n, size_t ncols)
{
    double lane[8] = {0};
    for (size_t j = 0; j < ncols; j++) {
        const double *col = x + j * CX_BLOCK_ROWS;
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (size_t l = 0; l < 8; l++)
                lane[l] += col[i + l];
        for (; i < n; i++)
            lane[0] += col[i];
    }
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

/* Per-thread state of the read and naive passes. */
typedef struct reader {
    double *data, *scratch, s[N_ITEMS], sxx[N_ITEMS * N_ITEMS], cnt, sum;
} reader;

/* Every block through cx_view_read_block, threads taking blocks as
 * cx_stats_compute does; `naive` also accumulates raw sums. */
static int read_pass(const cx_view *v, const int *cols, size_t ncols, int naive, pass_result *res)
{
    size_t n_blocks = cx_view_n_blocks(v), p = naive ? N_ITEMS : ncols;
    double sum = 0, cnt = 0, s[N_ITEMS] = {0}, sxx[N_ITEMS * N_ITEMS] = {0};
    /* the kernels below use ld = CX_BLOCK_ROWS: bench tables are longer */
    int failed = cx_view_block_rows(v) != CX_BLOCK_ROWS;
    openblas_set_num_threads(1);
#pragma omp parallel reduction(+ : sum, cnt) reduction(| : failed)
    {
        reader r = {0};
        r.data = malloc(CX_BLOCK_ROWS * ncols * sizeof *r.data);
        r.scratch = malloc(CX_BLOCK_ROWS * cx_view_scratch_cols(v, ncols) * sizeof *r.scratch);
        cx_error err = {0};
        failed |= !r.data || !r.scratch;
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < n_blocks; b++) {
            long got =
                failed ? -1 : cx_view_read_block(v, b, cols, ncols, r.data, NULL, r.scratch, &err);
            failed |= got < 0;
            if (got <= 0)
                continue;
            if (naive)
                naive_block(r.data, (size_t)got, p, r.s, r.sxx, &r.cnt);
            else
                r.sum += touch(r.data, (size_t)got, ncols);
        }
        sum += r.sum;
        cnt += r.cnt;
#pragma omp critical(bench_merge)
        for (size_t j = 0; naive && j < p; j++) {
            s[j] += r.s[j];
            for (size_t k = 0; k < p; k++)
                sxx[k + j * p] += r.sxx[k + j * p];
        }
        free(r.data);
        free(r.scratch);
    }
    res->checksum = sum;
    if (naive)
        naive_covariance(s, sxx, cnt, p, res->cov);
    return failed;
}

static int stats_pass(const cx_view *v, const int *cols, int weight_col, pass_result *res)
{
    cx_moments *m = NULL;
    cx_error err = {0};
    if (cx_stats_compute(v, cols, N_ITEMS, weight_col, CX_MISSING_LISTWISE, &m, &err) != CX_OK) {
        fprintf(stderr, "bench_cov: %s\n", err.msg);
        return 1;
    }
    cx_moments_covariance(m, 1.0, res->cov);
    cx_moments_free(m);
    return 0;
}

/* ---- the table of results -------------------------------------------- */

typedef struct method {
    const char *name;
    pass_kind kind;
    int weighted; /* reads the weight column too                    */
    int baseline; /* index of the read method it is compared against */
} method;

static const method METHODS[] = {
    {"read", PASS_READ, 0, 0},   {"stats", PASS_STATS, 0, 0},   {"naive raw X'X", PASS_NAIVE, 0, 0},
    {"read+w", PASS_READ, 1, 3}, {"stats+w", PASS_STATS, 1, 3},
};
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])

static int run_method(const cx_view *v, const int *cols, const method *m, pass_result *res)
{
    size_t ncols = N_ITEMS + (size_t)m->weighted;
    switch (m->kind) {
    case PASS_READ:
        return read_pass(v, cols, ncols, 0, res);
    case PASS_NAIVE:
        return read_pass(v, cols, ncols, 1, res);
    default:
        return stats_pass(v, cols, m->weighted ? N_ITEMS : -1, res);
    }
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median wall and CPU seconds of `repeats` runs of method m with `threads`
 * threads.  CPU time (all threads, spinning included) is the steadier
 * figure on a shared machine. */
static int time_method(const cx_view *v, const int *cols, const method *m, int threads, int repeats,
                       pass_result *res, double *seconds, double *cpu)
{
    double t[MAX_RUNS], c[MAX_RUNS];
    omp_set_num_threads(threads);
    for (int r = 0; r < repeats; r++) {
        double t0 = omp_get_wtime(), c0 = cpu_seconds();
        if (run_method(v, cols, m, res))
            return 1;
        t[r] = omp_get_wtime() - t0;
        c[r] = cpu_seconds() - c0;
    }
    *seconds = median(t, repeats);
    *cpu = median(c, repeats);
    return 0;
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

static void print_header(const options *o, const char *path)
{
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : NAN;
    printf("bench_cov: %zu rows x %d uint8 Likert items (+ uint8 weight), %s\n", o->rows, N_ITEMS,
           path);
    printf("file %.0f MB (deflate %d); decoded = rows x columns x 8 bytes (doubles handed over); "
           "median of %d runs\n",
           mb, o->deflate >= 0 ? o->deflate : CX_WRITER_DEFLATE_DEFAULT, o->repeats);
    printf("%-14s %7s %9s %12s %8s %9s %9s %9s %10s\n", "method", "threads", "seconds", "rows/s",
           "GB/s", "overhead", "cpu s", "cpu ovh", "cov diff");
}

static void print_row(const options *o, const method *m, int threads, const double *sec,
                      const double *cpu, const char *diff)
{
    double bytes = (double)o->rows * (double)(N_ITEMS + m->weighted) * 8.0;
    double s = sec[m - METHODS], base = sec[m->baseline];
    double c = cpu[m - METHODS], cbase = cpu[m->baseline];
    char over[32] = "-", cover[32] = "-";
    if (m->kind != PASS_READ) {
        snprintf(over, sizeof over, "%+.1f%%", 100.0 * (s / base - 1.0));
        snprintf(cover, sizeof cover, "%+.1f%%", 100.0 * (c / cbase - 1.0));
    }
    printf("%-14s %7d %9.4f %12.4g %8.2f %9s %9.4f %9s %10s\n", m->name, threads, s,
           (double)o->rows / s, bytes / s / 1e9, over, c, cover, diff);
}

/* All methods for one thread count; stats covariances go to cov_out
 * (first, unweighted) for the cross-thread comparison. */
static int run_threads(const cx_view *v, const int *cols, const options *o, int threads,
                       double *cov_out)
{
    double sec[N_METHODS], cpu[N_METHODS];
    pass_result res, ref = {0};
    for (size_t k = 0; k < N_METHODS; k++) {
        const method *m = &METHODS[k];
        if (time_method(v, cols, m, threads, o->repeats, &res, &sec[k], &cpu[k]))
            return 1;
        char diff[32] = "-";
        if (m->kind == PASS_STATS && !m->weighted) {
            ref = res;
            memcpy(cov_out, res.cov, sizeof res.cov);
        }
        if (m->kind == PASS_NAIVE)
            snprintf(diff, sizeof diff, "%.1e", max_rel_diff(res.cov, ref.cov, N_ITEMS * N_ITEMS));
        print_row(o, m, threads, sec, cpu, diff);
    }
    return 0;
}

/* ---- main ------------------------------------------------------------ */

static int parse_threads(const char *s, options *o)
{
    o->n_threads = 0;
    for (char *end; *s && o->n_threads < MAX_THREADS; s = *end ? end + 1 : end) {
        long t = strtol(s, &end, 10);
        if (end == s || t < 1 || (*end && *end != ','))
            return 1;
        o->threads[o->n_threads++] = (int)t;
    }
    return o->n_threads == 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.rows = 20000000,
                   .repeats = 5,
                   .threads = {1, 2},
                   .n_threads = 2,
                   .deflate = -1,
                   .missing = 0.001,
                   .dir = getenv("BENCH_DIR")};
    if (!o->dir || !*o->dir)
        o->dir = "/tmp";
    /* Options come in pairs: the name and its value. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !val;
        if (bad)
            ;
        else if (strcmp(a, "--rows") == 0)
            o->rows = strtoull(val, NULL, 10);
        else if (strcmp(a, "--repeats") == 0)
            o->repeats = atoi(val);
        else if (strcmp(a, "--threads") == 0)
            bad = parse_threads(val, o);
        else if (strcmp(a, "--deflate") == 0)
            o->deflate = atoi(val);
        else if (strcmp(a, "--missing") == 0)
            o->missing = atof(val);
        else if (strcmp(a, "--dir") == 0)
            o->dir = val;
        else
            bad = 1;
        if (bad)
            return 1;
    }
    return o->rows < 2 || o->repeats < 1 || o->repeats > MAX_RUNS || o->deflate > 9 ||
           !(o->missing >= 0 && o->missing < 1);
}

static cx_table *open_or_write(const char *path, const options *o)
{
    cx_error err = {0};
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_cov: writing %s ...\n", path);
        double t0 = omp_get_wtime();
        if (write_table(path, o, &err) != CX_OK) {
            fprintf(stderr, "bench_cov: %s\n", err.msg);
            return NULL;
        }
        fprintf(stderr, "bench_cov: written in %.1f s\n", omp_get_wtime() - t0);
    }
    cx_table *t = cx_table_open(path, "/data", &err);
    if (!t)
        fprintf(stderr, "bench_cov: %s\n", err.msg);
    else if (cx_table_nrows(t) != o->rows || cx_table_ncols(t) != N_ITEMS + 1) {
        fprintf(stderr, "bench_cov: %s is not this benchmark's table; delete it\n", path);
        cx_table_close(t);
        t = NULL;
    }
    return t;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o)) {
        fprintf(stderr,
                "usage: bench_cov [--rows N>=2] [--repeats 1..%d] [--threads 1,2] "
                "[--deflate 0..9] [--missing 0..1) [--dir D]\n",
                MAX_RUNS);
        return 2;
    }
    char path[4096];
    int level = o.deflate >= 0 ? o.deflate : CX_WRITER_DEFLATE_DEFAULT;
    snprintf(path, sizeof path, "%s/cxfit_bench_likert_%zu_d%d.h5", o.dir, o.rows, level);
    cx_table *t = open_or_write(path, &o);
    if (!t)
        return 1;
    int cols[N_ITEMS + 1];
    for (int j = 0; j <= N_ITEMS; j++)
        cols[j] = j;
    cx_view v;
    cx_view_init(&v, t, NULL);
    pass_result warm;
    read_pass(&v, cols, N_ITEMS + 1, 0, &warm); /* page cache, first-touch */
    print_header(&o, path);
    double cov0[N_ITEMS * N_ITEMS], cov[N_ITEMS * N_ITEMS];
    int rc = 0, same = 1;
    for (int k = 0; rc == 0 && k < o.n_threads; k++) {
        rc = run_threads(&v, cols, &o, o.threads[k], k == 0 ? cov0 : cov);
        if (k > 0)
            same &= memcmp(cov0, cov, sizeof cov) == 0;
    }
    if (rc == 0 && o.n_threads > 1)
        printf("stats covariance bit-identical across thread counts: %s\n", same ? "yes" : "NO");
    cx_view_free(&v);
    cx_table_close(t);
    return rc;
}
