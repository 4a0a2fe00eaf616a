/*
 * test_panel_recovery.c — configs/nps_growth.ini recovers the simulator's
 * growth coefficient.
 *
 * `cxfit simulate` draws revenue_growth_fw = 0.02 + 0.001 nps_f,w-1 + u_f
 * + e_fw (docs/SIMULATE.md; the value is read from /truth).  The test
 * simulates a larger panel than the demo (60 firms x 8 waves, 120
 * respondents per cell), runs the shipped config on it unchanged but for
 * the data file — NPS per firm x wave from the responses, joined with
 * /firms, growth on lag(nps, 1) with firm effects and firm-clustered SEs —
 * and checks that the truth lies inside the 95% CI of the within and the
 * random-effects fits, that the CI is narrow enough to mean something
 * (width < the truth itself), and that the holdout and tests tables are
 * there with finite values.
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
#include "table.h"
#include "tabletest.h"

/* The /truth value of revenue_growth ~ lag(nps, 1). */
static double truth_growth_slope(const char *h5)
{
    return tt_truth_value_in(h5, "revenue_growth", "~", "lag(nps, 1)");
}

static void estimate_of(ref_results *res, const char *job, const char *rhs, double *est, double *lo,
                        double *hi)
{
    cx_error err = {0};
    size_t n, n1, n2, n3;
    char **r = ref_results_column_strings(res, job, "estimates", "rhs", &n, &err);
    double *e = ref_results_column_double(res, job, "estimates", "est", &n1, &err);
    double *l = ref_results_column_double(res, job, "estimates", "ci_lower", &n2, &err);
    double *h = ref_results_column_double(res, job, "estimates", "ci_upper", &n3, &err);
    assert_non_null(r);
    assert_non_null(e);
    *est = *lo = *hi = NAN;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i], rhs) == 0) {
            *est = e[i];
            *lo = l[i];
            *hi = h[i];
        }
    ref_strings_free(r, n);
    free(e);
    free(l);
    free(h);
}

static void test_nps_growth_recovers_truth(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_panelrec_XXXXXX", h5[512], ini[512], out[512];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/cx.h5", dir);
    snprintf(ini, sizeof ini, "%s/nps_growth.ini", dir);
    snprintf(out, sizeof out, "%s/results.h5", dir);
    cx_error err = {0};
    cx_simulate_options o = {60, 8, 120, 7};
    if (cx_simulate(&o, h5, &err))
        fail_msg("simulate: %s", err.msg);
    double truth = truth_growth_slope(h5);
    assert_true(truth > 0);
    tt_config_with_data(CX_SOURCE_DIR "/configs/nps_growth.ini", "file  = ../datasets/demo.h5", h5, ini);
    ref_results *res = tt_run_to(ini, out);
    const char *jobs[] = {"growth_nps", "growth_nps_re"};
    for (int j = 0; j < 2; j++) {
        double est, lo, hi;
        estimate_of(res, jobs[j], "lag(nps, 1)", &est, &lo, &hi);
        printf("%s: lag(nps, 1) = %.6f [%.6f, %.6f], truth %.6f\n", jobs[j], est, lo, hi, truth);
        assert_true(lo <= truth && truth <= hi);
        assert_true(hi - lo < truth);
    }
    size_t n;
    double *v = ref_results_column_double(res, "growth_nps", "validation", "value", &n, &err);
    assert_non_null(v);
    assert_int_equal(n, 5); /* n_train, n_test, r2, rmse, mae */
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(v[i]));
    free(v);
    double *t = ref_results_column_double(res, "growth_nps", "tests", "statistic", &n, &err);
    assert_non_null(t);
    assert_int_equal(n, 3);
    free(t);
    ref_results_close(res);
    unlink(out);
    unlink(ini);
    unlink(h5);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nps_growth_recovers_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
