/*
 * test_stats.c — streaming moments (engine/stats.c) against two-pass
 * textbook formulas in long double: random data, a numerically hard case
 * (mean 1e9, unit spread), split-and-merge equals one pass, weights,
 * pairwise and listwise missing data, negative weights, and the parallel
 * pass over a view (cx_stats_compute) with groups, filters and thread
 * counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "view.h"
#include "xprod.h"

/* ---- helpers ------------------------------------------------------------ */

/* Deterministic uniform / normal draws (xorshift64*, Box-Muller). */
static uint64_t rng_state = 88172645463325252ull;

static double uniform01(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double normal01(void)
{
    double u = uniform01(), v = uniform01();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* n x p column-major correlated data with column means `shift` * (j + 1). */
static double *random_data(size_t n, size_t p, double shift, double scale)
{
    double *x = malloc(n * p * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        double common = normal01();
        for (size_t j = 0; j < p; j++)
            x[i + j * n] = shift * (double)(j + 1) + scale * (0.5 * common + normal01());
    }
    return x;
}

/* Two-pass weighted mean and covariance (denominator sum_w - ddof) over the
 * complete rows, in long double: the reference. */
static void textbook(const double *x, size_t n, size_t p, const double *w, double ddof,
                     double *mean, double *cov)
{
    long double sw = 0;
    for (size_t j = 0; j < p; j++)
        mean[j] = 0;
    long double *m = calloc(p, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t j = 0; j < p; j++)
            ok = ok && !isnan(x[i + j * n]);
        if (!ok)
            continue;
        long double wi = w ? w[i] : 1;
        sw += wi;
        for (size_t j = 0; j < p; j++)
            m[j] += wi * x[i + j * n];
    }
    for (size_t j = 0; j < p; j++)
        m[j] /= sw;
    for (size_t j = 0; j < p; j++)
        for (size_t k = 0; k < p; k++) {
            long double s = 0;
            for (size_t i = 0; i < n; i++) {
                if (isnan(x[i + j * n]) || isnan(x[i + k * n]))
                    continue;
                int ok = 1;
                for (size_t c = 0; c < p; c++)
                    ok = ok && !isnan(x[i + c * n]);
                if (ok)
                    s += (w ? w[i] : 1) * (x[i + j * n] - m[j]) * (x[i + k * n] - m[k]);
            }
            cov[j + k * p] = (double)(s / (sw - ddof));
        }
    for (size_t j = 0; j < p; j++)
        mean[j] = (double)m[j];
    free(m);
}

static void assert_rel(double got, double want, double rtol)
{
    double tol = rtol * fabs(want) + 1e-300;
    if (fabs(got - want) > tol)
        fail_msg("got %.17g, want %.17g (rel err %.3g > %.3g)", got, want,
                 fabs(got - want) / fabs(want), rtol);
}

/* Add x (n rows) in blocks of `block` rows. */
static void add_in_blocks(cx_moments *m, const double *x, size_t n, size_t p, const double *w,
                          size_t block)
{
    (void)p;
    cx_error err = {0};
    for (size_t r = 0; r < n; r += block) {
        size_t rows = n - r < block ? n - r : block;
        assert_int_equal(cx_moments_add_block(m, x + r, rows, n, w ? w + r : NULL, &err), CX_OK);
    }
}

static void compare_with_textbook(const cx_moments *m, const double *x, size_t n, size_t p,
                                  const double *w, double ddof, double rtol)
{
    double *mean = malloc(p * sizeof *mean), *cov = malloc(p * p * sizeof *cov);
    double *got = malloc(p * p * sizeof *got);
    textbook(x, n, p, w, ddof, mean, cov);
    cx_moments_covariance(m, ddof, got);
    for (size_t j = 0; j < p; j++)
        assert_rel(m->mean[j], mean[j], rtol);
    for (size_t i = 0; i < p * p; i++)
        assert_rel(got[i], cov[i], rtol);
    free(mean);
    free(cov);
    free(got);
}

/* ---- listwise ------------------------------------------------------------ */

static void test_random_data_matches_two_pass(void **state)
{
    (void)state;
    size_t n = 5000, p = 6;
    double *x = random_data(n, p, 3.0, 2.0);
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    assert_non_null(m);
    add_in_blocks(m, x, n, p, NULL, 777); /* crosses the internal chunking */
    assert_true(cx_moments_n(m) == (double)n);
    assert_true(m->sum_w == (double)n);
    compare_with_textbook(m, x, n, p, NULL, 1.0, 1e-12);
    compare_with_textbook(m, x, n, p, NULL, 0.0, 1e-12);
    cx_moments_reset(m);
    assert_true(cx_moments_n(m) == 0);
    add_in_blocks(m, x, n, p, NULL, n);
    compare_with_textbook(m, x, n, p, NULL, 1.0, 1e-12);
    cx_moments_free(m);
    free(x);
}

static void test_large_mean_small_variance(void **state)
{
    (void)state;
    /* Mean 1e9 and unit spread: raw sums of squares lose every digit of
     * the variance (x^2 ~ 1e18 has a spacing of 128); shifted, centred
     * chunks keep it to ~1e-12. */
    size_t n = 100000, p = 3;
    double *x = random_data(n, p, 1e9, 1.0);
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    add_in_blocks(m, x, n, p, NULL, n);
    compare_with_textbook(m, x, n, p, NULL, 1.0, 1e-9);
    double cov[9];
    cx_moments_covariance(m, 1.0, cov);
    assert_true(cov[0] > 0.5 && cov[0] < 2.0); /* 1.25 by construction */
    /* Merging summaries whose plain double means are 1e9 (resolution
     * 1.2e-7) is the documented weak spot: ~1e-9 instead of ~1e-12.
     * cx_stats_compute avoids it by merging shifted accumulators (see
     * test_compute_same_for_any_thread_count). */
    cx_moments_reset(m);
    add_in_blocks(m, x, n, p, NULL, 65536);
    compare_with_textbook(m, x, n, p, NULL, 1.0, 1e-8);
    cx_moments_free(m);
    free(x);
}

static void test_merge_equals_one_pass(void **state)
{
    (void)state;
    size_t n = 3001, p = 5, cut = 1234;
    double *x = random_data(n, p, 100.0, 5.0);
    cx_error err = {0};
    cx_moments *all = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    cx_moments *a = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    cx_moments *b = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    assert_int_equal(cx_moments_add_block(all, x, n, n, NULL, &err), CX_OK);
    assert_int_equal(cx_moments_add_block(a, x, cut, n, NULL, &err), CX_OK);
    assert_int_equal(cx_moments_add_block(b, x + cut, n - cut, n, NULL, &err), CX_OK);
    cx_moments_merge(a, b);
    assert_true(a->n_rows == (double)n);
    for (size_t j = 0; j < p; j++)
        assert_rel(a->mean[j], all->mean[j], 1e-13);
    for (size_t i = 0; i < p * p; i++)
        assert_rel(a->m2[i], all->m2[i], 1e-12);
    /* merging an empty summary changes nothing */
    cx_moments_reset(b);
    cx_moments_merge(a, b);
    assert_true(a->n_rows == (double)n);
    /* merging into an empty summary copies */
    cx_moments_merge(b, all);
    for (size_t i = 0; i < p * p; i++)
        assert_true(b->m2[i] == all->m2[i]);
    cx_moments_free(all);
    cx_moments_free(a);
    cx_moments_free(b);
    free(x);
}

static void test_weights(void **state)
{
    (void)state;
    size_t n = 2000, p = 4;
    double *x = random_data(n, p, 10.0, 3.0);
    double *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = 0.2 + 3.0 * uniform01();
    w[7] = 0; /* a zero weight is allowed and carries no mass */
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    add_in_blocks(m, x, n, p, w, 1500);
    compare_with_textbook(m, x, n, p, w, 1.0, 1e-12);
    assert_true(m->n_rows == (double)n);
    assert_true(m->min_w == 0);

    /* integer weights are frequency weights: w = 2 equals the row twice */
    double y[6] = {1, 2, 4, 10, 20, 50}; /* 3 rows x 2 columns */
    double wy[3] = {2, 1, 1};
    double dup[8] = {1, 1, 2, 4, 10, 10, 20, 50};
    cx_moments *mw = cx_moments_alloc(2, CX_MISSING_LISTWISE, &err);
    cx_moments *md = cx_moments_alloc(2, CX_MISSING_LISTWISE, &err);
    assert_int_equal(cx_moments_add_block(mw, y, 3, 3, wy, &err), CX_OK);
    assert_int_equal(cx_moments_add_block(md, dup, 4, 4, NULL, &err), CX_OK);
    double cw[4], cd[4];
    cx_moments_covariance(mw, 1.0, cw);
    cx_moments_covariance(md, 1.0, cd);
    for (int i = 0; i < 4; i++)
        assert_rel(cw[i], cd[i], 1e-14);
    assert_rel(mw->mean[1], 22.5, 1e-15);
    cx_moments_free(mw);
    cx_moments_free(md);
    cx_moments_free(m);
    free(x);
    free(w);
}

static void test_negative_weight_rejected(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, w[3] = {1, -0.5, 1};
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(1, CX_MISSING_LISTWISE, &err);
    assert_int_equal(cx_moments_add_block(m, x, 3, 3, w, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "is negative"));
    assert_true(m->n_rows == 0); /* nothing was added */
    cx_moments_free(m);
}

/* x = 1 2 3 NA 5, y = 2 NA 6 8 10 */
static const double small_xy[10] = {1, 2, 3, NAN, 5, 2, NAN, 6, 8, 10};

static void test_listwise_drops_rows(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(2, CX_MISSING_LISTWISE, &err);
    assert_int_equal(cx_moments_add_block(m, small_xy, 5, 5, NULL, &err), CX_OK);
    /* rows 1 and 3 are dropped: x = 1 3 5, y = 2 6 10 */
    assert_true(cx_moments_n(m) == 3);
    double cov[4];
    cx_moments_covariance(m, 1.0, cov);
    assert_rel(m->mean[0], 3, 1e-15);
    assert_rel(m->mean[1], 6, 1e-15);
    assert_rel(cov[0], 4, 1e-14);
    assert_rel(cov[1], 8, 1e-14);
    assert_rel(cov[2], 8, 1e-14);
    assert_rel(cov[3], 16, 1e-14);
    /* a missing weight drops the row too */
    double w[5] = {1, 1, NAN, 1, 1};
    cx_moments_reset(m);
    assert_int_equal(cx_moments_add_block(m, small_xy, 5, 5, w, &err), CX_OK);
    assert_true(cx_moments_n(m) == 2);
    cx_moments_free(m);
}

/* Small-integer data (Likert items) take stats.c's exact path; rows with a
 * missing item, values too large for it and fractional values fall back
 * chunk by chunk.  Every mix must agree with the textbook two-pass
 * covariance of the complete rows. */
static void test_small_integers_exact_path(void **state)
{
    (void)state;
    size_t n = 6000, p = 5, kept = 0;
    double *x = random_data(n, p, 3.0, 1.2), *complete = malloc(n * p * sizeof *complete);
    for (size_t i = 0; i < n * p; i++)
        x[i] = fmin(5, fmax(1, round(x[i])));
    for (size_t i = 0; i < n; i += 97)
        x[i + (i % p) * n] = NAN; /* some incomplete rows in most chunks */
    for (size_t i = 3000; i < 3100; i++)
        x[i] += 1e6;   /* column 0: too large for the exact path here */
    x[4500 + n] = 2.5; /* one fractional value: that chunk falls back */
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t j = 0; j < p; j++)
            ok &= !isnan(x[i + j * n]);
        for (size_t j = 0; ok && j < p; j++)
            complete[kept + j * n] = x[i + j * n];
        kept += (size_t)ok;
    }
    for (size_t j = 1; j < p; j++) /* close up to ld = kept */
        memmove(complete + j * kept, complete + j * n, kept * sizeof *complete);
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    add_in_blocks(m, x, n, p, NULL, 1500);
    assert_true(cx_moments_n(m) == (double)kept);
    compare_with_textbook(m, complete, kept, p, NULL, 1.0, 1e-12);
    cx_moments_free(m);
    free(complete);
    free(x);
}

/* Tiny integers (|x| <= 1024) take an int16/int32 kernel, other small
 * integers DSYRK on doubles; both sum the same integers exactly, so they
 * must agree to the bit.  The second copy of the data differs only in an
 * incomplete row, where 2000 (too big for the kernel) sends the chunk down
 * the DSYRK path without changing the complete rows. */
static void test_tiny_integer_kernel_matches_dsyrk_path(void **state)
{
    (void)state;
    size_t n = 1000, p = 6;
    double *x = random_data(n, p, 0.0, 400.0);
    for (size_t i = 0; i < n * p; i++)
        x[i] = fmin(1024, fmax(-1024, round(x[i])));
    x[5] = -1024;
    x[6 + n] = 1024;
    x[10] = NAN; /* row 10 is incomplete */
    double *y = malloc(n * p * sizeof *y);
    cx_error err = {0};
    cx_moments *a = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    assert_int_equal(cx_moments_add_block(a, x, n, n, NULL, &err), CX_OK);
    assert_true(cx_moments_n(a) == (double)(n - 1));
    /* just outside the kernel's range, at a row position each SIMD width
     * and the scalar tail see */
    const double outside[] = {2000, 1025, -1025, 32768};
    const size_t rows[] = {10, 17, 999};
    for (size_t r = 0; r < 3; r++)
        for (size_t v = 0; v < sizeof outside / sizeof outside[0]; v++) {
            memcpy(y, x, n * p * sizeof *y);
            y[rows[r]] = NAN;
            y[rows[r] + 2 * n] = outside[v];
            cx_moments *b = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
            cx_moments *c = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
            assert_int_equal(cx_moments_add_block(b, y, n, n, NULL, &err), CX_OK);
            y[rows[r] + 2 * n] = 3; /* the same complete rows, kernel path */
            assert_int_equal(cx_moments_add_block(c, y, n, n, NULL, &err), CX_OK);
            assert_memory_equal(b->mean, c->mean, p * sizeof *b->mean);
            assert_memory_equal(b->m2, c->m2, p * p * sizeof *b->m2);
            cx_moments_free(b);
            cx_moments_free(c);
        }
    cx_moments_free(a);
    free(y);
    free(x);
}

/* Values just past the int16 kernel's range must not reach it: a full
 * chunk of them would overflow its int32 sums.  Whole chunks of 1025,
 * -1025 and 32767 (also at the SIMD tails) still match the textbook. */
static void test_tiny_kernel_range(void **state)
{
    (void)state;
    const double big[] = {1025, -1025, 32767, -32768};
    size_t n = 1024 + 23, p = 3;
    double *x = malloc(n * p * sizeof *x);
    for (size_t v = 0; v < 2 * sizeof big / sizeof big[0]; v++) {
        if (v == sizeof big / sizeof big[0])
            n = 12; /* shorter than the AVX2 loop: the SSE2 one runs */
        for (size_t i = 0; i < n; i++) {
            /* short runs: big values only where the SSE2 loop looks */
            double b = n < 16 && i >= 8 ? 1 : big[v % (sizeof big / sizeof big[0])];
            x[i] = b - (double)(i % 2);
            x[i + n] = (double)(i % 7);
            x[i + 2 * n] = b * (double)(i % 3 == 0);
        }
        cx_error err = {0};
        cx_moments *m = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
        assert_int_equal(cx_moments_add_block(m, x, n, n, NULL, &err), CX_OK);
        compare_with_textbook(m, x, n, p, NULL, 1.0, 1e-12);
        cx_moments_free(m);
    }
    free(x);
}

static void test_pairwise_known_values(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(2, CX_MISSING_PAIRWISE, &err);
    assert_non_null(m);
    assert_null(m->m2);
    /* two blocks, so the pair merge is exercised too */
    assert_int_equal(cx_moments_add_block(m, small_xy, 2, 5, NULL, &err), CX_OK);
    assert_int_equal(cx_moments_add_block(m, small_xy + 2, 3, 5, NULL, &err), CX_OK);
    assert_true(cx_moments_n(m) == 5);
    /* x alone: 1 2 3 5 -> mean 2.75, var 8.75/3; y alone: 2 6 8 10 ->
     * mean 6.5, var 35/3; both: rows 0 2 4 -> means 3 and 6, cov 8. */
    assert_rel(m->mean[0], 2.75, 1e-15);
    assert_rel(m->mean[1], 6.5, 1e-15);
    assert_true(m->pair_w[0] == 4 && m->pair_w[3] == 4);
    assert_true(m->pair_w[1] == 3 && m->pair_w[2] == 3);
    assert_rel(m->pair_mean[0 * 2 + 1], 3, 1e-15);
    assert_rel(m->pair_mean[1 * 2 + 0], 6, 1e-15);
    double cov[4];
    cx_moments_covariance(m, 1.0, cov);
    assert_rel(cov[0], 8.75 / 3, 1e-14);
    assert_rel(cov[3], 35.0 / 3, 1e-14);
    assert_rel(cov[1], 8, 1e-14);
    assert_rel(cov[2], 8, 1e-14);
    cx_moments_covariance(m, 0.0, cov);
    assert_rel(cov[1], 16.0 / 3, 1e-14);

    /* merge of two pairwise summaries equals one pass */
    cx_moments *a = cx_moments_alloc(2, CX_MISSING_PAIRWISE, &err);
    cx_moments *b = cx_moments_alloc(2, CX_MISSING_PAIRWISE, &err);
    assert_int_equal(cx_moments_add_block(a, small_xy, 3, 5, NULL, &err), CX_OK);
    assert_int_equal(cx_moments_add_block(b, small_xy + 3, 2, 5, NULL, &err), CX_OK);
    cx_moments_merge(a, b);
    for (int i = 0; i < 4; i++) {
        assert_rel(a->pair_m2[i], m->pair_m2[i], 1e-14);
        assert_rel(a->pair_mean[i], m->pair_mean[i], 1e-15);
    }
    assert_true(a->n_rows == 5);
    cx_moments_free(a);
    cx_moments_free(b);
    cx_moments_free(m);
}

static void test_pairwise_equals_listwise_without_missing(void **state)
{
    (void)state;
    size_t n = 1500, p = 4;
    double *x = random_data(n, p, 1e6, 1.0);
    cx_error err = {0};
    cx_moments *pw = cx_moments_alloc(p, CX_MISSING_PAIRWISE, &err);
    cx_moments *lw = cx_moments_alloc(p, CX_MISSING_LISTWISE, &err);
    add_in_blocks(pw, x, n, p, NULL, 400);
    add_in_blocks(lw, x, n, p, NULL, 400);
    double cp[16], cl[16];
    cx_moments_covariance(pw, 1.0, cp);
    cx_moments_covariance(lw, 1.0, cl);
    for (size_t i = 0; i < p * p; i++)
        assert_rel(cp[i], cl[i], 1e-9); /* pairwise merges plain means of 1e6 */
    compare_with_textbook(lw, x, n, p, NULL, 1.0, 1e-10);
    cx_moments_free(pw);
    cx_moments_free(lw);
    free(x);
}

static void test_empty_gives_nan(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_moments *m = cx_moments_alloc(2, CX_MISSING_LISTWISE, &err);
    double one[2] = {4, 5}, cov[4];
    assert_int_equal(cx_moments_add_block(m, one, 1, 1, NULL, &err), CX_OK);
    cx_moments_covariance(m, 1.0, cov);
    assert_true(isnan(cov[0])); /* one row: no sample variance */
    cx_moments_covariance(m, 0.0, cov);
    assert_true(cov[0] == 0);
    cx_moments_free(m);

    /* every row has a missing value: nothing is counted, nothing is made up */
    m = cx_moments_alloc(2, CX_MISSING_LISTWISE, &err);
    double holes[6] = {1, NAN, 3, NAN, 2, NAN}; /* 3 rows x 2 columns */
    assert_int_equal(cx_moments_add_block(m, holes, 3, 3, NULL, &err), CX_OK);
    assert_true(cx_moments_n(m) == 0);
    cx_moments_covariance(m, 1.0, cov);
    for (int k = 0; k < 4; k++)
        assert_true(isnan(cov[k]));
    cx_moments_free(m);
}

/* ---- cx_stats_compute over a view ------------------------------------- */

/* A memory table of n rows: x0..x2 (with some NaN), group g in 0..3
 * (row i -> (i * 7) % 4, so every block holds every level), weight w. */
typedef struct view_fixture {
    cx_table *t;
    size_t n;
    double *x; /* n x 3 column-major */
    double *g, *w;
} view_fixture;

static void fixture_make(view_fixture *f, size_t n, double shift)
{
    cx_error err = {0};
    f->n = n;
    f->x = random_data(n, 3, shift, 1.5);
    f->g = malloc(n * sizeof *f->g);
    f->w = malloc(n * sizeof *f->w);
    for (size_t i = 0; i < n; i++) {
        f->g[i] = (double)((i * 7) % 4);
        f->w[i] = 0.5 + uniform01();
        if (i % 97 == 5)
            f->x[i + (i % 3) * n] = NAN;
    }
    f->t = cx_table_memory_alloc("mem:/stats", n, &err);
    assert_non_null(f->t);
    const char *names[3] = {"x0", "x1", "x2"};
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(
            cx_table_memory_add_column(f->t, names[j], CX_COL_FLOAT, f->x + j * n, NULL, 0, &err),
            CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "g", CX_COL_INT, f->g, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "w", CX_COL_FLOAT, f->w, NULL, 0, &err),
                     CX_OK);
}

static void fixture_free(view_fixture *f)
{
    cx_table_close(f->t);
    free(f->x);
    free(f->g);
    free(f->w);
}

/* The rows of level `level` (or all when level < 0), compacted. */
static size_t select_rows(const view_fixture *f, double level, double *x, double *w)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (level < 0 || f->g[i] == level)
            k++;
    size_t r = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (level >= 0 && f->g[i] != level)
            continue;
        for (size_t j = 0; j < 3; j++)
            x[r + j * k] = f->x[i + j * f->n];
        w[r++] = f->w[i];
    }
    return k;
}

static void test_compute_groups_and_weights(void **state)
{
    (void)state;
    view_fixture f;
    fixture_make(&f, 200000, 50.0); /* 4 blocks of CX_BLOCK_ROWS */
    cx_error err = {0};
    cx_view v;
    cx_view_init(&v, f.t, NULL);
    int gcol = cx_table_find(f.t, "g"), wcol = cx_table_find(f.t, "w");
    assert_int_equal(cx_view_set_groups(&v, &gcol, 1, &err), CX_OK);
    assert_int_equal(v.n_levels, 4);
    int cols[3] = {0, 1, 2};
    cx_moments *m[4];
    assert_int_equal(cx_stats_compute(&v, cols, 3, wcol, CX_MISSING_LISTWISE, m, &err), CX_OK);
    double *x = malloc(f.n * 3 * sizeof *x), *w = malloc(f.n * sizeof *w);
    for (size_t l = 0; l < 4; l++) {
        size_t k = select_rows(&f, (double)l, x, w);
        compare_with_textbook(m[l], x, k, 3, w, 1.0, 1e-11);
        cx_moments_free(m[l]);
    }
    /* unweighted, pairwise, one level */
    cx_view plain;
    cx_view_init(&plain, f.t, NULL);
    cx_moments *pw;
    assert_int_equal(cx_stats_compute(&plain, cols, 3, -1, CX_MISSING_PAIRWISE, &pw, &err), CX_OK);
    cx_moments *ref = cx_moments_alloc(3, CX_MISSING_PAIRWISE, &err);
    assert_int_equal(cx_moments_add_block(ref, f.x, f.n, f.n, NULL, &err), CX_OK);
    assert_true(pw->n_rows == ref->n_rows);
    for (size_t i = 0; i < 9; i++) {
        assert_rel(pw->pair_m2[i], ref->pair_m2[i], 1e-11);
        assert_rel(pw->pair_mean[i], ref->pair_mean[i], 1e-12);
        assert_true(pw->pair_w[i] == ref->pair_w[i]);
    }
    cx_moments_free(pw);
    cx_moments_free(ref);
    /* a restricted view (how the engine fits one `by` level) gives that level */
    cx_view one = cx_view_restrict_level(&v, 2);
    cx_moments *m2;
    assert_int_equal(cx_stats_compute(&one, cols, 3, -1, CX_MISSING_LISTWISE, &m2, &err), CX_OK);
    size_t k = select_rows(&f, 2.0, x, w);
    compare_with_textbook(m2, x, k, 3, NULL, 1.0, 1e-11);
    cx_moments_free(m2);
    free(x);
    free(w);
    cx_view_free(&v);
    cx_view_free(&plain);
    fixture_free(&f);
}

static void test_compute_same_for_any_thread_count(void **state)
{
    (void)state;
    view_fixture f;
    fixture_make(&f, 300000, 1e9); /* the hard case, across 5 blocks */
    cx_error err = {0};
    cx_view v;
    cx_view_init(&v, f.t, NULL);
    int cols[3] = {0, 1, 2};
    cx_moments *one, *many;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(cx_stats_compute(&v, cols, 3, 4, CX_MISSING_LISTWISE, &one, &err), CX_OK);
    omp_set_num_threads(4); /* more threads than cores: still the same bits */
    assert_int_equal(cx_stats_compute(&v, cols, 3, 4, CX_MISSING_LISTWISE, &many, &err), CX_OK);
    omp_set_num_threads(saved);
    assert_memory_equal(one->mean, many->mean, 3 * sizeof(double));
    assert_memory_equal(one->m2, many->m2, 9 * sizeof(double));
    assert_true(one->sum_w == many->sum_w);
    double *x = malloc(f.n * 3 * sizeof *x), *w = malloc(f.n * sizeof *w);
    size_t k = select_rows(&f, -1, x, w);
    compare_with_textbook(one, x, k, 3, w, 1.0, 1e-9);
    free(x);
    free(w);
    cx_moments_free(one);
    cx_moments_free(many);
    cx_view_free(&v);
    fixture_free(&f);
}

static void test_compute_negative_weight_names_column(void **state)
{
    (void)state;
    view_fixture f;
    fixture_make(&f, 70000, 0.0);
    f.w[69000] = -2;
    cx_table_close(f.t);
    cx_error err = {0};
    f.t = cx_table_memory_alloc("mem:/neg", f.n, &err);
    assert_int_equal(cx_table_memory_add_column(f.t, "x0", CX_COL_FLOAT, f.x, NULL, 0, &err),
                     CX_OK);
    assert_int_equal(cx_table_memory_add_column(f.t, "wt", CX_COL_FLOAT, f.w, NULL, 0, &err),
                     CX_OK);
    cx_view v;
    cx_view_init(&v, f.t, NULL);
    int col = 0;
    cx_moments *m = NULL;
    assert_int_equal(cx_stats_compute(&v, &col, 1, 1, CX_MISSING_LISTWISE, &m, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "weight column 'wt'"));
    assert_non_null(strstr(err.msg, "-2"));
    assert_null(m);
    cx_view_free(&v);
    fixture_free(&f);
}

/* cx_xprod_add against the plain triple loop, for widths on both sides of
 * the register kernel's tiles (1..XPROD_MAX_COLS, and one past it: DSYRK)
 * and row counts that are and are not multiples of 8 and of its chunk;
 * sums accumulate onto what is there; a NaN reaches its own column's
 * square and sum. */
static void test_xprod_matches_naive(void **state)
{
    (void)state;
    const size_t widths[] = {1, 2, 3, 4, 5, 6, 8, 11, 13, 21, 32, 33};
    const size_t lengths[] = {0, 1, 7, 8, 255, 256, 257, 1000, 4099};
    size_t ld = 4100, len = ld * 33 + 3; /* columns start 3 values in */
    double *x = malloc(len * sizeof *x), c[33 * 33], sum[33], ref[33 * 33], rsum[33];
    assert_non_null(x);
    for (size_t i = 0; i < len; i++)
        x[i] = sin(0.37 * (double)i) * 4 + (double)(i % 7) - 3;
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
            size_t q = widths[w], n = lengths[l];
            for (size_t i = 0; i < q * q; i++)
                c[i] = ref[i] = 0.5; /* added onto */
            for (size_t j = 0; j < q; j++)
                sum[j] = rsum[j] = 1.5;
            cx_xprod_add(x + 3, ld, n, q, c, sum);
            double c2[33 * 33];
            for (size_t i = 0; i < q * q; i++)
                c2[i] = 0.5;
            cx_xprod_add(x + 3, ld, n, q, c2, NULL); /* no sums wanted: the same X'X */
            assert_memory_equal(c, c2, q * q * sizeof *c);
            for (size_t j = 0; j < q; j++) {
                for (size_t r = 0; r < n; r++)
                    rsum[j] += x[3 + j * ld + r];
                for (size_t i = 0; i <= j; i++)
                    for (size_t r = 0; r < n; r++)
                        ref[j * q + i] += x[3 + i * ld + r] * x[3 + j * ld + r];
            }
            for (size_t j = 0; j < q; j++) {
                if (fabs(sum[j] - rsum[j]) > 1e-12 * (1 + fabs(rsum[j])) * (double)(n + 1))
                    fail_msg("q %zu n %zu: sum %zu %.17g vs %.17g", q, n, j, sum[j], rsum[j]);
                for (size_t i = 0; i <= j; i++)
                    if (fabs(c[j * q + i] - ref[j * q + i]) >
                        1e-12 * (1 + fabs(ref[j * q + i])) * (double)(n + 1))
                        fail_msg("q %zu n %zu: c[%zu,%zu] %.17g vs %.17g", q, n, i, j, c[j * q + i],
                                 ref[j * q + i]);
            }
        }
    x[3 + 2 * ld + 100] = NAN; /* column 2, row 100 */
    double c5[25] = {0}, s5[5] = {0};
    cx_xprod_add(x + 3, ld, 1000, 5, c5, s5);
    assert_true(isnan(c5[2 * 5 + 2]) && isnan(s5[2]));
    assert_true(isfinite(c5[1 * 5 + 1]) && isfinite(c5[4 * 5 + 3]) && isfinite(s5[4]));
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_data_matches_two_pass),
        cmocka_unit_test(test_large_mean_small_variance),
        cmocka_unit_test(test_merge_equals_one_pass),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_negative_weight_rejected),
        cmocka_unit_test(test_listwise_drops_rows),
        cmocka_unit_test(test_small_integers_exact_path),
        cmocka_unit_test(test_tiny_integer_kernel_matches_dsyrk_path),
        cmocka_unit_test(test_tiny_kernel_range),
        cmocka_unit_test(test_pairwise_known_values),
        cmocka_unit_test(test_pairwise_equals_listwise_without_missing),
        cmocka_unit_test(test_empty_gives_nan),
        cmocka_unit_test(test_compute_groups_and_weights),
        cmocka_unit_test(test_compute_same_for_any_thread_count),
        cmocka_unit_test(test_compute_negative_weight_names_column),
        cmocka_unit_test(test_xprod_matches_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
