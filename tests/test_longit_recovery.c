/*
 * test_longit_recovery.c — the longitudinal CFA of configs/longitudinal_cfa.ini
 * (the wide view of a respondent panel) recovers what `cxfit simulate
 * --panel` put in: a 100% panel of 10 firms x 200 members x 3 waves, the
 * shipped config run on it through cx_run.
 *
 * Truth (/truth, docs/SIMULATE.md "Respondent panels"): a member's factor
 * scores correlate factor_stability = 0.5 across waves, plus what the
 * firm's quality adds (variance 0.25², shared by every wave): the PEX
 * factors correlate (0.5 + 0.0625) / 1.0625 = 0.53.  Each item's residual
 * correlates item_stability = 0.3 across waves on the latent response;
 * treating the 7-point items as continuous attenuates it a little.
 * ~1500 complete members: the sampling sd of a correlation is ~0.02.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "refcheck.h"
#include "run.h"
#include "simulate.h"
#include "tabletest.h"

#define DIR CX_BINARY_DIR "/test_longit_recovery_"

typedef struct rows {
    size_t n;
    char **lhs, **op, **rhs;
    double *std_all;
} rows;

static double std_all_of(const rows *r, const char *lhs, const char *op, const char *rhs)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->lhs[i], lhs) == 0 && strcmp(r->op[i], op) == 0 && strcmp(r->rhs[i], rhs) == 0)
            return r->std_all[i];
    fail_msg("no estimate %s %s %s", lhs, op, rhs);
    return NAN;
}

static void test_longitudinal_cfa_recovers_truth(void **state)
{
    (void)state;
    const char *h5 = DIR "panel.h5", *ini = DIR "study.ini", *out = DIR "results.h5";
    unlink(h5);
    cx_simulate_options o = {10, 3, 200, 11};
    cx_error err = {0};
    if (cx_simulate_panel(&o, 100, h5, &err) != CX_OK)
        fail_msg("%s", err.msg);
    tt_config_with_data(CX_SOURCE_DIR "/configs/longitudinal_cfa.ini", "file  = ../datasets/panel.h5", h5, ini);
    unlink(out);
    ref_results *res = tt_run_to(ini, out);
    rows r = {0};
    size_t n1, n2, n3;
    const char *job = "pex_over_time";
    r.lhs = ref_results_column_strings(res, job, "estimates", "lhs", &r.n, &err);
    r.op = ref_results_column_strings(res, job, "estimates", "op", &n1, &err);
    r.rhs = ref_results_column_strings(res, job, "estimates", "rhs", &n2, &err);
    r.std_all = ref_results_column_double(res, job, "estimates", "std_all", &n3, &err);
    assert_true(r.lhs && r.op && r.rhs && r.std_all);
    const char *pairs[3][2] = {{"PEX1", "PEX2"}, {"PEX1", "PEX3"}, {"PEX2", "PEX3"}};
    for (int k = 0; k < 3; k++) {
        double c = std_all_of(&r, pairs[k][0], "~~", pairs[k][1]);
        printf("%s ~~ %s: %.3f (truth 0.53)\n", pairs[k][0], pairs[k][1], c);
        assert_true(c > 0.43 && c < 0.63);
    }
    double sum = 0;
    int m = 0;
    for (int i = 1; i <= 5; i++)
        for (int a = 1; a <= 3; a++)
            for (int b = a + 1; b <= 3; b++) {
                char x[16], y[16];
                snprintf(x, sizeof x, "pex%d_w%d", i, a);
                snprintf(y, sizeof y, "pex%d_w%d", i, b);
                double c = std_all_of(&r, x, "~~", y);
                assert_true(c > 0); /* every item's residuals correlate over time */
                sum += c, m++;
            }
    printf("mean residual correlation across waves: %.3f (latent truth 0.3)\n", sum / m);
    assert_true(sum / m > 0.2 && sum / m < 0.36);
    ref_strings_free(r.lhs, r.n);
    ref_strings_free(r.op, n1);
    ref_strings_free(r.rhs, n2);
    free(r.std_all);
    ref_results_close(res);
    unlink(out);
    unlink(ini);
    unlink(h5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longitudinal_cfa_recovers_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
