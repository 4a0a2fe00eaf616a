/*
 * test_reliability_recovery.c — `model = reliability` recovers the
 * reliability of the simulated CX panel's scales (datasets/demo.h5, the
 * default `cxfit simulate`; docs/SIMULATE.md) from the generating
 * loadings in its /truth table.
 *
 * The truth: within a firm-wave cell, item i's latent response is
 * y*_i = lambda_i eta + sqrt(1 - lambda_i^2) e_i with unit variances, so
 * the scale of 5 items has, on the latent scale,
 *     omega = (sum lambda)^2 / ((sum lambda)^2 + sum (1 - lambda^2)),
 *     standardized alpha = k rbar / (1 + (k - 1) rbar), rbar the mean of
 *     lambda_i lambda_j over pairs.
 * The items are 7-point codings of y*: coarsening multiplies every item
 * correlation by c_i c_j ~ 0.94 (test_recovery.c derives c ~ 0.97), which
 * lowers a reliability of ~0.85 by ~0.015; pooling over firms adds the
 * firm quality's variance (~0.07) to the factor, which raises it by
 * ~0.01.  With ~9 800 rows the sampling sd of alpha is ~0.003.  Hence
 * |estimate - latent truth| <= 0.03 for alpha, omega and the average r's
 * reliability, and tighter checks that cannot pass by accident:
 *  - out4 is stored reverse-keyed: with `-out4` every corrected
 *    item-total correlation is positive (> 0.3); without it, out4's is
 *    negative and alpha drops by more than 0.1;
 *  - the scales' omega hierarchical (bifactor) lies below every scale's
 *    omega total.
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
#include "tabletest.h"

extern const cx_model cx_model_reliability;

static const char *const scales[4] = {"PEX", "OUT", "MOT", "POM"};
static const char *const prefix[4] = {"pex", "out", "mot", "pom"};

typedef struct run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *result;
    cx_error err;
} run;

static void fit(run *r, cx_table *t, const char *scales_key)
{
    memset(r, 0, sizeof *r);
    char text[1024];
    snprintf(text, sizeof text, "[job r]\nmodel = reliability\nscales = %s\n", scales_key);
    r->config = cx_config_parse_string(text, "t.ini", &r->err);
    assert_non_null(r->config);
    cx_view_init(&r->view, t, NULL);
    r->job = (cx_job){.name = "r",
                      .config = r->config,
                      .section = &r->config->jobs[0],
                      .view = &r->view,
                      .weight_col = -1,
                      .bootstrap_cluster = -1,
                      .level = 0.95,
                      .seed = 1};
    r->result = cx_result_alloc(0.95, &r->err);
    int rc = cx_model_reliability.check(&r->job, &r->err);
    if (rc == CX_OK)
        rc = cx_model_reliability.fit(&r->job, &r->result, &r->err);
    if (rc != CX_OK)
        fail_msg("%s", r->err.msg);
}

static void run_free(run *r)
{
    cx_result_free(r->result);
    cx_view_free(&r->view);
    cx_config_free(r->config);
}

static double cell(const cx_result *r, const char *table, size_t row, const char *col)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    assert_true(row < t->nrows);
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].type == CX_RCOL_INT ? (double)t->cols[c].i[row] : t->cols[c].d[row];
}

static void test_recovers_truth(void **state)
{
    (void)state;
    cx_error err = {0};
    const char *h5 = CX_SOURCE_DIR "/datasets/demo.h5";
    cx_table *truth = cx_table_open(h5, "/truth", &err),
             *data = cx_table_open(h5, "/responses", &err);
    if (!truth || !data)
        fail_msg("%s", err.msg);
    run r;
    fit(&r, data,
        "PEX: pex1 pex2 pex3 pex4 pex5\n OUT: out1 out2 out3 -out4 out5\n"
        " MOT: mot1 mot2 mot3 mot4 mot5\n POM: pom1 pom2 pom3 pom4 pom5");
    double min_omega = 1;
    for (size_t s = 0; s < 4; s++) {
        double sum = 0, sum2 = 0;
        for (int i = 1; i <= 5; i++) {
            char item[16];
            snprintf(item, sizeof item, "%s%d", prefix[s], i);
            double l = fabs(tt_truth_value(truth, scales[s], "=~", item));
            sum += l;
            sum2 += l * l;
        }
        double omega = sum * sum / (sum * sum + 5 - sum2);
        double rbar = (sum * sum - sum2) / 20, alpha = 5 * rbar / (1 + 4 * rbar);
        double got_alpha = cell(r.result, "reliability", s, "std_alpha");
        double got_omega = cell(r.result, "reliability", s, "omega");
        printf("  %s: alpha %.4f (latent %.4f), omega %.4f (latent %.4f)\n", scales[s], got_alpha,
               alpha, got_omega, omega);
        assert_true(fabs(got_alpha - alpha) <= 0.03);
        assert_true(fabs(got_omega - omega) <= 0.03);
        for (size_t i = 0; i < 5; i++)
            assert_true(cell(r.result, "items", 5 * s + i, "r_drop") > 0.3);
        min_omega = fmin(min_omega, got_omega);
    }
    const cx_rtable *bif = cx_result_find_table(r.result, "bifactor");
    assert_non_null(bif);
    double omega_h = cell(r.result, "bifactor", 0, "omega");
    assert_true(omega_h > 0 && omega_h < min_omega);

    run plain; /* out4 left as answered */
    fit(&plain, data, "OUT: out1 out2 out3 out4 out5");
    assert_true(cell(plain.result, "items", 3, "r_drop") < 0);
    assert_true(cell(plain.result, "reliability", 0, "raw_alpha") <
                cell(r.result, "reliability", 1, "raw_alpha") - 0.1);
    run_free(&plain);
    run_free(&r);
    cx_table_close(truth);
    cx_table_close(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_recovers_truth)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
