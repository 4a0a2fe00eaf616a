/*
 * test_mixed_recovery.c — `model = mixed` recovers known variance
 * components.
 *
 * The test draws an unbalanced two-level data set with GSL (seed fixed):
 * 300 groups of 5..35 rows, y = 2 + 0.5 x + a_g + b_g x + e with
 * a_g ~ N(0, 0.6), b_g ~ N(0, 0.09), corr(a_g, b_g) = 0.3, e ~ N(0, 1.5),
 * writes it to HDF5 and fits `y ~ x + (1 | g)` to the rows drawn without
 * slopes and `y ~ x + (x | g)` to the rows drawn with them, by REML and ML.
 * Each true variance, covariance and fixed effect must lie inside the 95%
 * Wald CI the job reports (variance_components.ci_lower/ci_upper,
 * estimates.ci_lower/ci_upper), and the random-intercept variance's CI
 * must be narrow enough to mean something (width below the truth).
 *
 * Second, on `cxfit simulate --panel 50` data (12 firms x 75 re-surveyed
 * members x 6 waves, docs/SIMULATE.md): `ltr_latent ~ wave + segment +
 * (1 | firm) + (wave | respondent)` by ML on the members recovers the
 * /truth variance of the individual slopes, of the intercepts, their
 * covariance and the residual variance within the 95% CIs, and the
 * slopes' CI excludes zero.  (Nested terms: the CHOLMOD path.)
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
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "refcheck.h"
#include "run.h"
#include "simulate.h"
#include "table.h"
#include "table_write.h"
#include "tabletest.h"

#define G 300
#define VAR_A 0.6
#define VAR_B 0.09
#define CORR_AB 0.3
#define VAR_E 1.5

static size_t write_data(const char *h5)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 18);
    size_t cap = G * 35, n = 0;
    double *g = malloc(cap * sizeof *g), *x = malloc(cap * sizeof *x),
           *y0 = malloc(cap * sizeof *y0), *y1 = malloc(cap * sizeof *y1);
    assert_non_null(g && x && y0 && y1);
    double sa = sqrt(VAR_A), sb = sqrt(VAR_B);
    for (int k = 0; k < G; k++) {
        double za = gsl_ran_ugaussian(r), zb = gsl_ran_ugaussian(r);
        double a = sa * za, b = sb * (CORR_AB * za + sqrt(1 - CORR_AB * CORR_AB) * zb);
        size_t m = 5 + gsl_rng_uniform_int(r, 31);
        for (size_t i = 0; i < m; i++, n++) {
            g[n] = k + 1;
            x[n] = gsl_ran_ugaussian(r);
            double e = gsl_ran_gaussian(r, sqrt(VAR_E));
            y0[n] = 2 + 0.5 * x[n] + a + e;
            y1[n] = 2 + 0.5 * x[n] + a + b * x[n] + e;
        }
    }
    cx_error err = {0};
    cx_table_writer *w = cx_table_writer_alloc(h5, "/data", n, &err);
    assert_non_null(w);
    const char *names[4] = {"g", "x", "y0", "y1"};
    const double *cols[4] = {g, x, y0, y1};
    for (size_t c = 0; c < 4; c++) {
        cx_column_spec spec = {.name = names[c], .kind = CX_COL_FLOAT};
        size_t idx;
        assert_int_equal(cx_table_writer_add(w, &spec, &idx, &err), CX_OK);
        assert_int_equal(cx_table_writer_write(w, idx, 0, n, cols[c], &err), CX_OK);
    }
    assert_int_equal(cx_table_writer_close(w, &err), CX_OK);
    free(g);
    free(x);
    free(y0);
    free(y1);
    gsl_rng_free(r);
    return n;
}

/* Row of variance_components (grp g, var1, var2): truth inside [lo, hi]. */
static void check_vc(ref_results *res, const char *job, const char *v1, const char *v2,
                     double truth, int narrow, int *checked)
{
    cx_error err = {0};
    size_t n, n2, n3, n4;
    char **a = ref_results_column_strings(res, job, "variance_components", "var1", &n, &err);
    char **b = ref_results_column_strings(res, job, "variance_components", "var2", &n2, &err);
    double *lo = ref_results_column_double(res, job, "variance_components", "ci_lower", &n3, &err);
    double *hi = ref_results_column_double(res, job, "variance_components", "ci_upper", &n4, &err);
    assert_non_null(a && b && lo && hi);
    size_t row = n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i], v1) && !strcmp(b[i], v2))
            row = i;
    if (row == n)
        fail_msg("%s: no variance component %s %s", job, v1, v2);
    if (!(lo[row] <= truth && truth <= hi[row]))
        fail_msg("%s: %s %s truth %g outside [%g, %g]", job, v1, v2, truth, lo[row], hi[row]);
    if (narrow && !(hi[row] - lo[row] < truth))
        fail_msg("%s: %s CI [%g, %g] wider than the truth %g", job, v1, lo[row], hi[row], truth);
    (*checked)++;
    ref_strings_free(a, n);
    ref_strings_free(b, n2);
    free(lo);
    free(hi);
}

static void check_fixed(ref_results *res, const char *job, int *checked)
{
    cx_error err = {0};
    size_t n, n2;
    double *lo = ref_results_column_double(res, job, "estimates", "ci_lower", &n, &err);
    double *hi = ref_results_column_double(res, job, "estimates", "ci_upper", &n2, &err);
    assert_non_null(lo && hi);
    assert_int_equal(n, 2);
    const double truth[2] = {2.0, 0.5};
    for (size_t j = 0; j < 2; j++) {
        if (!(lo[j] <= truth[j] && truth[j] <= hi[j]))
            fail_msg("%s: fixed effect %zu truth %g outside [%g, %g]", job, j, truth[j], lo[j],
                     hi[j]);
        (*checked)++;
    }
    free(lo);
    free(hi);
}

static void test_recovery(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_mixedrec_XXXXXX", h5[512], ini[512], out[512];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/data.h5", dir);
    snprintf(ini, sizeof ini, "%s/rec.ini", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    size_t n = write_data(h5);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f, "[data]\nfile = data.h5\ntable = /data\n\n"
               "[job ri_reml]\nmodel = mixed\nformula = y0 ~ x + (1 | g)\n\n"
               "[job ri_ml]\nmodel = mixed\nformula = y0 ~ x + (1 | g)\nreml = no\n\n"
               "[job slope_reml]\nmodel = mixed\nformula = y1 ~ x + (x | g)\n\n"
               "[job slope_ml]\nmodel = mixed\nformula = y1 ~ x + (x | g)\nreml = no\n");
    fclose(f);
    cx_error err = {0};
    ref_results *res = tt_run_to(ini, out);
    int checked = 0;
    const char *jobs[4] = {"ri_reml", "ri_ml", "slope_reml", "slope_ml"};
    for (int k = 0; k < 4; k++) {
        tt_expect_ok(res, jobs[k]);
        double nobs = 0;
        assert_int_equal(ref_results_attr_double(res, jobs[k], "nobs", &nobs, &err), 0);
        assert_true(nobs == (double)n);
        check_fixed(res, jobs[k], &checked);
        check_vc(res, jobs[k], "(Intercept)", "", VAR_A, 1, &checked);
        check_vc(res, jobs[k], "", "", VAR_E, 1, &checked);
        if (k >= 2) {
            check_vc(res, jobs[k], "x", "", VAR_B, 0, &checked);
            check_vc(res, jobs[k], "(Intercept)", "x", CORR_AB * sqrt(VAR_A * VAR_B), 0, &checked);
        }
    }
    assert_int_equal(checked, 4 * 4 + 2 * 2);
    ref_results_close(res);
    unlink(out);
    unlink(h5);
    unlink(ini);
    rmdir(dir);
}

/* ci_lower and ci_upper of variance component (grp, v1, v2). */
static void vc_bounds(ref_results *res, const char *job, const char *grp, const char *v1,
                      const char *v2, double *lower, double *upper)
{
    cx_error err = {0};
    size_t n, n1, n2, n3, n4;
    double *hi = ref_results_column_double(res, job, "variance_components", "ci_upper", &n4, &err);
    char **g = ref_results_column_strings(res, job, "variance_components", "grp", &n, &err);
    char **a = ref_results_column_strings(res, job, "variance_components", "var1", &n1, &err);
    char **b = ref_results_column_strings(res, job, "variance_components", "var2", &n2, &err);
    double *lo = ref_results_column_double(res, job, "variance_components", "ci_lower", &n3, &err);
    assert_non_null(g && a && b && lo && hi);
    *lower = *upper = NAN;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(g[i], grp) && !strcmp(a[i], v1) && !strcmp(b[i], v2)) {
            *lower = lo[i];
            *upper = hi[i];
        }
    ref_strings_free(g, n);
    ref_strings_free(a, n1);
    ref_strings_free(b, n2);
    free(lo);
    free(hi);
}

static void test_respondent_panel(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_mixedpan_XXXXXX", h5[512], ini[512], out[512];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/panel.h5", dir);
    snprintf(ini, sizeof ini, "%s/pan.ini", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    cx_simulate_options o;
    cx_simulate_defaults(&o);
    cx_error err = {0};
    if (cx_simulate_panel(&o, 50, h5, &err))
        fail_msg("simulate: %s", err.msg);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f, "[data]\nfile = panel.h5\ntable = /responses\n\n"
               "[job growth]\nmodel = mixed\n"
               "formula = ltr_latent ~ wave + segment + (1 | firm) + (wave | respondent)\n"
               "where = panel == 1\nreml = no\n");
    fclose(f);
    ref_results *res = tt_run_to(ini, out);
    tt_expect_ok(res, "growth");
    char *solver = ref_results_attr_string(res, "growth", "solver", &err);
    assert_non_null(solver);
    assert_string_equal(solver, "cholmod");
    free(solver);
    int checked = 0;
    double slope = tt_truth_value_in(h5, "respondent_slope", "~~", "respondent_slope");
    check_vc(res, "growth", "wave", "", slope, 0, &checked);
    check_vc(res, "growth", "(Intercept)", "wave",
             tt_truth_value_in(h5, "respondent_intercept", "~~", "respondent_slope"), 0, &checked);
    check_vc(res, "growth", "", "", tt_truth_value_in(h5, "ltr_latent", "~~", "ltr_latent"), 0,
             &checked);
    assert_int_equal(checked, 3);
    /* the respondents' intercept variance (the firm's also has var1 "(Intercept)") */
    double lo, hi;
    double icpt = tt_truth_value_in(h5, "respondent_intercept", "~~", "respondent_intercept");
    vc_bounds(res, "growth", "respondent", "(Intercept)", "", &lo, &hi);
    if (!(lo <= icpt && icpt <= hi))
        fail_msg("respondent intercept variance %g outside [%g, %g]", icpt, lo, hi);
    vc_bounds(res, "growth", "respondent", "wave", "", &lo, &hi);
    assert_true(lo > 0); /* the slopes' variance is detected */
    ref_results_close(res);
    unlink(out);
    unlink(h5);
    unlink(ini);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_recovery),
                                       cmocka_unit_test(test_respondent_panel)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
