/*
 * test_logit.c — `model = logit` and `model = ologit` against R: every
 * configs/reference/logit_* and ologit_* case (tests/reference/<case>.json,
 * scripts/make_logit_refs.R: glm binomial fitted to epsilon 1e-14 +
 * sandwich's vcovHC / vcovCL; MASS::polr to reltol 1e-15 with
 * ordinal::clm's analytic-Hessian and sandwich SEs; mlogit_*: nnet::multinom
 * run to reltol 1e-15 — at its default reltol 1e-8 BFGS stops about 1e-3
 * relative from the optimum, which no 1e-6 test could match) is run through
 * cx_run, and its estimates (est, se), fit measures and confusion table are
 * compared to 1e-6 relative.  Each case must compare at least
 * 2 x coefficients + fit measures + 4 confusion cells values.
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
#define ATOL 1e-9

static const char *const cases[] = {"logit_bfi",
                                    "logit_bfi_hc0",
                                    "logit_bfi_hc1",
                                    "logit_bfi_cluster",
                                    "logit_bfi_factor_weighted",
                                    "logit_bfi_holdout",
                                    "logit_bfi_hc2",
                                    "logit_bfi_hc3",
                                    "logit_bfi_hc3_weighted",
                                    "ologit_bfi",
                                    "ologit_bfi_hc0",
                                    "ologit_bfi_hc1_weighted",
                                    "ologit_bfi_cluster",
                                    "ologit_bfi_holdout",
                                    "mlogit_bfi",
                                    "mlogit_bfi_weighted",
                                    "mlogit_bfi_holdout"};

/* The results-file tables a case compares, loaded once. */
typedef struct loaded {
    char **lhs, **op, **rhs;
    double *est, *se;
    size_t n_est;
    char **measure;
    double *value;
    size_t n_fit;
    double *obs, *pred, *cnt;
    size_t n_conf;
} loaded;

static void load(ref_results *res, const char *job, loaded *L, int confusion)
{
    cx_error err = {0};
    size_t n;
    L->lhs = ref_results_column_strings(res, job, "estimates", "lhs", &L->n_est, &err);
    L->op = ref_results_column_strings(res, job, "estimates", "op", &n, &err);
    L->rhs = ref_results_column_strings(res, job, "estimates", "rhs", &n, &err);
    L->est = ref_results_column_double(res, job, "estimates", "est", &n, &err);
    L->se = ref_results_column_double(res, job, "estimates", "se", &n, &err);
    L->measure = ref_results_column_strings(res, job, "fit", "measure", &L->n_fit, &err);
    L->value = ref_results_column_double(res, job, "fit", "value", &n, &err);
    if (confusion) {
        L->obs = ref_results_column_double(res, job, "confusion", "observed", &L->n_conf, &err);
        L->pred = ref_results_column_double(res, job, "confusion", "predicted", &n, &err);
        L->cnt = ref_results_column_double(res, job, "confusion", "n", &n, &err);
    }
    if (!L->lhs || !L->op || !L->rhs || !L->est || !L->se || !L->measure || !L->value ||
        (confusion && (!L->obs || !L->pred || !L->cnt)))
        fail_msg("%s: %s", job, err.msg);
}

static void unload(loaded *L)
{
    ref_strings_free(L->lhs, L->n_est);
    ref_strings_free(L->op, L->n_est);
    ref_strings_free(L->rhs, L->n_est);
    ref_strings_free(L->measure, L->n_fit);
    free(L->est);
    free(L->se);
    free(L->value);
    free(L->obs);
    free(L->pred);
    free(L->cnt);
}

static void check_estimates(ref_report *rep, const loaded *L, const json_value *ref)
{
    const json_value *est = json_get(ref, "estimates");
    if (json_array_len(est) != L->n_est)
        ref_report_fail(rep, "%zu estimates, R has %zu", L->n_est, json_array_len(est));
    for (size_t i = 0; i < json_array_len(est); i++) {
        const json_value *row = json_array_at(est, i);
        const char *op = ref_json_string(rep, row, "op"), *rhs = ref_json_string(rep, row, "rhs");
        /* mlogit: one equation per level, told apart by lhs */
        const char *lhs = json_get(row, "lhs") ? ref_json_string(rep, row, "lhs") : NULL;
        size_t k = 0;
        while (k < L->n_est &&
               (strcmp(L->op[k], op) || strcmp(L->rhs[k], rhs) || (lhs && strcmp(L->lhs[k], lhs))))
            k++;
        if (k == L->n_est) {
            ref_report_fail(rep, "no estimate '%s %s %s'", lhs ? lhs : "", op, rhs);
            continue;
        }
        char what[160];
        snprintf(what, sizeof what, "estimates[%s %s %s].est", lhs ? lhs : "", op, rhs);
        ref_report_check_field(rep, what, L->est[k], row, "est", RTOL, ATOL);
        snprintf(what, sizeof what, "estimates[%s %s %s].se", lhs ? lhs : "", op, rhs);
        ref_report_check_field(rep, what, L->se[k], row, "se", RTOL, ATOL);
    }
}

static void check_fit(ref_report *rep, const loaded *L, const json_value *ref)
{
    const json_value *fit = json_get(ref, "fit");
    for (size_t i = 0; i < json_object_len(fit); i++) {
        const char *m = json_object_key(fit, i);
        size_t k = 0;
        while (k < L->n_fit && strcmp(L->measure[k], m))
            k++;
        char what[128];
        snprintf(what, sizeof what, "fit[%s]", m);
        ref_report_check_json(rep, what, k < L->n_fit ? L->value[k] : NAN,
                              json_object_value(fit, i), RTOL, ATOL);
    }
}

static void check_confusion(ref_report *rep, const loaded *L, const json_value *ref)
{
    const json_value *conf = json_get(ref, "confusion");
    for (size_t i = 0; i < json_array_len(conf); i++) {
        const json_value *row = json_array_at(conf, i);
        double o = ref_json_number(rep, row, "observed"),
               p = ref_json_number(rep, row, "predicted");
        double got = NAN;
        for (size_t k = 0; k < L->n_conf; k++)
            if (L->obs[k] == o && L->pred[k] == p)
                got = L->cnt[k];
        char what[64];
        snprintf(what, sizeof what, "confusion[%g,%g]", o, p);
        ref_report_check_field(rep, what, got, row, "n", RTOL, ATOL);
    }
}

/* validation: {split: {metric: value}} against the `validation` table. */
static int check_validation(ref_report *rep, ref_results *res, const char *job,
                            const json_value *ref)
{
    const json_value *val = json_get(ref, "validation");
    if (!val)
        return 0;
    cx_error err = {0};
    size_t n, n2, n3;
    char **split = ref_results_column_strings(res, job, "validation", "split", &n, &err);
    char **metric = ref_results_column_strings(res, job, "validation", "metric", &n2, &err);
    double *value = ref_results_column_double(res, job, "validation", "value", &n3, &err);
    if (!split || !metric || !value)
        fail_msg("%s: validation table: %s", job, err.msg);
    int want = 0;
    for (size_t s = 0; s < json_object_len(val); s++) {
        const char *sp = json_object_key(val, s);
        const json_value *metrics = json_object_value(val, s);
        for (size_t i = 0; i < json_object_len(metrics); i++, want++) {
            const char *m = json_object_key(metrics, i);
            double got = NAN;
            for (size_t k = 0; k < n; k++)
                if (!strcmp(split[k], sp) && !strcmp(metric[k], m))
                    got = value[k];
            char what[96];
            snprintf(what, sizeof what, "validation[%s.%s]", sp, m);
            ref_report_check_json(rep, what, got, json_object_value(metrics, i), RTOL, ATOL);
        }
    }
    ref_strings_free(split, n);
    ref_strings_free(metric, n2);
    free(value);
    return want;
}

static int run_case(const char *name)
{
    char ini[1024], ref_path[1024], dir[] = "/tmp/cx_logit_XXXXXX", out[512];
    snprintf(ini, sizeof ini, "%s/configs/reference/%s.ini", CX_SOURCE_DIR, name);
    snprintf(ref_path, sizeof ref_path, "%s/tests/reference/%s.json", CX_SOURCE_DIR, name);
    cx_error err = {0};
    json_value *ref = json_parse_file(ref_path, &err);
    if (!ref)
        fail_msg("%s: %s", ref_path, err.msg);
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/results.h5", dir);
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run %s: exit %d: %s", ini, rc, err.msg);
    ref_results *res = ref_results_open(out, &err);
    if (!res)
        fail_msg("%s: %s", out, err.msg);
    char *status = ref_results_attr_string(res, name, "status", &err);
    ref_report rep;
    ref_report_init(&rep, name, "R glm");
    if (!status || strcmp(status, "ok") != 0)
        ref_report_fail(&rep, "status '%s', expected ok", status ? status : "(none)");
    free(status);
    loaded L = {0};
    load(res, name, &L, json_get(ref, "confusion") != NULL);
    check_estimates(&rep, &L, ref);
    check_fit(&rep, &L, ref);
    check_confusion(&rep, &L, ref);
    int want = check_validation(&rep, res, name, ref);
    want +=
        (int)(2 * json_array_len(json_get(ref, "estimates")) +
              json_object_len(json_get(ref, "fit")) + json_array_len(json_get(ref, "confusion")));
    ref_report_require(&rep, want);
    printf("%s: %d values compared with R, %d mismatches\n", name, rep.n_checked, rep.n_failed);
    if (rep.n_failed)
        fputs(ref_report_text(&rep), stderr);
    int failed = rep.n_failed;
    ref_report_free(&rep);
    unload(&L);
    ref_results_close(res);
    json_free(ref);
    unlink(out);
    rmdir(dir);
    return failed;
}

static void test_reference_cases(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += run_case(cases[i]) != 0;
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
