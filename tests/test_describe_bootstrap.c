/*
 * test_describe_bootstrap.c — `bootstrap = B` for describe: the item
 * means of every replicate, recomputed by hand from cx_boot_count (each
 * item over its own present values), give the engine's bootstrap SEs and
 * percentile intervals; 1 and 2 threads agree bit for bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bootci.h"
#include "model.h"
#include "resample.h"

extern const cx_model cx_model_describe;

#define N 3000
#define P 3
#define B 150

static double x[P * N];

static cx_table *make_table(void)
{
    cx_error err = {0};
    uint64_t s = 7;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < P; j++) {
            s = cx_mix64(s);
            x[j * N + i] = (i * 3 + j) % 41 == 0 ? NAN : (double)(1 + s % 5 + (j == 2 ? s % 3 : 0));
        }
    cx_table *t = cx_table_memory_alloc("mem:/describe_boot", N, &err);
    const char *names[P] = {"a", "b", "c"};
    for (size_t j = 0; j < P; j++)
        assert_int_equal(
            cx_table_memory_add_column(t, names[j], CX_COL_INT, x + j * N, NULL, 0, &err), CX_OK);
    return t;
}

typedef struct run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *result;
    cx_error err;
} run;

static void run_describe(run *r, cx_table *t, int threads)
{
    memset(r, 0, sizeof *r);
    r->config = cx_config_parse_string("[job d]\nmodel = describe\nitems = a b c\n", "t.ini",
                                       &r->err);
    assert_non_null(r->config);
    cx_view_init(&r->view, t, NULL);
    r->job = (cx_job){.name = "d",
                      .config = r->config,
                      .section = &r->config->jobs[0],
                      .view = &r->view,
                      .weight_col = -1,
                      .seed = 11,
                      .bootstrap = B,
                      .bootstrap_cluster = -1,
                      .level = 0.95,
                      .threads = threads};
    r->result = cx_result_alloc(0.95, &r->err);
    if (cx_model_describe.fit(&r->job, &r->result, &r->err) != CX_OK)
        fail_msg("describe failed: %s", r->err.msg);
}

static void run_free(run *r)
{
    cx_result_free(r->result);
    cx_view_free(&r->view);
    cx_config_free(r->config);
}

static double cell(const cx_result *r, size_t row, const char *col)
{
    const cx_rtable *t = cx_result_find_table(r, "estimates");
    assert_non_null(t);
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0 && row < t->nrows);
    return t->cols[c].d[row];
}

static void test_means_by_hand(void **state)
{
    (void)state;
    cx_table *t = make_table();
    run r;
    run_describe(&r, t, 2);
    for (size_t j = 0; j < P; j++) {
        double reps[B], sum = 0, n = 0;
        for (size_t i = 0; i < N; i++)
            if (!isnan(x[j * N + i])) {
                sum += x[j * N + i];
                n++;
            }
        for (size_t b = 0; b < B; b++) {
            double k = 0, kx = 0;
            for (size_t i = 0; i < N; i++) {
                double c = cx_boot_count(11, b, i);
                if (!isnan(x[j * N + i])) {
                    k += c;
                    kx += c * x[j * N + i];
                }
            }
            reps[b] = kx / k;
        }
        cx_boot_summary s;
        cx_boot_summarise(reps, B, sum / n, 0.95, &s);
        assert_true(fabs(cell(r.result, j, "est") - sum / n) < 1e-12);
        assert_true(fabs(cell(r.result, j, "se") - s.se) < 1e-12);
        assert_true(fabs(cell(r.result, j, "ci_lower") - s.perc[0]) < 1e-12);
        assert_true(fabs(cell(r.result, j, "ci_upper") - s.perc[1]) < 1e-12);
        /* sd/sqrt(n) and the bootstrap se estimate the same thing */
        assert_true(s.se > 0.7 * sqrt(1.0 / n) && s.se < 3.0 / sqrt(n));
    }
    assert_non_null(cx_result_find_table(r.result, "bootstrap"));
    run_free(&r);
    cx_table_close(t);
}

static void test_threads_identical(void **state)
{
    (void)state;
    cx_table *t = make_table();
    run a, b;
    run_describe(&a, t, 1);
    run_describe(&b, t, 2);
    for (size_t j = 0; j < P; j++) {
        double u = cell(a.result, j, "se"), v = cell(b.result, j, "se");
        assert_memory_equal(&u, &v, sizeof u);
    }
    run_free(&a);
    run_free(&b);
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_means_by_hand),
        cmocka_unit_test(test_threads_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
