/*
 * test_nps_bootstrap.c — `bootstrap = B` for nps: the replicate NPS values
 * recomputed by hand from cx_boot_count give the engine's bootstrap SE
 * and intervals; 1 and 2 threads agree bit for bit; with many rows the
 * bootstrap SE is close to the multinomial one (both estimate the same
 * sampling sd); bootstrap_cluster draws whole units.
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

extern const cx_model cx_model_nps;

#define N 6000
#define B 300

typedef struct fixture {
    double score[N], g[N], w[N], unit[N];
    cx_table *t;
} fixture;

static void fixture_make(fixture *f)
{
    cx_error err = {0};
    uint64_t s = 99;
    for (size_t i = 0; i < N; i++) {
        s = cx_mix64(s);
        f->score[i] = (double)(s % 11);
        f->g[i] = (double)(i % 2);
        f->w[i] = 0.5 + (double)((s >> 20) % 100) / 100.0;
        f->unit[i] = (double)(i / 6);
        if (i % 97 == 3)
            f->score[i] = NAN;
    }
    f->t = cx_table_memory_alloc("mem:/npsboot", N, &err);
    assert_int_equal(cx_table_memory_add_column(f->t, "ltr", CX_COL_INT, f->score, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "g", CX_COL_INT, f->g, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "w", CX_COL_FLOAT, f->w, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(f->t, "u", CX_COL_INT, f->unit, NULL, 0, &err), CX_OK);
}

typedef struct run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *results[2];
    cx_error err;
} run;

static void run_nps(run *r, fixture *f, int threads, int weighted, int cluster)
{
    memset(r, 0, sizeof *r);
    r->config = cx_config_parse_string("[job n]\nmodel = nps\nscore = ltr\n", "t.ini", &r->err);
    assert_non_null(r->config);
    cx_view_init(&r->view, f->t, NULL);
    int g = cx_table_find(f->t, "g");
    assert_int_equal(cx_view_set_groups(&r->view, &g, 1, &r->err), CX_OK);
    r->job = (cx_job){.name = "n",
                      .config = r->config,
                      .section = &r->config->jobs[0],
                      .view = &r->view,
                      .weight_col = weighted ? cx_table_find(f->t, "w") : -1,
                      .seed = 5,
                      .bootstrap = B,
                      .bootstrap_cluster = cluster ? cx_table_find(f->t, "u") : -1,
                      .level = 0.95,
                      .threads = threads};
    for (size_t l = 0; l < 2; l++)
        r->results[l] = cx_result_alloc(0.95, &r->err);
    if (cx_model_nps.fit(&r->job, r->results, &r->err) != CX_OK)
        fail_msg("nps failed: %s", r->err.msg);
}

static void run_free(run *r)
{
    for (size_t l = 0; l < 2; l++)
        cx_result_free(r->results[l]);
    cx_view_free(&r->view);
    cx_config_free(r->config);
}

static double cell(const cx_result *r, const char *table, const char *col)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].d[0];
}

/* Replicate NPS of level l by hand. */
static double nps_by_hand(const fixture *f, size_t l, long rep, int weighted, int cluster)
{
    double sw = 0, pro = 0, det = 0;
    for (size_t i = 0; i < N; i++) {
        if (f->g[i] != (double)l || isnan(f->score[i]))
            continue;
        double k = rep < 0 ? 1
                           : cx_boot_count(5, (uint64_t)rep,
                                           cluster ? cx_value_key(f->unit[i]) : (uint64_t)i);
        double w = (weighted ? f->w[i] : 1.0) * k;
        sw += w;
        pro += f->score[i] >= 9 ? w : 0;
        det += f->score[i] <= 6 ? w : 0;
    }
    return 100 * (pro - det) / sw;
}

static void check_by_hand(int weighted, int cluster)
{
    static fixture f;
    fixture_make(&f);
    run r;
    run_nps(&r, &f, 2, weighted, cluster);
    for (size_t l = 0; l < 2; l++) {
        double t[B], t0 = nps_by_hand(&f, l, -1, weighted, cluster);
        for (long b = 0; b < B; b++)
            t[b] = nps_by_hand(&f, l, b, weighted, cluster);
        cx_boot_summary s;
        cx_boot_summarise(t, B, t0, 0.95, &s);
        const cx_result *res = r.results[l];
        assert_true(fabs(cell(res, "estimates", "est") - t0) < 1e-9);
        assert_true(fabs(cell(res, "estimates", "se") - s.se) < 1e-9);
        assert_true(fabs(cell(res, "estimates", "ci_lower") - s.perc[0]) < 1e-9);
        assert_true(fabs(cell(res, "estimates", "ci_upper") - s.perc[1]) < 1e-9);
        assert_true(fabs(cell(res, "bootstrap", "norm_lower") - s.norm[0]) < 1e-9);
        assert_true(fabs(cell(res, "bootstrap", "bca_upper") - s.bca[1]) < 1e-9);
        /* the multinomial se (nps table) estimates the same sd: B = 300
         * gives the bootstrap se a Monte Carlo sd of ~4 %; clusters of 6
         * independent rows change nothing in expectation */
        double se = cell(res, "nps", "se");
        assert_true(fabs(s.se / se - 1) < 0.2);
    }
    run_free(&r);
    cx_table_close(f.t);
}

static void test_replicates_by_hand(void **state)
{
    (void)state;
    check_by_hand(0, 0);
}

static void test_weighted_replicates_by_hand(void **state)
{
    (void)state;
    check_by_hand(1, 0);
}

static void test_cluster_replicates_by_hand(void **state)
{
    (void)state;
    check_by_hand(0, 1);
}

static void test_threads_identical(void **state)
{
    (void)state;
    static fixture f;
    fixture_make(&f);
    run a, b;
    run_nps(&a, &f, 1, 1, 0);
    run_nps(&b, &f, 2, 1, 0);
    for (size_t l = 0; l < 2; l++) {
        const char *cols[] = {"se", "ci_lower", "ci_upper"};
        for (size_t c = 0; c < 3; c++) {
            double x = cell(a.results[l], "estimates", cols[c]);
            double y = cell(b.results[l], "estimates", cols[c]);
            assert_memory_equal(&x, &y, sizeof x);
        }
    }
    run_free(&a);
    run_free(&b);
    cx_table_close(f.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicates_by_hand),
        cmocka_unit_test(test_weighted_replicates_by_hand),
        cmocka_unit_test(test_cluster_replicates_by_hand),
        cmocka_unit_test(test_threads_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
