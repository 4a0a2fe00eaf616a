/*
 * test_reducer.c — the streaming pass and its reducers (engine/reducer.h)
 * and the counter-based draws (engine/resample.h).
 *
 * Every reducer result is checked against the same statistics computed
 * by hand from the rows it should have seen: per level against the
 * level's rows in one block (and cx_stats_compute, now a wrapper of the
 * same pass, bit for bit), per bootstrap replicate against weighted moments with
 * weights recomputed from cx_boot_count, per fold against the rows whose
 * cx_fold_of is (not) that fold.  Thread counts 1, 2 and 3 must give
 * bit-identical totals.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../engine/reducer.h"
#include "../engine/resample.h"
#include "../engine/table.h"
#include "h5fixture.h"

/* A memory table: x0..x2 small integers with some NaN (the exact kernel
 * path), g in 0..4, w > 0 weights, u a cluster id (10 rows each). */
typedef struct fixture {
    cx_table *t;
    size_t n;
    double *x, *g, *w, *u;
} fixture;

static uint64_t rng_state = 12345;
static double uniform01(void)
{
    rng_state = cx_mix64(rng_state);
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

static void fixture_make(fixture *f, size_t n)
{
    cx_error err = {0};
    f->n = n;
    f->x = malloc(3 * n * sizeof *f->x);
    f->g = malloc(n * sizeof *f->g);
    f->w = malloc(n * sizeof *f->w);
    f->u = malloc(n * sizeof *f->u);
    for (size_t i = 0; i < n; i++) {
        double common = floor(uniform01() * 4);
        for (size_t j = 0; j < 3; j++)
            f->x[i + j * n] = 1 + common + floor(uniform01() * 3);
        if (i % 53 == 7)
            f->x[i + (i % 3) * n] = NAN;
        f->g[i] = (double)((i * 7) % 5);
        f->w[i] = 0.5 + uniform01();
        f->u[i] = (double)(i / 10);
    }
    f->t = cx_table_memory_alloc("mem:/reducer", n, &err);
    assert_non_null(f->t);
    const char *names[3] = {"x0", "x1", "x2"};
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(
            cx_table_memory_add_column(f->t, names[j], CX_COL_FLOAT, f->x + j * n, NULL, 0, &err),
            CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "g", CX_COL_INT, f->g, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "w", CX_COL_FLOAT, f->w, NULL, 0, &err),
                     CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "u", CX_COL_INT, f->u, NULL, 0, &err), CX_OK);
}

static void fixture_free(fixture *f)
{
    cx_table_close(f->t);
    free(f->x);
    free(f->g);
    free(f->w);
    free(f->u);
}

static void assert_close(double got, double want, double rtol)
{
    double scale = fabs(want) > 1 ? fabs(want) : 1;
    if (!(fabs(got - want) <= rtol * scale))
        fail_msg("got %.17g, want %.17g (rtol %g)", got, want, rtol);
}

/* n_rows is not compared: a replicate's N is its draws (checked apart) */
static void assert_moments_close(const cx_moments *a, const cx_moments *b, double rtol)
{
    assert_int_equal(a->p, b->p);
    assert_close(a->sum_w, b->sum_w, rtol);
    for (size_t j = 0; j < a->p; j++)
        assert_close(a->mean[j], b->mean[j], rtol);
    for (size_t k = 0; k < a->p * a->p; k++)
        assert_close(a->m2[k], b->m2[k], rtol);
}

static void assert_moments_identical(const cx_moments *a, const cx_moments *b)
{
    assert_true(a->n_rows == b->n_rows && a->sum_w == b->sum_w);
    assert_memory_equal(a->mean, b->mean, a->p * sizeof *a->mean);
    assert_memory_equal(a->m2, b->m2, a->p * a->p * sizeof *a->m2);
}

/* A grouped view of the fixture. */
static void grouped_view(const fixture *f, cx_view *v)
{
    cx_error err = {0};
    cx_view_init(v, f->t, NULL);
    int gcol = cx_table_find(f->t, "g");
    assert_int_equal(cx_view_set_groups(v, &gcol, 1, &err), CX_OK);
    assert_int_equal(v->n_levels, 5);
}

/* Block columns of every pass here: x0 x1 x2 w u g. */
static const int pass_cols[6] = {0, 1, 2, 4, 5, 3};

static cx_moments_params params(cx_split_kind split, size_t slots, long weight_at)
{
    cx_moments_params p = {.p = 3,
                           .col0 = 0,
                           .weight_at = weight_at,
                           .mode = CX_MISSING_LISTWISE,
                           .n_levels = 5,
                           .split = split,
                           .n_slots = slots,
                           .seed = 42,
                           .cluster_at = -1};
    return p;
}

static void run_pass(const cx_view *v, cx_reducer *r, size_t n, int threads)
{
    cx_error err = {0};
    int rc = cx_reduce_view(v, pass_cols, 6, r, n, threads, &err);
    if (rc != CX_OK)
        fail_msg("pass failed: %s", err.msg);
}

/* The rows of level l with weights w_i (NaN-free rows only) by hand. */
static cx_moments *by_hand(const fixture *f, double level, const double *weights)
{
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(3, CX_MISSING_LISTWISE, &err);
    size_t k = 0;
    double *x = malloc(3 * f->n * sizeof *x), *w = malloc(f->n * sizeof *w);
    for (size_t i = 0; i < f->n; i++)
        if (f->g[i] == level)
            k++;
    size_t r = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->g[i] != level)
            continue;
        for (size_t j = 0; j < 3; j++)
            x[r + j * k] = f->x[i + j * f->n];
        w[r++] = weights ? weights[i] : 1.0;
    }
    assert_int_equal(cx_moments_add_block(m, x, k, k, weights ? w : NULL, &err), CX_OK);
    free(x);
    free(w);
    return m;
}

/* Per level, unsplit: the moments of each level's rows computed by hand
 * in one block (cx_stats_compute is this very pass since it became a
 * wrapper of it, so it must agree bit for bit, and is no oracle). */
static void test_levels_match_stats_compute(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 150000); /* three blocks */
    cx_view v;
    grouped_view(&f, &v);
    cx_moments_params par = params(CX_SPLIT_NONE, 1, -1);
    cx_reducer r = {&cx_reducer_moments, &par, NULL};
    run_pass(&v, &r, 1, 2);
    cx_moments *ref[5];
    cx_error err = {0};
    assert_int_equal(cx_stats_compute(&v, pass_cols, 3, -1, CX_MISSING_LISTWISE, ref, &err), CX_OK);
    for (size_t l = 0; l < 5; l++) {
        cx_moments *m = cx_moments_result(r.acc, l, 0, &err);
        assert_moments_identical(m, ref[l]);
        assert_close(cx_moments_result_n(r.acc, l, 0), ref[l]->n_rows, 0);
        cx_moments *want = by_hand(&f, (double)l, NULL);
        assert_close(m->sum_w, want->sum_w, 0);
        for (size_t j = 0; j < 3; j++)
            assert_close(m->mean[j], want->mean[j], 1e-12);
        for (size_t j = 0; j < 9; j++)
            assert_close(m->m2[j], want->m2[j], 1e-12);
        cx_moments_free(want);
        cx_moments_free(m);
        cx_moments_free(ref[l]);
    }
    cx_reducer_release(&r);
    cx_view_free(&v);
    fixture_free(&f);
}

/* Replicate r of level l = the level's rows weighted by their Poisson
 * counts (times the row weights), recomputed here from cx_boot_count. */
static void check_replicates(int weighted, int cluster)
{
    fixture f;
    fixture_make(&f, 70000);
    cx_view v;
    grouped_view(&f, &v);
    cx_moments_params par = params(CX_SPLIT_BOOTSTRAP, 6, weighted ? 3 : -1);
    par.cluster_at = cluster ? 4 : -1;
    cx_reducer r = {&cx_reducer_moments, &par, NULL};
    run_pass(&v, &r, 1, 2);
    double *w = malloc(f.n * sizeof *w);
    cx_error err = {0};
    for (size_t rep = 0; rep < 6; rep++) {
        for (size_t i = 0; i < f.n; i++) {
            uint64_t key = cluster ? cx_value_key(f.u[i]) : (uint64_t)i;
            w[i] = cx_boot_count(42, rep, key) * (weighted ? f.w[i] : 1.0);
        }
        for (size_t l = 0; l < 5; l++) {
            cx_moments *want = by_hand(&f, (double)l, w);
            cx_moments *got = cx_moments_result(r.acc, l, rep, &err);
            assert_moments_close(got, want, 1e-12);
            /* N = draws of complete rows */
            double draws = 0;
            for (size_t i = 0; i < f.n; i++) {
                int complete = !isnan(f.x[i]) && !isnan(f.x[i + f.n]) && !isnan(f.x[i + 2 * f.n]);
                uint64_t key = cluster ? cx_value_key(f.u[i]) : (uint64_t)i;
                if (f.g[i] == (double)l && complete)
                    draws += cx_boot_count(42, rep, key);
            }
            assert_close(cx_moments_result_n(r.acc, l, rep), draws, 0);
            cx_moments_free(want);
            cx_moments_free(got);
        }
    }
    free(w);
    cx_reducer_release(&r);
    cx_view_free(&v);
    fixture_free(&f);
}

static void test_bootstrap_replicates_by_hand(void **state)
{
    (void)state;
    check_replicates(0, 0);
}

static void test_bootstrap_weighted_by_hand(void **state)
{
    (void)state;
    check_replicates(1, 0);
}

static void test_bootstrap_cluster_by_hand(void **state)
{
    (void)state;
    check_replicates(0, 1);
}

/* kfold: fold k's moments are its rows; the training set is the rest. */
static void test_kfold_by_hand(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 70000);
    cx_view v;
    grouped_view(&f, &v);
    size_t K = 4;
    cx_moments_params par = params(CX_SPLIT_KFOLD, K, -1);
    cx_reducer r = {&cx_reducer_moments, &par, NULL};
    run_pass(&v, &r, 1, 2);
    double *w = malloc(f.n * sizeof *w);
    cx_error err = {0};
    for (size_t k = 0; k < K; k++) {
        for (size_t l = 0; l < 5; l++) {
            /* weights 1/0 select rows; compare means and covariances */
            for (int train = 0; train <= 1; train++) {
                for (size_t i = 0; i < f.n; i++)
                    w[i] = (cx_fold_of(42, i, K) == k) != train ? 1.0 : 0.0;
                cx_moments *want = by_hand(&f, (double)l, w);
                cx_moments *got = train ? cx_moments_result_merged(r.acc, l, k, &err)
                                        : cx_moments_result(r.acc, l, k, &err);
                assert_close(got->sum_w, want->sum_w, 0);
                for (size_t j = 0; j < 3; j++)
                    assert_close(got->mean[j], want->mean[j], 1e-12);
                for (size_t j = 0; j < 9; j++)
                    assert_close(got->m2[j], want->m2[j], 1e-12);
                cx_moments_free(want);
                cx_moments_free(got);
            }
        }
    }
    free(w);
    cx_reducer_release(&r);
    cx_view_free(&v);
    fixture_free(&f);
}

/* holdout(x0 >= 3): slot 1 holds exactly the rows that pass. */
static void test_holdout_by_hand(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 30000);
    cx_view v;
    grouped_view(&f, &v);
    cx_error err = {0};
    cx_filter *h = cx_filter_parse("x0 >= 3", f.t, &err);
    assert_non_null(h);
    /* the filter reads x0: block column 0 is x0 */
    cx_moments_params par = params(CX_SPLIT_HOLDOUT, 2, -1);
    par.holdout = h;
    par.holdout_at = 0;
    cx_reducer r = {&cx_reducer_moments, &par, NULL};
    run_pass(&v, &r, 1, 2);
    double *w = malloc(f.n * sizeof *w);
    for (int side = 0; side <= 1; side++) {
        for (size_t i = 0; i < f.n; i++)
            w[i] = (f.x[i] >= 3) == side ? 1.0 : 0.0;
        for (size_t l = 0; l < 5; l++) {
            cx_moments *want = by_hand(&f, (double)l, w);
            cx_moments *got = cx_moments_result(r.acc, l, (size_t)side, &err);
            assert_close(got->sum_w, want->sum_w, 0);
            for (size_t j = 0; j < 3; j++)
                assert_close(got->mean[j], want->mean[j], 1e-12);
            cx_moments_free(want);
            cx_moments_free(got);
        }
    }
    free(w);
    cx_filter_free(h);
    cx_reducer_release(&r);
    cx_view_free(&v);
    fixture_free(&f);
}

/* 1, 2 and 3 threads: bit-identical totals for every reducer kind. */
static void test_threads_identical(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 300000);
    cx_view v;
    grouped_view(&f, &v);
    cx_moments_params pn = params(CX_SPLIT_NONE, 1, 3), pb = params(CX_SPLIT_BOOTSTRAP, 3, -1),
                      pk = params(CX_SPLIT_KFOLD, 3, 3);
    cx_first_row_params pf = {5};
    cx_reducer base[4] = {{&cx_reducer_moments, &pn, NULL},
                          {&cx_reducer_moments, &pb, NULL},
                          {&cx_reducer_moments, &pk, NULL},
                          {&cx_reducer_first_row, &pf, NULL}};
    cx_reducer one[4], other[4];
    memcpy(one, base, sizeof one);
    run_pass(&v, one, 4, 1);
    cx_error err = {0};
    for (int threads = 2; threads <= 3; threads++) {
        memcpy(other, base, sizeof other);
        run_pass(&v, other, 4, threads);
        for (size_t k = 0; k < 3; k++) {
            const cx_moments_params *par = base[k].params;
            for (size_t l = 0; l < 5; l++)
                for (size_t s = 0; s < par->n_slots; s++) {
                    cx_moments *a = cx_moments_result(one[k].acc, l, s, &err);
                    cx_moments *b = cx_moments_result(other[k].acc, l, s, &err);
                    assert_moments_identical(a, b);
                    assert_true(cx_moments_result_n(one[k].acc, l, s) ==
                                cx_moments_result_n(other[k].acc, l, s));
                    cx_moments_free(a);
                    cx_moments_free(b);
                }
        }
        for (size_t l = 0; l < 5; l++)
            assert_int_equal(cx_first_row_of(one[3].acc, l), cx_first_row_of(other[3].acc, l));
        for (size_t k = 0; k < 4; k++)
            cx_reducer_release(&other[k]);
    }
    /* level l first appears at the first i with (i * 7) % 5 == l */
    for (size_t l = 0; l < 5; l++) {
        size_t i = 0;
        while ((i * 7) % 5 != l)
            i++;
        assert_int_equal(cx_first_row_of(one[3].acc, l), i);
    }
    for (size_t k = 0; k < 4; k++)
        cx_reducer_release(&one[k]);
    cx_view_free(&v);
    fixture_free(&f);
}

/* The range reducer: each column's min and max of the present values over
 * every row, whatever the level, for 1 and 3 threads. */
static void test_range(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 70000);
    cx_view v;
    grouped_view(&f, &v);
    cx_range_params rp = {6};
    for (int threads = 1; threads <= 3; threads += 2) {
        cx_reducer r = {&cx_reducer_range, &rp, NULL};
        run_pass(&v, &r, 1, threads);
        for (size_t j = 0; j < 3; j++) {
            double lo = INFINITY, hi = -INFINITY, glo, ghi;
            for (size_t i = 0; i < f.n; i++)
                if (!isnan(f.x[i + j * f.n])) {
                    lo = fmin(lo, f.x[i + j * f.n]);
                    hi = fmax(hi, f.x[i + j * f.n]);
                }
            cx_range_of(r.acc, j, &glo, &ghi);
            assert_true(glo == lo && ghi == hi);
        }
        double lo, hi;
        cx_range_of(r.acc, 5, &lo, &hi); /* g: 0..4 */
        assert_true(lo == 0 && hi == 4);
        cx_reducer_release(&r);
    }
    cx_view_free(&v);
    fixture_free(&f);
}

/* The draws: Poisson(1) counts have mean 1 and variance 1; folds are
 * uniform; both are pure functions of their keys. */
static void test_draws(void **state)
{
    (void)state;
    size_t n = 400000, folds[7] = {0};
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double k = cx_boot_count(7, i % 13, i);
        sum += k;
        ss += k * k;
        folds[cx_fold_of(7, i, 7)]++;
    }
    double mean = sum / (double)n, var = ss / (double)n - mean * mean;
    /* sd of the mean of n Poisson(1) = 1/sqrt(n) = 0.0016: 5 sd */
    assert_true(fabs(mean - 1) < 0.008);
    assert_true(fabs(var - 1) < 0.02);
    for (size_t k = 0; k < 7; k++) /* n/7 = 57143, sd ~ 221 */
        assert_true(fabs((double)folds[k] - (double)n / 7) < 1200);
    assert_int_equal(cx_boot_count(7, 3, 99), cx_boot_count(7, 3, 99));
    assert_int_equal(cx_fold_of(7, 99, 5), cx_fold_of(7, 99, 5));
    /* seeds and replicates are different streams */
    size_t same = 0;
    for (size_t i = 0; i < 1000; i++)
        same += cx_boot_count(1, 0, i) == cx_boot_count(2, 0, i);
    assert_true(same < 600); /* P(equal) for independent draws ~ 0.31 */
    assert_true(cx_value_key(0.0) == cx_value_key(-0.0));
}

/* ---- small-integer passes --------------------------------------------- */

#define SMALL_ROWS (2 * 65536 + 7001) /* three blocks, the last one short */
#define SMALL_P 12
#define FILE_SMALL CX_BINARY_DIR "/test_reducer_small.h5"

/* 12 Likert columns, 1-byte: uint8 with missing_value 9 (a few rows), and
 * two int8 columns (-3..3) with missing_value -128; deflated chunks, and
 * one column stored unchunked. */
static void write_small_file(void)
{
    hid_t f = fx_create(FILE_SMALL);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 1);
    unsigned char *u = malloc(SMALL_ROWS);
    signed char *s = malloc(SMALL_ROWS);
    assert_non_null(u);
    assert_non_null(s);
    for (size_t j = 0; j < SMALL_P; j++) {
        char name[16];
        snprintf(name, sizeof name, "q%zu", j + 1);
        uint64_t state = 77 + j;
        for (size_t i = 0; i < SMALL_ROWS; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            int v = 1 + (int)((state >> 33) % 6) + (i % 5 == j % 5 ? 1 : 0);
            u[i] = (unsigned char)(v > 6 ? 6 : v);
            s[i] = (signed char)(v - 4);
            if ((state >> 20) % 997 == j) /* missing, here and there */
                u[i] = 9, s[i] = -128;
        }
        int is_signed = j >= SMALL_P - 2;
        assert_int_equal(fx_column(g, name, is_signed ? H5T_STD_I8LE : H5T_STD_U8LE,
                                   is_signed ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR,
                                   is_signed ? (const void *)s : (const void *)u, SMALL_ROWS,
                                   j == 3 ? 0 : 4096),
                         0);
        assert_int_equal(fx_attr_number(g, name, "missing_value",
                                        is_signed ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR,
                                        is_signed ? -128 : 9),
                         0);
    }
    free(u);
    free(s);
    H5Gclose(g);
    H5Fclose(f);
}

/* The listwise moments of the first p columns through cx_reduce_view;
 * NULL with err set when the pass fails. */
static cx_moments *reduce_moments(cx_table *t, size_t p, int threads, cx_error *err)
{
    int cols[SMALL_P];
    for (size_t j = 0; j < p; j++)
        cols[j] = (int)j;
    cx_view v;
    cx_view_init(&v, t, NULL);
    cx_moments_params mp = {.p = p,
                            .col0 = 0,
                            .weight_at = -1,
                            .mode = CX_MISSING_LISTWISE,
                            .n_levels = 1,
                            .split = CX_SPLIT_NONE,
                            .n_slots = 1,
                            .cluster_at = -1};
    cx_reducer r = {&cx_reducer_moments, &mp, NULL};
    cx_moments *m = NULL;
    if (cx_reduce_view(&v, cols, p, &r, 1, threads, err) == CX_OK)
        m = cx_moments_result(r.acc, 0, 0, err);
    cx_reducer_release(&r);
    cx_view_free(&v);
    return m;
}

static cx_moments *small_pass_moments(cx_table *t, size_t p, int threads)
{
    cx_error err = {0};
    cx_moments *m = reduce_moments(t, p, threads, &err);
    if (!m)
        fail_msg("%s", err.msg);
    return m;
}

/* The small path (on) and the double path (off) give bit for bit the same
 * listwise moments of the first p columns, on 1 and 2 threads. */
static void assert_small_pass_exact(cx_table *t, size_t p)
{
    for (int threads = 1; threads <= 2; threads++) {
        cx_table_set_small_path(t, 1);
        cx_moments *a = small_pass_moments(t, p, threads);
        cx_table_set_small_path(t, 0);
        cx_moments *b = small_pass_moments(t, p, threads);
        assert_true(a->n_rows == b->n_rows && a->sum_w == b->sum_w);
        assert_true(a->n_rows > SMALL_ROWS * 0.9 && a->n_rows < SMALL_ROWS);
        assert_memory_equal(a->mean, b->mean, p * sizeof *a->mean);
        assert_memory_equal(a->m2, b->m2, p * p * sizeof *a->m2);
        cx_moments_free(a);
        cx_moments_free(b);
    }
    cx_table_set_small_path(t, 1);
}

/* Rows [row0, row0 + n) of the first p columns read small equal the
 * doubles value for value (NaN <-> CX_SMALL_MISSING); returns the number
 * of missing values seen. */
static size_t assert_small_read_equal(cx_table *t, size_t p, size_t row0, size_t n)
{
    int cols[SMALL_P];
    for (size_t j = 0; j < p; j++)
        cols[j] = (int)j;
    assert_true(cx_table_columns_small(t, cols, p));
    size_t ld = n + 5, missing = 0;
    int16_t *small = malloc(p * ld * sizeof *small);
    double *wide = malloc(p * ld * sizeof *wide);
    assert_non_null(small);
    assert_non_null(wide);
    cx_error err = {0};
    assert_int_equal(cx_table_read_block_small(t, cols, p, row0, n, small, ld, &err), CX_OK);
    assert_int_equal(cx_table_read_block(t, cols, p, row0, n, wide, ld, &err), CX_OK);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < n; i++) {
            double x = wide[j * ld + i];
            int16_t y = small[j * ld + i];
            missing += isnan(x);
            if (isnan(x) ? y != CX_SMALL_MISSING : (double)y != x)
                fail_msg("column %zu row %zu: %d as int16, %g as double", j, row0 + i, y, x);
        }
    free(small);
    free(wide);
    return missing;
}

/* 1-byte columns read as int16 equal the doubles (missing as NaN), and the
 * moments pass over them is bit for bit the pass over doubles, on 1 and 2
 * threads. */
static void test_small_integer_pass(void **state)
{
    (void)state;
    remove(FILE_SMALL);
    write_small_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_SMALL, "/t", &err);
    assert_non_null(t);
    int cols[SMALL_P];
    for (size_t j = 0; j < SMALL_P; j++)
        cols[j] = (int)j;
    assert_true(assert_small_read_equal(t, SMALL_P, 65000, 70000) > 100);
    assert_small_pass_exact(t, SMALL_P);
    cx_table_set_small_path(t, 0);
    assert_false(cx_table_columns_small(t, cols, SMALL_P)); /* switched off */
    cx_table_close(t);
    remove(FILE_SMALL);
}

/* ---- small-integer passes over categorical columns --------------------- */

#define CAT_P 7
#define CAT_BAD_ROW 70001 /* in the second block */
#define FILE_SMALL_CAT CX_BINARY_DIR "/test_reducer_small_cat.h5"

/* Categorical Likert items as `cxfit import` writes them from SPSS value
 * labels (table_write.c: int8 codes 0..k-1, missing_value -1, variable-
 * length `categories`): c1..c5 with 5 categories, deflated chunks.  c6 is
 * a uint8 categorical with missing_value 255, 7 fixed-length labels,
 * unchunked (another writer's layout); c7 a plain uint8 item, so one pass
 * mixes the kinds.  bad = 1 stores code -2 in c2, bad = 2 code 7 in c6, at
 * CAT_BAD_ROW. */
static void write_categorical_file(int bad)
{
    static const char *const agree[5] = {"Strongly disagree", "Disagree", "Neutral", "Agree",
                                         "Strongly agree"};
    static const char *const seven[7] = {"1", "2", "3", "4", "5", "6", "7"};
    hid_t f = fx_create(FILE_SMALL_CAT);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 1);
    signed char *s = malloc(SMALL_ROWS);
    unsigned char *u = malloc(SMALL_ROWS);
    assert_non_null(s);
    assert_non_null(u);
    for (size_t j = 0; j < CAT_P; j++) {
        char name[16];
        snprintf(name, sizeof name, "c%zu", j + 1);
        uint64_t state = 501 + j;
        int k = j == 5 ? 7 : 5;
        for (size_t i = 0; i < SMALL_ROWS; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            int v = (int)((state >> 33) % (uint64_t)k) + (i % 3 == 0 ? 1 : 0);
            v = v >= k ? k - 1 : v;
            int missing = (state >> 20) % 1009 == j;
            s[i] = (signed char)(missing ? -1 : v);
            u[i] = (unsigned char)(missing ? (j == 5 ? 255 : 9) : v);
        }
        if (bad == 1 && j == 1)
            s[CAT_BAD_ROW] = -2;
        if (bad == 2 && j == 5)
            u[CAT_BAD_ROW] = 7;
        int is_signed = j < 5;
        assert_int_equal(fx_column(g, name, is_signed ? H5T_STD_I8LE : H5T_STD_U8LE,
                                   is_signed ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR,
                                   is_signed ? (const void *)s : (const void *)u, SMALL_ROWS,
                                   j == 5 ? 0 : 4096),
                         0);
        assert_int_equal(fx_attr_number(g, name, "missing_value",
                                        is_signed ? H5T_STD_I8LE : H5T_NATIVE_UCHAR,
                                        is_signed ? -1
                                        : j == 5  ? 255
                                                  : 9),
                         0);
        if (j < 5)
            assert_int_equal(fx_attr_strings(g, name, "categories", agree, 5, 1), 0);
        else if (j == 5)
            assert_int_equal(fx_attr_strings(g, name, "categories", seven, 7, 0), 0);
    }
    free(s);
    free(u);
    H5Gclose(g);
    H5Fclose(f);
}

/* Categorical 1-byte columns go the small way: read as int16 they are the
 * double read's codes, and the moments pass is bit for bit the double one. */
static void test_small_categorical_pass(void **state)
{
    (void)state;
    remove(FILE_SMALL_CAT);
    write_categorical_file(0);
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_SMALL_CAT, "/t", &err);
    assert_non_null(t);
    for (size_t j = 0; j < CAT_P; j++)
        assert_int_equal(cx_table_column(t, j)->kind,
                         j < CAT_P - 1 ? CX_COL_CATEGORICAL : CX_COL_INT);
    assert_true(assert_small_read_equal(t, CAT_P, 0, SMALL_ROWS) > 500);
    assert_true(assert_small_read_equal(t, CAT_P, 65000, 70000) > 200);
    assert_small_pass_exact(t, CAT_P);
    cx_table_close(t);
    remove(FILE_SMALL_CAT);
}

/* A code that is no category fails the small read and the small pass with
 * the double path's error, word for word. */
static void test_small_categorical_bad_code(void **state)
{
    (void)state;
    static const char *const expect[3] = {NULL, "column 'c2', row 70002: code -2 is outside",
                                          "column 'c6', row 70002: code 7 is outside"};
    int cols[CAT_P];
    for (size_t j = 0; j < CAT_P; j++)
        cols[j] = (int)j;
    size_t row0 = 65000, n = 70000, ld = n;
    int16_t *small = malloc(CAT_P * ld * sizeof *small);
    double *wide = malloc(CAT_P * ld * sizeof *wide);
    assert_non_null(small);
    assert_non_null(wide);
    for (int bad = 1; bad <= 2; bad++) {
        remove(FILE_SMALL_CAT);
        write_categorical_file(bad);
        cx_error err = {0}, small_err = {0}, wide_err = {0};
        cx_table *t = cx_table_open(FILE_SMALL_CAT, "/t", &err);
        assert_non_null(t);
        assert_int_equal(cx_table_read_block_small(t, cols, CAT_P, row0, n, small, ld, &small_err),
                         CX_EUSAGE);
        assert_int_equal(cx_table_read_block(t, cols, CAT_P, row0, n, wide, ld, &wide_err),
                         CX_EUSAGE);
        assert_non_null(strstr(wide_err.msg, expect[bad]));
        assert_string_equal(small_err.msg, wide_err.msg);
        /* rows before the bad one read cleanly */
        assert_int_equal(
            cx_table_read_block_small(t, cols, CAT_P, row0, CAT_BAD_ROW - row0, small, ld, &err),
            CX_OK);
        for (int threads = 1; threads <= 2; threads++) {
            cx_table_set_small_path(t, 1);
            assert_null(reduce_moments(t, CAT_P, threads, &small_err));
            cx_table_set_small_path(t, 0);
            assert_null(reduce_moments(t, CAT_P, threads, &wide_err));
            assert_non_null(strstr(wide_err.msg, expect[bad]));
            assert_string_equal(small_err.msg, wide_err.msg);
        }
        cx_table_close(t);
    }
    free(small);
    free(wide);
    remove(FILE_SMALL_CAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_match_stats_compute),
        cmocka_unit_test(test_bootstrap_replicates_by_hand),
        cmocka_unit_test(test_bootstrap_weighted_by_hand),
        cmocka_unit_test(test_bootstrap_cluster_by_hand),
        cmocka_unit_test(test_kfold_by_hand),
        cmocka_unit_test(test_holdout_by_hand),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_draws),
        cmocka_unit_test(test_small_integer_pass),
        cmocka_unit_test(test_small_categorical_pass),
        cmocka_unit_test(test_small_categorical_bad_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
