/*
 * test_nps.c — `model = nps` (models/nps.c) on a small table computed by
 * hand: two `by` levels from one pass, one of them weighted (Kish
 * effective n), missing scores, the estimates row, and the errors for
 * scores outside 0..10, fractional scores and negative weights.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "refcheck.h"

extern const cx_model cx_model_nps;

#define Z95 1.959963984540054

/* Level 1: 10 9 8 7 6 0 9 10 NA 5 (weights 1): 4 promoters, 2 passives,
 * 3 detractors of 9.  Level 2: 10 3 8 with weights 2 1 1. */
#define N_ROWS 13
static const double ltr[N_ROWS] = {10, 9, 8, 7, 6, 0, 9, 10, NAN, 5, 10, 3, 8};
static const double grp[N_ROWS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2};
static const double wts[N_ROWS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1};

typedef struct nps_run {
    cx_table *t;
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *results[4];
    int rc;
    cx_error err;
} nps_run;

static cx_table *make_table(const double *score, const double *w)
{
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/nps", N_ROWS, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "ltr", CX_COL_INT, score, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "g", CX_COL_INT, grp, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "w", CX_COL_FLOAT, w, NULL, 0, &err), CX_OK);
    return t;
}

/* Check and fit like the engine does, with optional `by g` and weights. */
static void run_nps(nps_run *run, cx_table *t, int by, int weighted)
{
    memset(run, 0, sizeof *run);
    run->t = t;
    run->config = cx_config_parse_string("[job n]\nmodel = nps\nscore = ltr\n", "t.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, t, NULL);
    if (by) {
        int g = cx_table_find(t, "g");
        assert_int_equal(cx_view_set_groups(&run->view, &g, 1, &run->err), CX_OK);
    }
    run->job.name = "n";
    run->job.config = run->config;
    run->job.section = &run->config->jobs[0];
    run->job.view = &run->view;
    run->job.weight_col = weighted ? cx_table_find(t, "w") : -1;
    run->job.level = 0.95;
    for (size_t l = 0; l < run->view.n_levels; l++)
        run->results[l] = cx_result_alloc(0.95, &run->err);
    run->rc = cx_model_nps.check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = cx_model_nps.fit(&run->job, run->results, &run->err);
}

static void run_free(nps_run *run)
{
    for (size_t l = 0; l < 4; l++)
        cx_result_free(run->results[l]);
    cx_view_free(&run->view);
    cx_config_free(run->config);
    cx_table_close(run->t);
}

static double cell(const cx_result *r, const char *table, const char *col)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    assert_int_equal(t->nrows, 1);
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].type == CX_RCOL_INT ? (double)t->cols[c].i[0] : t->cols[c].d[0];
}

static void expect(const cx_result *r, const char *col, double want)
{
    double got = cell(r, "nps", col);
    if (!ref_close(got, want, 1e-12, 1e-12))
        fail_msg("nps.%s = %.17g, want %.17g", col, got, want);
}

static void test_by_levels_and_weights(void **state)
{
    (void)state;
    nps_run run;
    run_nps(&run, make_table(ltr, wts), 1, 1);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    assert_int_equal(run.view.n_levels, 2);

    /* level 1: nps = 100 (4 - 3) / 9; var = (7/9 - 1/81) / 9 = 62/729 */
    const cx_result *a = run.results[0];
    double se_a = 100 * sqrt(62.0 / 729.0);
    expect(a, "n", 9);
    expect(a, "promoters", 400.0 / 9);
    expect(a, "passives", 200.0 / 9);
    expect(a, "detractors", 300.0 / 9);
    expect(a, "nps", 100.0 / 9);
    expect(a, "se", se_a);
    expect(a, "ci_lower", 100.0 / 9 - Z95 * se_a);
    expect(a, "ci_upper", 100.0 / 9 + Z95 * se_a);
    expect(a, "n_eff", 9);
    assert_true(a->nobs == 9);

    /* level 2, weights 2 1 1: shares .5 .25 .25, nps 25, n_eff = 16/6,
     * var = (.75 - .0625) / (16/6) */
    const cx_result *b = run.results[1];
    double se_b = 100 * sqrt(0.6875 * 6.0 / 16.0);
    expect(b, "n", 3);
    expect(b, "promoters", 50);
    expect(b, "detractors", 25);
    expect(b, "nps", 25);
    expect(b, "n_eff", 16.0 / 6.0);
    expect(b, "se", se_b);
    expect(b, "ci_upper", 25 + Z95 * se_b);

    /* the estimates row: a defined parameter with the same CI */
    const cx_rtable *est = cx_result_find_table(b, "estimates");
    assert_non_null(est);
    assert_string_equal(est->cols[cx_rtable_find_column(est, "lhs")].s[0], "nps");
    assert_string_equal(est->cols[cx_rtable_find_column(est, "op")].s[0], ":=");
    assert_true(ref_close(cell(b, "estimates", "est"), 25, 1e-15, 0));
    assert_true(ref_close(cell(b, "estimates", "se"), se_b, 1e-12, 0));
    assert_true(ref_close(cell(b, "estimates", "ci_lower"), 25 - Z95 * se_b, 1e-12, 0));
    run_free(&run);
}

static void test_unweighted_all_rows(void **state)
{
    (void)state;
    nps_run run;
    run_nps(&run, make_table(ltr, wts), 0, 0);
    assert_int_equal(run.rc, CX_OK);
    /* 12 scores: 5 promoters (10 9 9 10 10), 3 passives, 4 detractors */
    const cx_result *r = run.results[0];
    double pp = 5.0 / 12, pd = 4.0 / 12;
    expect(r, "n", 12);
    expect(r, "nps", 100 * (pp - pd));
    expect(r, "se", 100 * sqrt((pp + pd - (pp - pd) * (pp - pd)) / 12));
    expect(r, "n_eff", 12);
    run_free(&run);
}

static void expect_failure(const double *score, const double *w, int weighted, int code,
                           const char *needle)
{
    nps_run run;
    run_nps(&run, make_table(score, w), 1, weighted);
    assert_int_equal(run.rc, code);
    if (!strstr(run.err.msg, needle))
        fail_msg("message '%s' lacks '%s'", run.err.msg, needle);
    run_free(&run);
}

static void test_bad_values(void **state)
{
    (void)state;
    double s[N_ROWS], w[N_ROWS];
    memcpy(s, ltr, sizeof s);
    memcpy(w, wts, sizeof w);
    s[4] = 11;
    expect_failure(s, w, 0, CX_EFAIL, "column 'ltr' has the value 11");
    s[4] = 7.5;
    /* an INT column rounds nothing in memory: 7.5 arrives as 7.5 */
    expect_failure(s, w, 0, CX_EFAIL, "whole numbers from 0 to 10");
    s[4] = 6;
    w[2] = -1;
    expect_failure(s, w, 1, CX_EUSAGE, "weight column 'w' has a negative value");
}

static void test_check_rejects_two_columns(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_config *c = cx_config_parse_string("[job n]\nmodel = nps\nscore = ltr g\n", "t.ini", &err);
    cx_table *t = make_table(ltr, wts);
    cx_view v;
    cx_view_init(&v, t, NULL);
    cx_job job = {.name = "n", .config = c, .section = &c->jobs[0], .view = &v, .weight_col = -1};
    assert_int_equal(cx_model_nps.check(&job, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "expected one column"));
    cx_view_free(&v);
    cx_table_close(t);
    cx_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_levels_and_weights),
        cmocka_unit_test(test_unweighted_all_rows),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_check_rejects_two_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
