/*
 * test_ols_reference.c — `model = ols` end to end against R: every job of
 * configs/reference/ols_reference.ini runs through cx_run, and its
 * estimates (est, se, t, p, CI, std_all), fit measures, VIF table and
 * holdout validation are compared with tests/reference/ols.json
 * (scripts/make_ols_refs.R: lm, sandwich's vcovHC HC0-HC3 and vcovCL one-
 * and two-way, weighted fits, an aliased column, `by` levels, predict() on
 * held-out rows) to 1e-6 relative.  Each case must compare at least rows x
 * columns values, so a lost row fails.
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

#define RTOL 1e-6
#define ATOL 1e-10

typedef struct ols_case {
    ref_results *res;
    const char *job;
    ref_report rep;
} ols_case;

/* Column `col` of /job/table as doubles (NULL + mismatch when absent). */
static double *column(ols_case *k, const char *table, const char *col, size_t *n)
{
    cx_error err = {0};
    double *v = ref_results_column_double(k->res, k->job, table, col, n, &err);
    if (!v)
        ref_report_fail(&k->rep, "%s/%s.%s: %s", k->job, table, col, err.msg);
    return v;
}

/* The estimates of every level, concatenated in level order. */
static void check_estimates(ols_case *k, const json_value *levels)
{
    static const char *const cols[] = {"est",      "se",       "z",      "pvalue",
                                       "ci_lower", "ci_upper", "std_all"};
    static const char *const keys[] = {"est",      "se",       "t",      "pvalue",
                                       "ci_lower", "ci_upper", "std_all"};
    size_t n = 0, total = 0;
    for (size_t l = 0; l < json_array_len(levels); l++)
        total += json_array_len(json_get(json_array_at(levels, l), "estimates"));
    for (size_t c = 0; c < 7; c++) {
        double *v = column(k, "estimates", cols[c], &n);
        if (!v)
            return;
        if (n != total)
            ref_report_fail(&k->rep, "%zu estimates rows, R has %zu", n, total);
        size_t row = 0;
        for (size_t l = 0; l < json_array_len(levels) && n == total; l++) {
            const json_value *est = json_get(json_array_at(levels, l), "estimates");
            for (size_t i = 0; i < json_array_len(est); i++, row++) {
                char what[160];
                snprintf(what, sizeof what, "level %zu %s[%s]", l + 1, cols[c],
                         json_string(json_get(json_array_at(est, i), "rhs")));
                ref_report_check_field(&k->rep, what, v[row], json_array_at(est, i), keys[c], RTOL,
                                       ATOL);
            }
        }
        free(v);
    }
}

/* Fit measures by name, every level (the levels' rows are concatenated). */
static void check_fit(ols_case *k, const json_value *levels)
{
    size_t n = 0, nm = 0;
    double *value = column(k, "fit", "value", &n);
    cx_error err = {0};
    char **measure = ref_results_column_strings(k->res, k->job, "fit", "measure", &nm, &err);
    if (!value || !measure) {
        free(value);
        ref_report_fail(&k->rep, "no fit table");
        return;
    }
    size_t start = 0;
    for (size_t l = 0; l < json_array_len(levels); l++) {
        const json_value *fit = json_get(json_array_at(levels, l), "fit");
        /* this level's rows: from `start` to the next "nobs" */
        size_t end = start + 1;
        while (end < nm && strcmp(measure[end], "nobs") != 0)
            end++;
        for (size_t m = 0; m < json_object_len(fit); m++) {
            const char *key = json_object_key(fit, m);
            size_t i = start;
            while (i < end && strcmp(measure[i], key) != 0)
                i++;
            char what[160];
            snprintf(what, sizeof what, "level %zu fit[%s]", l + 1, key);
            ref_report_check_json(&k->rep, what, i < end ? value[i] : NAN,
                                  json_object_value(fit, m), RTOL, ATOL);
        }
        start = end;
    }
    free(value);
    ref_strings_free(measure, nm);
}

static void check_vif(ols_case *k, const json_value *levels)
{
    size_t total = 0;
    for (size_t l = 0; l < json_array_len(levels); l++)
        total += json_array_len(json_get(json_array_at(levels, l), "vif"));
    if (total == 0)
        return;
    size_t n = 0, n2 = 0;
    double *vif = column(k, "vif", "vif", &n), *adj = column(k, "vif", "vif_adj", &n2);
    if (vif && adj && n == total) {
        size_t row = 0;
        for (size_t l = 0; l < json_array_len(levels); l++) {
            const json_value *v = json_get(json_array_at(levels, l), "vif");
            for (size_t i = 0; i < json_array_len(v); i++, row++) {
                const json_value *r = json_array_at(v, i);
                ref_report_check_field(&k->rep, "vif", vif[row], r, "vif", RTOL, ATOL);
                ref_report_check_field(&k->rep, "vif_adj", adj[row], r, "vif_adj", RTOL, ATOL);
            }
        }
    } else {
        ref_report_fail(&k->rep, "vif: %zu rows, R has %zu", n, total);
    }
    free(vif);
    free(adj);
}

static void check_validation(ols_case *k, const json_value *want)
{
    size_t n = 0, nm = 0;
    double *value = column(k, "validation", "value", &n);
    cx_error err = {0};
    char **metric = ref_results_column_strings(k->res, k->job, "validation", "metric", &nm, &err);
    for (size_t m = 0; value && metric && m < json_object_len(want); m++) {
        const char *key = json_object_key(want, m);
        size_t i = 0;
        while (i < nm && strcmp(metric[i], key) != 0)
            i++;
        char what[64];
        snprintf(what, sizeof what, "validation[%s]", key);
        ref_report_check_json(&k->rep, what, i < nm ? value[i] : NAN, json_object_value(want, m),
                              RTOL, ATOL);
    }
    free(value);
    if (metric)
        ref_strings_free(metric, nm);
}

static int expected_count(const json_value *c)
{
    const json_value *levels = json_get(c, "levels");
    int n = 0;
    for (size_t l = 0; l < json_array_len(levels); l++) {
        const json_value *lv = json_array_at(levels, l);
        n += 7 * (int)json_array_len(json_get(lv, "estimates"));
        n += (int)json_object_len(json_get(lv, "fit"));
        n += 2 * (int)json_array_len(json_get(lv, "vif"));
    }
    return n + (int)json_object_len(json_get(c, "validation"));
}

/* drivers: per driver std_beta, johnson, lmg (R: brute-force LMG over all
 * subsets, Johnson's weights from the eigen decomposition), r2, nobs;
 * and the shares sum to R^2. */
static int check_drivers(ref_results *res, const json_value *cases, long *total)
{
    static const char *const cols[] = {"std_beta", "johnson", "lmg"};
    int failed = 0;
    for (size_t i = 0; i < json_object_len(cases); i++) {
        ols_case k = {.res = res, .job = json_object_key(cases, i)};
        const json_value *c = json_object_value(cases, i);
        ref_report_init(&k.rep, k.job, "R brute force");
        size_t kd = json_array_len(json_get(c, "drivers"));
        double sum_j = 0, sum_l = 0;
        for (size_t m = 0; m < 3; m++) {
            size_t n = 0;
            double *v = column(&k, "drivers", cols[m], &n);
            if (v && n != kd)
                ref_report_fail(&k.rep, "%zu drivers rows, R has %zu", n, kd);
            for (size_t j = 0; v && n == kd && j < kd; j++) {
                char what[64];
                snprintf(what, sizeof what, "%s[%s]", cols[m],
                         json_string(json_array_at(json_get(c, "drivers"), j)));
                ref_report_check_json(&k.rep, what, v[j], json_array_at(json_get(c, cols[m]), j),
                                      RTOL, ATOL);
                sum_j += m == 1 ? v[j] : 0;
                sum_l += m == 2 ? v[j] : 0;
            }
            free(v);
        }
        size_t n = 0, nm = 0;
        double *value = column(&k, "fit", "value", &n);
        cx_error err = {0};
        char **measure = ref_results_column_strings(res, k.job, "fit", "measure", &nm, &err);
        for (size_t m = 0; value && measure && m < nm; m++) {
            if (strcmp(measure[m], "r2") == 0) {
                ref_report_check_field(&k.rep, "r2", value[m], c, "r2", RTOL, ATOL);
                ref_report_check_field(&k.rep, "sum johnson", sum_j, c, "r2", 1e-9, ATOL);
                ref_report_check_field(&k.rep, "sum lmg", sum_l, c, "r2", 1e-9, ATOL);
            }
            if (strcmp(measure[m], "nobs") == 0)
                ref_report_check_field(&k.rep, "nobs", value[m], c, "nobs", 0, 0);
        }
        free(value);
        if (measure)
            ref_strings_free(measure, nm);
        ref_report_require(&k.rep, 3 * (int)kd + 4);
        fprintf(stderr, "%-26s %4d values checked, %d mismatches\n", k.job, k.rep.n_checked,
                k.rep.n_failed);
        if (k.rep.n_failed)
            fputs(ref_report_text(&k.rep), stderr);
        failed += k.rep.n_failed;
        *total += k.rep.n_checked;
        ref_report_free(&k.rep);
    }
    return failed;
}

/* gap: per pair (and `by` level, concatenated) against t.test(paired). */
static int check_gap(ref_results *res, const json_value *cases, long *total)
{
    static const char *const cols[] = {"n",      "mean_expected", "mean_perceived", "gap",
                                       "se",     "ci_lower",      "ci_upper",       "t",
                                       "pvalue", "d_z",           "below"};
    static const char *const keys[] = {"n",      "expected", "perceived", "gap",
                                       "se",     "ci_lower", "ci_upper",  "t",
                                       "pvalue", "d_z",      "below"};
    int failed = 0;
    for (size_t i = 0; i < json_object_len(cases); i++) {
        ols_case k = {.res = res, .job = json_object_key(cases, i)};
        const json_value *rows = json_get(json_object_value(cases, i), "rows");
        ref_report_init(&k.rep, k.job, "R t.test");
        size_t nr = json_array_len(rows);
        for (size_t m = 0; m < 11; m++) {
            size_t n = 0;
            double *v = column(&k, "gap", cols[m], &n);
            if (v && n != nr)
                ref_report_fail(&k.rep, "%zu gap rows, R has %zu", n, nr);
            for (size_t j = 0; v && n == nr && j < nr; j++) {
                char what[64];
                snprintf(what, sizeof what, "row %zu %s", j + 1, cols[m]);
                ref_report_check_field(&k.rep, what, v[j], json_array_at(rows, j), keys[m], RTOL,
                                       1e-300);
            }
            free(v);
        }
        ref_report_require(&k.rep, 11 * (int)nr);
        fprintf(stderr, "%-26s %4d values checked, %d mismatches\n", k.job, k.rep.n_checked,
                k.rep.n_failed);
        if (k.rep.n_failed)
            fputs(ref_report_text(&k.rep), stderr);
        failed += k.rep.n_failed;
        *total += k.rep.n_checked;
        ref_report_free(&k.rep);
    }
    return failed;
}

static void test_ols_reference(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/ols.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    char dir[] = "/tmp/cx_ols_ref_XXXXXX", out[256];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/results.h5", dir);
    cx_run_options opt = {.config_path = CX_SOURCE_DIR "/configs/reference/ols_reference.ini",
                          .output_path = out,
                          .threads = 2,
                          .quiet = 1};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fprintf(stderr, "cx_run: %d %s\n", rc, err.msg);
    ref_results *res = ref_results_open(out, &err);
    assert_non_null(res);
    const json_value *cases = json_get(ref, "ols");
    int failed = 0, n_cases = 0;
    long total = 0;
    for (size_t i = 0; i < json_object_len(cases); i++) {
        ols_case k = {.res = res, .job = json_object_key(cases, i)};
        const json_value *c = json_object_value(cases, i);
        ref_report_init(&k.rep, k.job, "R lm+sandwich");
        char *status = ref_results_attr_string(res, k.job, "status", &err);
        if (!status || strcmp(status, "ok") != 0)
            ref_report_fail(&k.rep, "status %s", status ? status : "(none)");
        if (json_get(c, "aliased")) {
            char *msg = ref_results_attr_string(res, k.job, "message", &err);
            if (!msg || !strstr(msg, json_string(json_get(c, "aliased"))))
                ref_report_fail(&k.rep, "message '%s' does not name the aliased column",
                                msg ? msg : "");
            free(msg);
        }
        free(status);
        check_estimates(&k, json_get(c, "levels"));
        check_fit(&k, json_get(c, "levels"));
        check_vif(&k, json_get(c, "levels"));
        if (json_get(c, "validation"))
            check_validation(&k, json_get(c, "validation"));
        ref_report_require(&k.rep, expected_count(c));
        fprintf(stderr, "%-26s %4d values checked, %d mismatches\n", k.job, k.rep.n_checked,
                k.rep.n_failed);
        if (k.rep.n_failed)
            fputs(ref_report_text(&k.rep), stderr);
        failed += k.rep.n_failed;
        total += k.rep.n_checked;
        n_cases++;
        ref_report_free(&k.rep);
    }
    failed += check_drivers(res, json_get(ref, "drivers"), &total);
    failed += check_gap(res, json_get(ref, "gap"), &total);
    fprintf(stderr, "%d ols cases (and drivers), %ld values compared with R\n", n_cases, total);
    ref_results_close(res);
    unlink(out);
    rmdir(dir);
    json_free(ref);
    assert_true(n_cases >= 20);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ols_reference)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
