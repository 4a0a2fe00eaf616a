/*
 * test_polychoric.c — thresholds and polychoric correlations of
 * models/sem/polychoric.c on small tables, against lavaan 0.6.14's
 * lav_bvord_cor_twostep_fit (values below from R): lavaan's special cases
 * of 2 x 2 tables (one empty cell: 0.5 moved in keeping the margins; two
 * empty cells: +-1; equal cross products: 0; both thresholds 0: the closed
 * form -cos(2 pi p11)) and ML estimates of 3 x 3 tables, one with empty
 * cells (no adjustment beyond 2 x 2, as lavaan's zero.add[2] = 0).
 * lavaan's iterative values carry its nlminb tolerance (up to ~3e-8 seen on
 * bfi), hence 5e-8 there; the closed forms are held to 1e-14.  Sampling
 * weights: a table as weighted rows equals its expanded rows (1e-12).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../models/sem/polychoric.h"

typedef struct table_case {
    size_t r, c;
    double n[9]; /* row-major counts: rows = item 1's category */
    double want, tol;
} table_case;

static const table_case cases[] = {
    {2, 2, {693, 0, 548, 759}, 0.959697424084865, 5e-8},
    {2, 2, {500, 0, 0, 500}, 1.0, 1e-14},
    {2, 2, {300, 200, 200, 300}, 0.309016994374947, 1e-14},
    {2, 2, {100, 200, 300, 600}, 0.0, 1e-14},
    {3, 3, {50, 30, 5, 40, 90, 35, 10, 45, 120}, 0.69223308717301, 5e-8},
    {3, 3, {20, 0, 0, 15, 60, 5, 0, 30, 70}, 0.930537019215176, 5e-8},
};

/* The rows of a table as a two-column block (codes 1.. as in R). */
static double polychoric_of(const table_case *t)
{
    size_t n = 0;
    for (size_t k = 0; k < t->r * t->c; k++)
        n += (size_t)t->n[k];
    double *data = calloc(2 * n, sizeof *data);
    size_t *level = calloc(n, sizeof *level), *row = calloc(n, sizeof *row);
    assert_true(data && level && row);
    size_t i = 0;
    for (size_t a = 0; a < t->r; a++)
        for (size_t b = 0; b < t->c; b++)
            for (size_t m = 0; m < (size_t)t->n[a * t->c + b]; m++, i++) {
                data[i] = (double)(a + 1);
                data[n + i] = (double)(b + 1);
                row[i] = i;
            }
    size_t start[2] = {0, n};
    cx_block blk = {n, n, data, level, row, 1, start, NULL};
    static const char *const names[2] = {"y1", "y2"};
    sem_ord_count_params par = {2, 1, names, -1};
    cx_error err = {0};
    void *acc = sem_ord_counts.alloc(&par, &err);
    assert_non_null(acc);
    assert_int_equal(sem_ord_counts.add_block(acc, &blk, &err), CX_OK);
    sem_ord_stats s;
    assert_int_equal(sem_ord_stats_from_counts(acc, 0, names, 0.0, &s, &err), CX_OK);
    assert_int_equal(s.n, (double)n);
    double rho = s.rho[1 * 2 + 0];
    assert_true(rho == s.rho[0 * 2 + 1]);
    /* thresholds: qnorm of the cumulative proportions of item 1 */
    double cum = 0;
    for (size_t a = 0; a + 1 < t->r; a++) {
        for (size_t b = 0; b < t->c; b++)
            cum += t->n[a * t->c + b];
        double p = cum / (double)n, th = s.th[a];
        assert_true(fabs(0.5 * erfc(-th / sqrt(2.0)) - p) < 1e-14);
    }
    sem_ord_stats_clear(&s);
    sem_ord_counts.free(acc);
    free(data);
    free(level);
    free(row);
    return rho;
}

static void test_tables_against_lavaan(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof *cases;
    for (size_t k = 0; k < n; k++) {
        double rho = polychoric_of(&cases[k]);
        if (!(fabs(rho - cases[k].want) <= cases[k].tol))
            fail_msg("table %zu: rho %.15g, lavaan %.15g", k + 1, rho, cases[k].want);
    }
    assert_int_equal(n, 6);
}

/* A value that is not an integer code is an error naming the item. */
static void test_bad_code(void **state)
{
    (void)state;
    double data[4] = {1, 2.5, 1, 2};
    size_t level[2] = {0, 0}, row[2] = {0, 1}, start[2] = {0, 2};
    cx_block blk = {2, 2, data, level, row, 1, start, NULL};
    static const char *const names[2] = {"q1", "q2"};
    sem_ord_count_params par = {2, 1, names, -1};
    cx_error err = {0};
    void *acc = sem_ord_counts.alloc(&par, &err);
    assert_non_null(acc);
    assert_int_equal(sem_ord_counts.add_block(acc, &blk, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "'q1'"));
    sem_ord_counts.free(acc);
}

/* Sampling weights in pass 1: one row per cell weighted by its count
 * gives the thresholds and polychoric of the expanded rows (weighted
 * proportions, weighted likelihood), and wscale scales N only.  A
 * negative weight fails naming its table row. */
static void test_weighted_counts(void **state)
{
    (void)state;
    const table_case *t = &cases[4];
    double data[3 * 9];
    size_t level[9] = {0}, row[9], start[2] = {0, 9};
    for (size_t k = 0; k < 9; k++) {
        data[k] = (double)(k / 3 + 1);
        data[9 + k] = (double)(k % 3 + 1);
        data[18 + k] = t->n[k];
        row[k] = k;
    }
    cx_block blk = {9, 9, data, level, row, 1, start, NULL};
    static const char *const names[2] = {"y1", "y2"};
    sem_ord_count_params par = {2, 1, names, 2};
    cx_error err = {0};
    void *acc = sem_ord_counts.alloc(&par, &err);
    assert_non_null(acc);
    assert_int_equal(sem_ord_counts.add_block(acc, &blk, &err), CX_OK);
    double rows, sum_w;
    sem_ord_counts_size(acc, 0, &rows, &sum_w);
    assert_true(rows == 9 && sum_w == 425);
    sem_ord_stats s;
    assert_int_equal(sem_ord_stats_from_counts(acc, 0, names, rows / sum_w, &s, &err), CX_OK);
    assert_true(fabs(s.n - 9) < 1e-12 && s.rows == 9);
    double rho = s.rho[1 * 2 + 0], want = polychoric_of(t);
    if (!(fabs(rho - want) <= 1e-12))
        fail_msg("weighted rho %.15g, expanded rows %.15g", rho, want);
    assert_true(fabs(0.5 * erfc(-s.th[0] / sqrt(2.0)) - 85.0 / 425) < 1e-14);
    sem_ord_stats_clear(&s);
    data[18 + 4] = -1;
    sem_ord_counts.reset(acc);
    assert_int_equal(sem_ord_counts.add_block(acc, &blk, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "row 5"));
    sem_ord_counts.free(acc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_against_lavaan),
        cmocka_unit_test(test_bad_code),
        cmocka_unit_test(test_weighted_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
