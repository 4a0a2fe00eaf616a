/*
 * test_panel_reference.c — `model = panel` end to end against plm 2.6.
 *
 * For each tests/reference/panel_<data>.json (scripts/make_panel_refs.R)
 * the matching configs/reference/panel_<data>.ini (one job per case:
 * method x effect x se) runs through cx_run into a results file, read back
 * with refcheck's reader.  Each case compares every coefficient (est, se;
 * none missing, none extra), r2, adj_r2, nobs, n_units, n_periods, the
 * residual df and the F (chisq for random) statistic, and for random the
 * variance components, at 1e-6 relative.  Data: Grunfeld (balanced),
 * EmplUK (unbalanced), EmplUK with holes inside units (`where`) and
 * lag/diff terms that must follow the year, not the row order.
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

#include "json.h"
#include "refcheck.h"
#include "run.h"
#include "tabletest.h"

#define RTOL 1e-6
#define ATOL 1e-12

typedef struct estimates {
    size_t n;
    char **op, **rhs;
    double *est, *se;
} estimates;

static void estimates_free(estimates *e)
{
    ref_strings_free(e->op, e->n);
    ref_strings_free(e->rhs, e->n);
    free(e->est);
    free(e->se);
}

static int read_estimates(ref_results *res, const char *job, estimates *e)
{
    cx_error err = {0};
    size_t n1, n2, n3;
    e->op = ref_results_column_strings(res, job, "estimates", "op", &e->n, &err);
    e->rhs = ref_results_column_strings(res, job, "estimates", "rhs", &n1, &err);
    e->est = ref_results_column_double(res, job, "estimates", "est", &n2, &err);
    e->se = ref_results_column_double(res, job, "estimates", "se", &n3, &err);
    return e->op && e->rhs && e->est && e->se;
}

/* The value of fit measure `name` (NaN when absent). */
static double fit_value(ref_results *res, const char *job, const char *name)
{
    cx_error err = {0};
    size_t n, n2;
    char **m = ref_results_column_strings(res, job, "fit", "measure", &n, &err);
    double *v = ref_results_column_double(res, job, "fit", "value", &n2, &err);
    double out = NAN;
    for (size_t i = 0; m && v && i < n; i++)
        if (strcmp(m[i], name) == 0)
            out = v[i];
    ref_strings_free(m, m ? n : 0);
    free(v);
    return out;
}

static void check_case(ref_results *res, const json_value *c, ref_report *rep)
{
    const char *job = ref_json_string(rep, c, "name");
    cx_error err = {0};
    char *status = ref_results_attr_string(res, job, "status", &err);
    if (!status || strcmp(status, "ok") != 0) {
        char *msg = ref_results_attr_string(res, job, "message", &err);
        ref_report_fail(rep, "%s: status '%s' (%s), expected ok", job, status ? status : "none",
                        msg ? msg : "");
        free(msg);
    }
    free(status);
    estimates e = {0};
    if (!read_estimates(res, job, &e)) {
        ref_report_fail(rep, "%s: no estimates table", job);
        estimates_free(&e);
        return;
    }
    const json_value *terms = json_get(c, "terms");
    size_t nt = json_array_len(terms);
    if (e.n != nt)
        ref_report_fail(rep, "%s: %zu estimates rows, plm has %zu", job, e.n, nt);
    char what[256];
    for (size_t t = 0; t < nt; t++) {
        const char *term = json_string(json_array_at(terms, t));
        int icpt = term && strcmp(term, "(Intercept)") == 0;
        size_t row = e.n;
        for (size_t i = 0; term && i < e.n; i++)
            if (icpt ? strcmp(e.op[i], "~1") == 0
                     : strcmp(e.op[i], "~") == 0 && strcmp(e.rhs[i], term) == 0)
                row = i;
        if (row == e.n) {
            ref_report_fail(rep, "%s: no estimate for '%s'", job, term ? term : "?");
            continue;
        }
        snprintf(what, sizeof what, "%s: %s.est", job, term);
        ref_report_check_json(rep, what, e.est[row], json_array_at(json_get(c, "est"), t), RTOL,
                              ATOL);
        snprintf(what, sizeof what, "%s: %s.se", job, term);
        ref_report_check_json(rep, what, e.se[row], json_array_at(json_get(c, "se_values"), t),
                              RTOL, ATOL);
    }
    estimates_free(&e);
    /* r2_within/between/overall: Stata's, computed by hand in R */
    static const char *const fits[][2] = {{"r2", "r2"},
                                          {"adj_r2", "adj_r2"},
                                          {"nobs", "nobs"},
                                          {"n_units", "n_units"},
                                          {"n_periods", "n_periods"},
                                          {"df_residual", "df_residual"},
                                          {"r2_within", "r2_within"},
                                          {"r2_between", "r2_between"},
                                          {"r2_overall", "r2_overall"}};
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        snprintf(what, sizeof what, "%s: fit %s", job, fits[i][0]);
        ref_report_check_field(rep, what, fit_value(res, job, fits[i][0]), c, fits[i][1], RTOL,
                               ATOL);
    }
    const char *stat = ref_json_string(rep, c, "stat_name");
    snprintf(what, sizeof what, "%s: fit %s", job, stat);
    ref_report_check_field(rep, what, fit_value(res, job, stat), c, "stat", RTOL, ATOL);
    const json_value *s2 = json_get(c, "sigma2");
    if (s2) {
        ref_report_check_field(rep, "sigma2_idios", fit_value(res, job, "sigma2_idios"), s2,
                               "idios", RTOL, ATOL);
        const char *eff = json_get(s2, "id") ? "id" : "time";
        ref_report_check_field(rep, "sigma2_effect", fit_value(res, job, "sigma2_effect"), s2, eff,
                               RTOL, ATOL);
        if (json_get(s2, "id") && json_get(s2, "time")) /* two-way: both components */
            ref_report_check_field(rep, "sigma2_time", fit_value(res, job, "sigma2_time"), s2,
                                   "time", RTOL, ATOL);
    }
}

/* The `tests` table of a job against plm's phtest, pFtest, plmtest. */
static void check_tests(ref_results *res, const json_value *c, ref_report *rep)
{
    const char *job = ref_json_string(rep, c, "name");
    const json_value *tests = json_get(c, "tests");
    cx_error err = {0};
    size_t n = 0, n2;
    char **names = ref_results_column_strings(res, job, "tests", "test", &n, &err);
    if (!names) {
        ref_report_fail(rep, "%s: no tests table", job);
        return;
    }
    static const char *const cols[] = {"statistic", "df1", "df2", "pvalue"};
    double *v[4];
    for (int k = 0; k < 4; k++)
        v[k] = ref_results_column_double(res, job, "tests", cols[k], &n2, &err);
    if (n != json_object_len(tests))
        ref_report_fail(rep, "%s: %zu tests, plm has %zu", job, n, json_object_len(tests));
    for (size_t t = 0; t < json_object_len(tests); t++) {
        const char *name = json_object_key(tests, t);
        const json_value *want = json_object_value(tests, t);
        size_t row = n;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], name) == 0)
                row = i;
        if (row == n) {
            ref_report_fail(rep, "%s: no test '%s'", job, name);
            continue;
        }
        for (int k = 0; k < 4; k++) {
            if (!json_get(want, cols[k]))
                continue; /* df2 only for the F test */
            char what[256];
            snprintf(what, sizeof what, "%s: %s.%s", job, name, cols[k]);
            ref_report_check_field(rep, what, v[k] ? v[k][row] : NAN, want, cols[k], RTOL, ATOL);
        }
    }
    ref_strings_free(names, n);
    for (int k = 0; k < 4; k++)
        free(v[k]);
}

/* The validation table (split "holdout") against predict() on held-out rows. */
static void check_validation(ref_results *res, const json_value *c, ref_report *rep)
{
    const char *job = ref_json_string(rep, c, "name");
    const json_value *want = json_get(c, "validation");
    cx_error err = {0};
    size_t n = 0, n2 = 0, n3 = 0;
    char **split = ref_results_column_strings(res, job, "validation", "split", &n, &err);
    char **metric = ref_results_column_strings(res, job, "validation", "metric", &n2, &err);
    double *value = ref_results_column_double(res, job, "validation", "value", &n3, &err);
    if (!split || !metric || !value || n != json_object_len(want))
        ref_report_fail(rep, "%s: validation table has %zu rows, expected %zu", job, n,
                        json_object_len(want));
    for (size_t k = 0; split && metric && value && k < json_object_len(want); k++) {
        const char *name = json_object_key(want, k);
        double got = NAN;
        for (size_t i = 0; i < n; i++)
            if (strcmp(split[i], "holdout") == 0 && strcmp(metric[i], name) == 0)
                got = value[i];
        char what[256];
        snprintf(what, sizeof what, "%s: validation %s", job, name);
        ref_report_check_json(rep, what, got, json_object_value(want, k), RTOL, ATOL);
    }
    /* The estimates are the fit to ALL rows (as ols/logit/cfa); the
     * validation table's n_train is the training fit's nobs. */
    ref_report_check_field(rep, "nobs (all rows)", fit_value(res, job, "nobs"), c, "nobs_all", RTOL,
                           ATOL);
    estimates e = {0};
    const json_value *terms = json_get(c, "terms");
    if (!read_estimates(res, job, &e) || e.n != json_array_len(terms))
        ref_report_fail(rep, "%s: %zu estimates, the all-rows plm fit has %zu", job, e.n,
                        json_array_len(terms));
    for (size_t t = 0; t < json_array_len(terms); t++) {
        const char *term = json_string(json_array_at(terms, t));
        int icpt = term && strcmp(term, "(Intercept)") == 0;
        double got = NAN;
        for (size_t i = 0; term && i < e.n; i++)
            if (icpt ? strcmp(e.op[i], "~1") == 0
                     : strcmp(e.op[i], "~") == 0 && strcmp(e.rhs[i], term) == 0)
                got = e.est[i];
        char what[256];
        snprintf(what, sizeof what, "%s: %s.est (all rows)", job, term ? term : "?");
        ref_report_check_json(rep, what, got, json_array_at(json_get(c, "est_all"), t), RTOL, ATOL);
    }
    estimates_free(&e);
    ref_strings_free(split, split ? n : 0);
    ref_strings_free(metric, metric ? n2 : 0);
    free(value);
}

/* The compare table (rows a, b) and the two J tests. */
static void check_compare(ref_results *res, const json_value *c, ref_report *rep)
{
    const char *job = ref_json_string(rep, c, "name");
    cx_error err = {0};
    size_t n = 0, n2;
    char **model = ref_results_column_strings(res, job, "compare", "model", &n, &err);
    if (!model || n != 2) {
        ref_report_fail(rep, "%s: compare table has %zu rows, expected 2", job, n);
        ref_strings_free(model, model ? n : 0);
        return;
    }
    static const char *const cols[] = {"aic", "bic", "r2", "nobs"};
    for (int k = 0; k < 4; k++) {
        double *v = ref_results_column_double(res, job, "compare", cols[k], &n2, &err);
        for (size_t i = 0; i < 2; i++) {
            char what[256];
            snprintf(what, sizeof what, "%s: compare[%s].%s", job, model[i], cols[k]);
            ref_report_check_field(rep, what, v ? v[i] : NAN, json_get(c, model[i]), cols[k],
                                   RTOL, ATOL);
        }
        free(v);
    }
    char **test = ref_results_column_strings(res, job, "tests", "test", &n2, &err);
    double *stat = ref_results_column_double(res, job, "tests", "statistic", &n2, &err);
    static const char *const j[] = {"j_b_in_a", "j_a_in_b", "vuong"};
    for (int k = 0; k < 3; k++) {
        double got = NAN;
        for (size_t i = 0; test && stat && i < n2; i++)
            if (strcmp(test[i], j[k]) == 0)
                got = stat[i];
        char what[256];
        snprintf(what, sizeof what, "%s: %s", job, j[k]);
        ref_report_check_field(rep, what, got, c, j[k], RTOL, ATOL);
    }
    ref_strings_free(model, n);
    ref_strings_free(test, test ? n2 : 0);
    free(stat);
}

static void run_reference(const char *data)
{
    char ini[1024], dir[] = "/tmp/cx_panelref_XXXXXX", out[512];
    snprintf(ini, sizeof ini, "%s/configs/reference/panel_%s.ini", CX_SOURCE_DIR, data);
    char name[256];
    snprintf(name, sizeof name, "panel_%s", data);
    json_value *ref = tt_reference_json(name);
    ref_results *res = tt_run_config(ini, dir, out, sizeof out);
    const json_value *cases = json_get(ref, "cases");
    size_t n = json_array_len(cases);
    assert_true(n >= 35);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const json_value *c = json_array_at(cases, i);
        ref_report rep;
        ref_report_init(&rep, data, "plm");
        check_case(res, c, &rep);
        /* est + se per term, 10 fit values, 2 variance components for random */
        const json_value *s2 = json_get(c, "sigma2");
        int want = 2 * (int)json_array_len(json_get(c, "terms")) + 10 + (s2 ? 2 : 0) +
                   (json_get(s2, "id") && json_get(s2, "time") ? 1 : 0);
        ref_report_require(&rep, want);
        failed += ref_report_finish(&rep);
    }
    const json_value *tcases = json_get(ref, "test_cases");
    assert_int_equal(json_array_len(tcases), 3);
    for (size_t i = 0; i < json_array_len(tcases); i++) {
        const json_value *c = json_array_at(tcases, i);
        ref_report rep;
        ref_report_init(&rep, data, "plm");
        check_tests(res, c, &rep);
        /* statistic, df1, pvalue per test, df2 for f_effects */
        ref_report_require(&rep, 3 * (int)json_object_len(json_get(c, "tests")) + 1);
        failed += ref_report_finish(&rep);
    }
    const json_value *vcases = json_get(ref, "validation_cases");
    assert_int_equal(json_array_len(vcases), 4);
    for (size_t i = 0; i < json_array_len(vcases); i++) {
        const json_value *c = json_array_at(vcases, i);
        ref_report rep;
        ref_report_init(&rep, data, "plm");
        check_validation(res, c, &rep);
        /* n_train, n_test, r2, rmse, mae, nobs, the all-rows estimates */
        ref_report_require(&rep, 6 + (int)json_array_len(json_get(c, "terms")));
        failed += ref_report_finish(&rep);
    }
    const json_value *ccases = json_get(ref, "compare_cases");
    for (size_t i = 0; i < json_array_len(ccases); i++) {
        ref_report rep;
        ref_report_init(&rep, data, "plm");
        check_compare(res, json_array_at(ccases, i), &rep);
        ref_report_require(&rep, 11); /* 4 values x 2 models, 2 J tests, Vuong */
        failed += ref_report_finish(&rep);
    }
    if (strcmp(data, "grunfeld") == 0)
        assert_int_equal(json_array_len(ccases), 3);
    ref_results_close(res);
    unlink(out);
    rmdir(dir);
    json_free(ref);
    if (failed)
        fail_msg("panel_%s: %d of %zu plm cases differ", data, failed, n);
}

static void test_grunfeld(void **state)
{
    (void)state;
    run_reference("grunfeld");
}

static void test_empluk(void **state)
{
    (void)state;
    run_reference("empluk");
}

static void test_empluk_gaps(void **state)
{
    (void)state;
    run_reference("emplukgaps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grunfeld),
        cmocka_unit_test(test_empluk),
        cmocka_unit_test(test_empluk_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
