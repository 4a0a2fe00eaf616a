/*
 * test_logit_cases.c — `model = logit` on small in-memory tables: complete
 * separation (a warning naming the separating term), quasi-complete
 * separation, outcomes that are not binary, a three-level factor outcome,
 * bad `se` values, aliased columns reported as NA, kfold validation
 * (K rows per metric, every row held out once), and the same estimates for
 * 1 and 2 threads.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "refcheck.h"

extern const cx_model cx_model_logit;

#define N 200

typedef struct run {
    cx_table *t;
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *result;
    int rc;
    cx_error err;
} run;

/* y depends on x (noisy) unless `separate`; x2 = 2 x (aliased) ; g: 10
 * clusters; sep: 1 exactly where y is 1 when `separate`. */
static cx_table *make_table(double y_value_for_bad)
{
    static double y[N], x[N], x2[N], g[N], z[N];
    unsigned long s = 12345;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005UL + 1442695040888963407UL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        x[i] = (double)i / N - 0.5;
        x2[i] = 2 * x[i];
        y[i] = u < 1 / (1 + exp(-3 * x[i])) ? 1 : 0;
        if (i == N - 1)
            y[i] = y_value_for_bad;
        z[i] = y[i] + 0.1 * (double)(i % 7); /* separates y completely: z >= 1 iff y */
        g[i] = (double)(i % 10);
    }
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/logit", N, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "y", CX_COL_FLOAT, y, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "x2", CX_COL_FLOAT, x2, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "z", CX_COL_FLOAT, z, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "g", CX_COL_INT, g, NULL, 0, &err), CX_OK);
    return t;
}

static void fit(run *r, cx_table *t, const char *keys, int threads, long kfold)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    char text[512];
    snprintf(text, sizeof text, "[job j]\nmodel = logit\n%s\n", keys);
    r->config = cx_config_parse_string(text, "t.ini", &r->err);
    assert_non_null(r->config);
    cx_view_init(&r->view, t, NULL);
    r->job.name = "j";
    r->job.config = r->config;
    r->job.section = &r->config->jobs[0];
    r->job.view = &r->view;
    r->job.weight_col = -1;
    r->job.level = 0.95;
    r->job.seed = 7;
    r->job.threads = threads;
    if (kfold) {
        r->job.validate = CX_VALIDATE_KFOLD;
        r->job.kfold = kfold;
    }
    r->result = cx_result_alloc(0.95, &r->err);
    r->rc = cx_model_logit.check(&r->job, &r->err);
    if (r->rc == CX_OK)
        r->rc = cx_model_logit.fit(&r->job, &r->result, &r->err);
}

static void run_free(run *r)
{
    cx_result_free(r->result);
    cx_view_free(&r->view);
    cx_config_free(r->config);
    cx_table_close(r->t);
}

static double col(const cx_result *r, const char *table, const char *c, size_t row)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    assert_true(row < t->nrows);
    int k = cx_rtable_find_column(t, c);
    assert_true(k >= 0);
    return t->cols[k].d[row];
}

static void test_complete_separation(void **state)
{
    (void)state;
    run r;
    fit(&r, make_table(0), "formula = y ~ x + z", 2, 0);
    assert_int_equal(r.rc, CX_OK);
    const char *msg = r.result->message ? r.result->message : "";
    if (!strstr(msg, "separation") || !strstr(msg, "z"))
        fail_msg("status %s, message '%s': expected separation by z",
                 cx_status_name(r.result->status), msg);
    run_free(&r);
}

static void test_bad_outcomes(void **state)
{
    (void)state;
    run r;
    fit(&r, make_table(2), "formula = y ~ x", 1, 0);
    assert_int_not_equal(r.rc, CX_OK);
    if (!strstr(r.err.msg, "outcome is 2") || !strstr(r.err.msg, "row 200"))
        fail_msg("unexpected error: %s", r.err.msg);
    run_free(&r);
    fit(&r, make_table(0), "formula = factor(g) ~ x", 1, 0);
    assert_int_not_equal(r.rc, CX_OK);
    if (!strstr(r.err.msg, "10 levels"))
        fail_msg("unexpected error: %s", r.err.msg);
    run_free(&r);
    const char *bad_se[] = {"se = hc4", "se = cluster(nope)", "se = robust"};
    for (size_t i = 0; i < 3; i++) {
        char keys[128];
        snprintf(keys, sizeof keys, "formula = y ~ x\n%s", bad_se[i]);
        fit(&r, make_table(0), keys, 1, 0);
        assert_int_equal(r.rc, CX_EUSAGE);
        if (!strstr(r.err.msg, "t.ini") || !strstr(r.err.msg, "se"))
            fail_msg("error does not name file and key: %s", r.err.msg);
        run_free(&r);
    }
    fit(&r, make_table(0), "formula = y ~ nope", 1, 0);
    assert_int_equal(r.rc, CX_EUSAGE);
    assert_non_null(strstr(r.err.msg, "nope"));
    run_free(&r);
    fit(&r, make_table(0), "se = hc0", 1, 0);
    assert_int_equal(r.rc, CX_EUSAGE);
    assert_non_null(strstr(r.err.msg, "formula"));
    run_free(&r);
}

static void test_aliased_column(void **state)
{
    (void)state;
    run r;
    fit(&r, make_table(0), "formula = y ~ x + x2", 1, 0);
    assert_int_equal(r.rc, CX_OK);
    assert_true(isfinite(col(r.result, "estimates", "est", 1)));
    assert_true(isnan(col(r.result, "estimates", "est", 2)));
    assert_non_null(strstr(r.result->message, "x2"));
    run_free(&r);
}

static void test_threads_and_kfold(void **state)
{
    (void)state;
    run a, b;
    fit(&a, make_table(0), "formula = y ~ x\nse = cluster(g)", 1, 5);
    fit(&b, make_table(0), "formula = y ~ x\nse = cluster(g)", 2, 5);
    assert_int_equal(a.rc, CX_OK);
    assert_int_equal(b.rc, CX_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_true(col(a.result, "estimates", "est", i) == col(b.result, "estimates", "est", i));
        assert_true(col(a.result, "estimates", "se", i) == col(b.result, "estimates", "se", i));
    }
    /* x's true slope is 3: the estimate is within 3 SEs (n = 200) */
    double est = col(a.result, "estimates", "est", 1), se = col(a.result, "estimates", "se", 1);
    if (fabs(est - 3) > 3 * se)
        fail_msg("slope %g (se %g) far from 3", est, se);
    const cx_rtable *v = cx_result_find_table(a.result, "validation");
    assert_non_null(v);
    assert_int_equal(v->nrows, 5 * 5);
    double held = 0;
    for (size_t i = 0; i < v->nrows; i++) {
        int m = cx_rtable_find_column(v, "metric"), val = cx_rtable_find_column(v, "value");
        if (!strcmp(v->cols[m].s[i], "n"))
            held += v->cols[val].d[i];
        else if (!strcmp(v->cols[m].s[i], "auc"))
            assert_true(v->cols[val].d[i] > 0.5 && v->cols[val].d[i] <= 1);
    }
    assert_true(held == N); /* every row is held out exactly once */
    run_free(&a);
    run_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_separation),
        cmocka_unit_test(test_bad_outcomes),
        cmocka_unit_test(test_aliased_column),
        cmocka_unit_test(test_threads_and_kfold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
