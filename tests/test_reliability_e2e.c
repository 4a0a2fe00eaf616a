/*
 * test_reliability_e2e.c — `model = reliability` end to end: the configs
 * configs/reference/reliability_bfi.ini (scales) and
 * reliability_hs_validity.ini (a cfa job, then a reliability job with
 * cfa_job naming it) through cx_run and the results file, read back with
 * refcheck's independent reader, against psych::alpha and semTools
 * (tests/reference/reliability_*.json).
 *
 * What this adds to test_reliability.c: the engine's config keys, the
 * stage order of a cfa_job dependency, the `by`-free table layout and the
 * HDF5 round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "refcheck.h"
#include "run.h"

typedef struct e2e {
    char dir[256], out[512];
    ref_results *res;
    json_value *ref;
    ref_report rep;
} e2e;

static void e2e_open(e2e *k, const char *config, const char *ref_case)
{
    char ini[1024], ref[1024];
    snprintf(ini, sizeof ini, "%s/configs/reference/%s.ini", CX_SOURCE_DIR, config);
    snprintf(ref, sizeof ref, "%s/tests/reference/%s.json", CX_SOURCE_DIR, ref_case);
    snprintf(k->dir, sizeof k->dir, "/tmp/cx_rel_XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->out, sizeof k->out, "%s/results.h5", k->dir);
    cx_run_options opt = {.config_path = ini, .output_path = k->out, .threads = 2, .quiet = 1};
    cx_error err = {0};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run %s: exit %d: %s", ini, rc, err.msg);
    k->res = ref_results_open(k->out, &err);
    if (!k->res)
        fail_msg("%s: %s", k->out, err.msg);
    k->ref = json_parse_file(ref, &err);
    if (!k->ref)
        fail_msg("%s: %s", ref, err.msg);
    ref_report_init(&k->rep, config, "R");
}

static void e2e_close(e2e *k, int min_checked)
{
    int ok = ref_report_require(&k->rep, min_checked);
    if (!ok || k->rep.n_failed)
        fail_msg("%s", ref_report_text(&k->rep));
    printf("  %s: %d values compared\n", k->rep.case_name, k->rep.n_checked);
    ref_report_free(&k->rep);
    json_free(k->ref);
    ref_results_close(k->res);
    unlink(k->out);
    rmdir(k->dir);
}

/* Column `col` of /job/table against field `col` of reference rows
 * `rows` (same order); returns the number of rows. */
static int check_column(e2e *k, const char *job, const char *table, const char *col,
                        const json_value *rows, double rtol)
{
    cx_error err = {0};
    size_t n = 0;
    double *v = ref_results_column_double(k->res, job, table, col, &n, &err);
    if (!v) {
        ref_report_fail(&k->rep, "%s/%s.%s: %s", job, table, col, err.msg);
        return 0;
    }
    if (n != json_array_len(rows))
        ref_report_fail(&k->rep, "%s.%s: %zu rows, R has %zu", table, col, n,
                        json_array_len(rows));
    for (size_t i = 0; i < n && i < json_array_len(rows); i++) {
        char what[128];
        snprintf(what, sizeof what, "%s[%zu].%s", table, i, col);
        ref_report_check_field(&k->rep, what, v[i], json_array_at(rows, i), col, rtol, 1e-12);
    }
    free(v);
    return (int)json_array_len(rows);
}

static void check_status_ok(e2e *k, const char *job)
{
    cx_error err = {0};
    char *status = ref_results_attr_string(k->res, job, "status", &err);
    if (!status || strcmp(status, "ok"))
        ref_report_fail(&k->rep, "%s: status '%s', expected ok", job, status ? status : "(none)");
    free(status);
}

static void test_bfi_scales(void **state)
{
    (void)state;
    e2e k;
    e2e_open(&k, "reliability_bfi", "reliability_bfi_listwise");
    check_status_ok(&k, "reliability_bfi");
    static const char *const scale_cols[] = {"n",        "raw_alpha", "std_alpha", "g6",
                                             "average_r", "median_r", "var_r",     "s_n",
                                             "ase",       "mean",     "sd",        "feldt_lower",
                                             "feldt_upper", NULL};
    static const char *const item_cols[] = {"raw_r", "std_r", "r_cor", "r_drop", "mean", "sd",
                                            "alpha_if_deleted", "std_alpha_if_deleted",
                                            "g6_if_deleted", NULL};
    int want = 0;
    const json_value *rel = json_get(k.ref, "reliability"), *items = json_get(k.ref, "items");
    for (size_t c = 0; scale_cols[c]; c++)
        want += check_column(&k, "reliability_bfi", "reliability", scale_cols[c], rel, 1e-8);
    for (size_t c = 0; item_cols[c]; c++)
        want += check_column(&k, "reliability_bfi", "items", item_cols[c], items, 1e-8);
    assert_true(want >= 13 * 5 + 9 * 25);
    e2e_close(&k, want);
}

static void test_hs_validity(void **state)
{
    (void)state;
    e2e k;
    e2e_open(&k, "reliability_hs_validity", "reliability_hs_validity");
    check_status_ok(&k, "hs_cfa");
    check_status_ok(&k, "reliability_hs_validity");
    const char *job = "reliability_hs_validity";
    const json_value *val = json_get(k.ref, "validity");
    int want = 1;
    double nobs = NAN;
    cx_error err = {0};
    if (ref_results_attr_double(k.res, job, "nobs", &nobs, &err))
        ref_report_fail(&k.rep, "%s: no nobs: %s", job, err.msg);
    ref_report_check_field(&k.rep, "nobs", nobs, k.ref, "n", 0, 0);
    want += check_column(&k, job, "validity", "cr", val, 1e-6);
    want += check_column(&k, job, "validity", "cr_model", val, 1e-6);
    want += check_column(&k, job, "validity", "ave", val, 1e-6);
    const json_value *factors = json_get(k.ref, "factors");
    for (size_t f = 0; f < json_array_len(factors); f++) {
        const char *name = json_string(json_array_at(factors, f));
        want += check_column(&k, job, "htmt", name, json_get(k.ref, "htmt"), 1e-6);
        want += check_column(&k, job, "fornell_larcker", name, json_get(k.ref, "fornell_larcker"),
                             1e-6);
    }
    assert_true(want >= 9 + 18);
    e2e_close(&k, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bfi_scales),
        cmocka_unit_test(test_hs_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
