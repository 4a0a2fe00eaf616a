/*
 * test_logit_recovery.c — recovery of a known truth: 20000 rows drawn from
 * a binary logit, a proportional-odds logit (latent x'b + logistic noise
 * cut at known thresholds) and a three-level multinomial logit; each
 * family's estimates must lie within 4 standard errors of the generating
 * values (a fixed seed, so the test is deterministic; a sign or scale
 * error in a score or an information block moves them by many SEs).
 * (`cxfit simulate` has no logit truth: its ltr/sat are rounded normal
 * latent regressions on latent factors.)
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

extern const cx_model cx_model_logit, cx_model_ologit, cx_model_mlogit;

#define N 20000

static double x1[N], x2[N], ybin[N], yord[N], ymul[N];

/* splitmix64: a plain LCG's successive draws are too dependent here */
static double uniform(unsigned long *s)
{
    unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static void draw(void)
{
    unsigned long s = 2026;
    const double cuts[3] = {-1, 0.5, 2};
    for (size_t i = 0; i < N; i++) {
        x1[i] = 2 * uniform(&s) - 1 + 0.5 * (uniform(&s) - 0.5);
        x2[i] = uniform(&s) * 2;
        double eta = 0.5 + 1.0 * x1[i] - 0.7 * x2[i];
        ybin[i] = uniform(&s) < 1 / (1 + exp(-eta));
        double u = uniform(&s), latent = 1.0 * x1[i] - 0.7 * x2[i] + log(u / (1 - u));
        yord[i] = (latent > cuts[0]) + (latent > cuts[1]) + (latent > cuts[2]);
        double e2 = exp(0.2 + 1.0 * x1[i] - 0.5 * x2[i]),
               e3 = exp(-0.3 - 0.8 * x1[i] + 0.6 * x2[i]);
        double v = uniform(&s) * (1 + e2 + e3);
        ymul[i] = v < 1 ? 0 : v < 1 + e2 ? 1 : 2;
    }
}

/* Fit `formula` with `model`; compare estimates row by row with truth[]. */
static void recover(const cx_model *model, const char *formula, const double *truth, size_t n)
{
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/rec", N, &err);
    assert_non_null(t);
    const char *names[] = {"x1", "x2", "ybin", "yord", "ymul"};
    const double *cols[] = {x1, x2, ybin, yord, ymul};
    for (size_t c = 0; c < 5; c++)
        assert_int_equal(
            cx_table_memory_add_column(t, names[c], CX_COL_FLOAT, cols[c], NULL, 0, &err), CX_OK);
    char text[256];
    snprintf(text, sizeof text, "[job r]\nmodel = %s\nformula = %s\n", model->name, formula);
    cx_config *cfg = cx_config_parse_string(text, "rec.ini", &err);
    assert_non_null(cfg);
    cx_view view;
    cx_view_init(&view, t, NULL);
    cx_job job = {.name = "r",
                  .config = cfg,
                  .section = &cfg->jobs[0],
                  .view = &view,
                  .weight_col = -1,
                  .level = 0.95,
                  .seed = 1,
                  .threads = 2};
    cx_result *r = cx_result_alloc(0.95, &err);
    int rc = model->check(&job, &err);
    if (rc == CX_OK)
        rc = model->fit(&job, &r, &err);
    if (rc != CX_OK)
        fail_msg("%s: %s", model->name, err.msg);
    assert_int_equal(r->status, CX_STATUS_OK);
    const cx_rtable *est = cx_result_find_table(r, "estimates");
    assert_non_null(est);
    assert_int_equal(est->nrows, n);
    int ce = cx_rtable_find_column(est, "est"), cs = cx_rtable_find_column(est, "se");
    for (size_t i = 0; i < n; i++) {
        double e = est->cols[ce].d[i], se = est->cols[cs].d[i];
        printf("%s row %zu: %.4f (se %.4f) truth %.2f\n", model->name, i, e, se, truth[i]);
        if (!(fabs(e - truth[i]) < 4 * se) || !(se > 0 && se < 0.2))
            fail_msg("%s row %zu: %g (se %g) vs truth %g", model->name, i, e, se, truth[i]);
    }
    cx_result_free(r);
    cx_view_free(&view);
    cx_config_free(cfg);
    cx_table_close(t);
}

static void test_recovery(void **state)
{
    (void)state;
    draw();
    const double b_logit[] = {0.5, 1.0, -0.7};
    recover(&cx_model_logit, "ybin ~ x1 + x2", b_logit, 3);
    const double b_ologit[] = {1.0, -0.7, -1, 0.5, 2};
    recover(&cx_model_ologit, "factor(yord) ~ x1 + x2", b_ologit, 5);
    const double b_mlogit[] = {0.2, 1.0, -0.5, -0.3, -0.8, 0.6};
    recover(&cx_model_mlogit, "factor(ymul) ~ x1 + x2", b_mlogit, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_recovery)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
