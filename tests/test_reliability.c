/*
 * test_reliability.c — `model = reliability` (models/reliability*.c) on
 * psych's bfi against psych::alpha (tests/reference/reliability_bfi_*.json,
 * scripts/make_reliability_refs.R): the five Big Five scales with psych's
 * keys (reverse-keyed items included), listwise, pairwise and per `by`
 * level from one pass, every statistic of the `reliability` and `items`
 * tables to 1e-8 relative.
 *
 * Also: reverse keying equals a pre-reversed column (scores.h's range
 * rule), bootstrap replicates (determinism, se near psych's asymptotic se,
 * the CI around alpha), and bad `scales` values refused with the key named.
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

#include "json.h"
#include "model.h"
#include "refcheck.h"
#include "reliability_stats.h"

extern const cx_model cx_model_reliability, cx_model_cfa;

#define REF_DIR CX_SOURCE_DIR "/tests/reference/"
#define RTOL 1e-8

static const char *bfi_scales = "scales = A: -A1 A2 A3 A4 A5\n"
                                "         C: C1 C2 C3 -C4 -C5\n"
                                "         E: -E1 -E2 E3 E4 E5\n"
                                "         N: N1 N2 N3 N4 N5\n"
                                "         O: O1 -O2 O3 O4 -O5\n";

typedef struct model_run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *results[4];
    int rc;
    cx_error err;
} model_run;

static cx_table *bfi_table(void)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(CX_SOURCE_DIR "/datasets/bfi.h5", "/data", &err);
    if (!t)
        fail_msg("cannot open the bundled bfi data: %s", err.msg);
    return t;
}

/* Parse the one-job config `text` (job `name`), view all of `t` (by
 * column `by` when not NULL) and fill the job as the engine does: no
 * weights, no bootstrap cluster, 95% intervals. */
static void job_init(model_run *run, cx_table *t, const char *text, const char *name,
                     const char *by)
{
    memset(run, 0, sizeof *run);
    run->config = cx_config_parse_string(text, "test.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, t, NULL);
    if (by) {
        int g = cx_table_find(t, by);
        assert_true(g >= 0);
        assert_int_equal(cx_view_set_groups(&run->view, &g, 1, &run->err), CX_OK);
    }
    run->job.name = name;
    run->job.config = run->config;
    run->job.section = &run->config->jobs[0];
    run->job.view = &run->view;
    run->job.weight_col = -1;
    run->job.bootstrap_cluster = -1;
    run->job.level = 0.95;
}

/* Check, then fit when the check passes, as the engine does. */
static void check_and_fit(model_run *run, const cx_model *model)
{
    run->rc = model->check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = model->fit(&run->job, run->results, &run->err);
}

/* Check and fit as the engine does; `by` a column name or NULL. */
static void run_model_input(model_run *run, cx_table *t, const char *keys, cx_missing_mode missing,
                            const char *by, long bootstrap, const cx_result *input,
                            const char *input_model)
{
    char text[2048];
    snprintf(text, sizeof text, "[job rel]\nmodel = reliability\n%s", keys);
    job_init(run, t, text, "rel", by);
    const char *wname = cx_section_get(run->job.section, "weights");
    if (wname) /* as the engine resolves `weights` */
        assert_true((run->job.weight_col = cx_table_find(t, wname)) >= 0);
    run->job.missing = missing;
    run->job.seed = 7;
    run->job.bootstrap = bootstrap;
    run->job.input = input;
    run->job.input_model = input_model;
    for (size_t l = 0; l < run->view.n_levels && l < 4; l++)
        run->results[l] = cx_result_alloc(0.95, &run->err);
    check_and_fit(run, &cx_model_reliability);
}

/* Fit a cfa job on table t (lavaan's defaults). */
static void run_cfa(model_run *run, cx_table *t, const char *syntax)
{
    char text[2048];
    snprintf(text, sizeof text, "[job fit]\nmodel = cfa\nsyntax = %s\n", syntax);
    job_init(run, t, text, "fit", NULL);
    run->job.seed = 1;
    run->results[0] = cx_result_alloc(0.95, &run->err);
    check_and_fit(run, &cx_model_cfa);
}

static void run_model(model_run *run, cx_table *t, const char *keys, cx_missing_mode missing,
                      const char *by, long bootstrap)
{
    run_model_input(run, t, keys, missing, by, bootstrap, NULL, NULL);
}

static void run_free(model_run *run)
{
    for (size_t l = 0; l < 4; l++)
        cx_result_free(run->results[l]);
    cx_view_free(&run->view);
    cx_config_free(run->config);
}

static double cell(const cx_rtable *t, size_t row, const char *col)
{
    int c = cx_rtable_find_column(t, col);
    if (c < 0)
        fail_msg("table %s has no column %s", t->name, col);
    const cx_rcolumn *rc = &t->cols[c];
    return rc->type == CX_RCOL_INT ? (double)rc->i[row] : rc->d[row];
}

static const char *string_cell(const cx_rtable *t, size_t row, const char *col)
{
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].s[row];
}

/* Rows of table `name` against reference rows `want` (same order), the
 * fields named; `key` a string field that must agree. */
static void check_rows_tol(const cx_result *r, const char *name, const json_value *want,
                           const char *const *keys, const char *const *fields, double rtol,
                           ref_report *rep)
{
    const cx_rtable *t = cx_result_find_table(r, name);
    if (!t) {
        ref_report_fail(rep, "no table %s", name);
        return;
    }
    if (t->nrows != json_array_len(want))
        ref_report_fail(rep, "%s: %zu rows, psych has %zu", name, t->nrows, json_array_len(want));
    for (size_t i = 0; i < t->nrows && i < json_array_len(want); i++) {
        const json_value *w = json_array_at(want, i);
        char what[128];
        for (size_t k = 0; keys[k]; k++)
            if (strcmp(string_cell(t, i, keys[k]), ref_json_string(rep, w, keys[k])))
                ref_report_fail(rep, "%s row %zu: %s %s, psych %s", name, i, keys[k],
                                string_cell(t, i, keys[k]), ref_json_string(rep, w, keys[k]));
        for (size_t f = 0; fields[f]; f++) {
            snprintf(what, sizeof what, "%s[%zu].%s", name, i, fields[f]);
            ref_report_check_field(rep, what, cell(t, i, fields[f]), w, fields[f], rtol, 1e-12);
        }
    }
}

static void check_rows(const cx_result *r, const char *name, const json_value *want,
                       const char *const *keys, const char *const *fields, ref_report *rep)
{
    check_rows_tol(r, name, want, keys, fields, RTOL, rep);
}

static const char *const scale_keys[] = {"scale", NULL};
static const char *const item_keys[] = {"scale", "item", NULL};
static const char *const scale_fields[] = {
    "n_items", "n",   "raw_alpha", "std_alpha", "g6",          "average_r",   "median_r", "var_r",
    "s_n",     "ase", "mean",      "sd",        "feldt_lower", "feldt_upper", NULL};
static const char *const item_fields[] = {"n",
                                          "raw_r",
                                          "std_r",
                                          "r_cor",
                                          "r_drop",
                                          "mean",
                                          "sd",
                                          "alpha_if_deleted",
                                          "std_alpha_if_deleted",
                                          "g6_if_deleted",
                                          "average_r_if_deleted",
                                          "median_r_if_deleted",
                                          "var_r_if_deleted",
                                          "s_n_if_deleted",
                                          NULL};
#define N_SCALE_FIELDS 14
#define N_ITEM_FIELDS 14

/* One level's tables against one reference object; returns comparisons
 * expected (rows x fields). */
static int check_level(const cx_result *r, const json_value *ref, ref_report *rep)
{
    const json_value *rel = json_get(ref, "reliability"), *items = json_get(ref, "items");
    check_rows(r, "reliability", rel, scale_keys, scale_fields, rep);
    check_rows(r, "items", items, item_keys, item_fields, rep);
    return (int)(json_array_len(rel) * N_SCALE_FIELDS + json_array_len(items) * N_ITEM_FIELDS);
}

static json_value *load_ref(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, REF_DIR "%s.json", name);
    cx_error err = {0};
    json_value *v = json_parse_file(path, &err);
    if (!v)
        fail_msg("%s: %s", path, err.msg);
    return v;
}

static void finish(ref_report *rep, int min)
{
    int ok = ref_report_require(rep, min);
    if (!ok || rep->n_failed)
        fail_msg("%s", ref_report_text(rep));
    printf("  %s: %d values compared\n", rep->case_name, rep->n_checked);
    ref_report_free(rep);
}

static void check_case(const char *name, cx_missing_mode missing)
{
    cx_table *t = bfi_table();
    json_value *ref = load_ref(name);
    model_run run;
    run_model(&run, t, bfi_scales, missing, NULL, 0);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    ref_report rep;
    ref_report_init(&rep, name, "psych::alpha");
    int want = check_level(run.results[0], ref, &rep);
    assert_true(want >= 5 * N_SCALE_FIELDS + 25 * N_ITEM_FIELDS);
    finish(&rep, want);
    run_free(&run);
    json_free(ref);
    cx_table_close(t);
}

static void test_listwise(void **state)
{
    (void)state;
    check_case("reliability_bfi_listwise", CX_MISSING_LISTWISE);
}

static void test_pairwise(void **state)
{
    (void)state;
    check_case("reliability_bfi_pairwise", CX_MISSING_PAIRWISE);
}

/* Both gender levels from the one pass. */
static void test_by_gender(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    json_value *ref = load_ref("reliability_bfi_by_gender");
    model_run run;
    run_model(&run, t, bfi_scales, CX_MISSING_LISTWISE, "gender", 0);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    assert_int_equal(run.view.n_levels, 2);
    const json_value *levels = json_get(ref, "levels");
    assert_int_equal(json_array_len(levels), 2);
    ref_report rep;
    ref_report_init(&rep, "reliability_bfi_by_gender", "psych::alpha");
    int want = 0;
    for (size_t l = 0; l < 2; l++) {
        const json_value *lv = json_array_at(levels, l);
        assert_true(run.view.level_values[l] == json_number(json_get(lv, "gender")));
        want += check_level(run.results[l], lv, &rep);
    }
    finish(&rep, want);
    run_free(&run);
    json_free(ref);
    cx_table_close(t);
}

/* Omega per scale (one-factor ML CFA, compRelSEM obs.var TRUE / FALSE)
 * and omega hierarchical (bifactor CFA) against lavaan + semTools, 1e-6:
 * our ML estimator's convergence, not lavaan's nlminb tolerance, bounds it. */
static void test_omega(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    json_value *om = load_ref("reliability_bfi_omega"), *bif = load_ref("reliability_bfi_bifactor");
    model_run run;
    run_model(&run, t, bfi_scales, CX_MISSING_LISTWISE, NULL, 0);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    ref_report rep;
    ref_report_init(&rep, "reliability_bfi_omega", "semTools::compRelSEM");
    static const char *const fields[] = {"n", "omega", "omega_model", NULL};
    const json_value *rows = json_get(om, "omega");
    check_rows_tol(run.results[0], "reliability", rows, scale_keys, fields, 1e-6, &rep);
    int want = (int)json_array_len(rows) * 3;
    const cx_rtable *bt = cx_result_find_table(run.results[0], "bifactor");
    const json_value *factors = json_get(bif, "factors");
    if (!bt || bt->nrows != json_array_len(factors))
        ref_report_fail(&rep, "bifactor: %zu rows, semTools has %zu", bt ? bt->nrows : 0,
                        json_array_len(factors));
    for (size_t i = 0; bt && i < bt->nrows && i < json_array_len(factors); i++) {
        const json_value *w = json_array_at(factors, i);
        char what[64];
        if (strcmp(string_cell(bt, i, "factor"), ref_json_string(&rep, w, "factor")))
            ref_report_fail(&rep, "bifactor row %zu is %s", i, string_cell(bt, i, "factor"));
        snprintf(what, sizeof what, "bifactor[%zu].omega", i);
        ref_report_check_field(&rep, what, cell(bt, i, "omega"), w, "omega", 1e-6, 0);
        snprintf(what, sizeof what, "bifactor[%zu].omega_model", i);
        ref_report_check_field(&rep, what, cell(bt, i, "omega_model"), w, "omega_model", 1e-6, 0);
        ref_report_check_field(&rep, "bifactor.n", cell(bt, i, "n"), bif, "n", 0, 0);
    }
    want += (int)json_array_len(factors) * 3;
    assert_true(want >= 33);
    finish(&rep, want);
    run_free(&run);
    json_free(om);
    json_free(bif);
    cx_table_close(t);
}

/* weights = age: every statistic of the `reliability` and `items` tables
 * (psych::alpha of the weighted covariance, by hand in R where psych
 * needs raw rows) to 1e-8, omega per scale and the bifactor's (semTools
 * on the weighted covariance) to 1e-6. */
static void test_weighted(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    json_value *ref = load_ref("reliability_bfi_weighted");
    char keys[1024];
    snprintf(keys, sizeof keys, "%sweights = age\n", bfi_scales);
    model_run run;
    run_model(&run, t, keys, CX_MISSING_LISTWISE, NULL, 0);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    ref_report rep;
    ref_report_init(&rep, "reliability_bfi_weighted", "psych::alpha on cov.wt");
    int want = check_level(run.results[0], ref, &rep);
    static const char *const fields[] = {"n", "omega", "omega_model", NULL};
    const json_value *rows = json_get(ref, "omega");
    check_rows_tol(run.results[0], "reliability", rows, scale_keys, fields, 1e-6, &rep);
    want += (int)json_array_len(rows) * 3;
    const cx_rtable *bt = cx_result_find_table(run.results[0], "bifactor");
    const json_value *factors = json_get(ref, "bifactor");
    if (!bt || bt->nrows != json_array_len(factors))
        ref_report_fail(&rep, "bifactor: %zu rows, semTools has %zu", bt ? bt->nrows : 0,
                        json_array_len(factors));
    for (size_t i = 0; bt && i < bt->nrows && i < json_array_len(factors); i++) {
        const json_value *w = json_array_at(factors, i);
        char what[64];
        snprintf(what, sizeof what, "bifactor[%zu].omega", i);
        ref_report_check_field(&rep, what, cell(bt, i, "omega"), w, "omega", 1e-6, 0);
        snprintf(what, sizeof what, "bifactor[%zu].omega_model", i);
        ref_report_check_field(&rep, what, cell(bt, i, "omega_model"), w, "omega_model", 1e-6, 0);
        ref_report_check_field(&rep, "bifactor.n", cell(bt, i, "n"), ref, "bifactor_n", 0, 0);
    }
    want += (int)json_array_len(factors) * 3;
    /* 5 x 14 + 25 x 14 + 5 x 3 + 6 x 3 */
    assert_int_equal(want, 453);
    finish(&rep, want);
    run_free(&run);
    json_free(ref);
    cx_table_close(t);
}

/* weights with pairwise or with cfa_job are refused naming `weights`. */
static void test_weighted_refused(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    char keys[1024];
    snprintf(keys, sizeof keys, "%sweights = age\n", bfi_scales);
    model_run run;
    run_model(&run, t, keys, CX_MISSING_PAIRWISE, NULL, 0);
    assert_int_equal(run.rc, CX_EUSAGE);
    assert_non_null(strstr(run.err.msg, "weights"));
    run_free(&run);
    run_model(&run, t, "cfa_job = fit\nweights = age\n", CX_MISSING_LISTWISE, NULL, 0);
    assert_int_equal(run.rc, CX_EUSAGE);
    assert_non_null(strstr(run.err.msg, "weights"));
    run_free(&run);
    cx_table_close(t);
}

/* A factor x factor table against the reference rows (objects by factor). */
static int check_square(const cx_result *r, const char *name, const json_value *ref,
                        ref_report *rep)
{
    const cx_rtable *t = cx_result_find_table(r, name);
    const json_value *factors = json_get(ref, "factors"), *rows = json_get(ref, name);
    size_t m = json_array_len(factors);
    if (!t || t->nrows != m || json_array_len(rows) != m) {
        ref_report_fail(rep, "%s: %zu rows, semTools has %zu", name, t ? t->nrows : 0, m);
        return 0;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            const char *g = json_string(json_array_at(factors, j));
            char what[128];
            snprintf(what, sizeof what, "%s[%s, %s]", name, string_cell(t, i, "factor"), g);
            ref_report_check_field(rep, what, cell(t, i, g), json_array_at(rows, i), g, 1e-6,
                                   1e-12);
        }
    return (int)(m * m);
}

/* cfa_job: a cfa fitted here, then CR, AVE, Fornell-Larcker, HTMT and
 * HTMT2 of its factors against semTools, 1e-6. */
static void check_validity(const char *data, const char *syntax, const char *case_name)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(data, "/data", &err);
    if (!t)
        fail_msg("%s: %s", data, err.msg);
    json_value *ref = load_ref(case_name);
    model_run cfa, rel;
    run_cfa(&cfa, t, syntax);
    if (cfa.rc)
        fail_msg("cfa: %s", cfa.err.msg);
    run_model_input(&rel, t, "cfa_job = fit\n", CX_MISSING_LISTWISE, NULL, 0, cfa.results[0],
                    "cfa");
    if (rel.rc)
        fail_msg("%s", rel.err.msg);
    ref_report rep;
    ref_report_init(&rep, case_name, "semTools");
    static const char *const keys[] = {"factor", NULL};
    static const char *const fields[] = {"cr", "cr_model", "ave", NULL};
    const json_value *val = json_get(ref, "validity");
    check_rows_tol(rel.results[0], "validity", val, keys, fields, 1e-6, &rep);
    int want = (int)json_array_len(val) * 3;
    want += check_square(rel.results[0], "fornell_larcker", ref, &rep);
    want += check_square(rel.results[0], "htmt", ref, &rep);
    want += check_square(rel.results[0], "htmt1", ref, &rep);
    assert_true(want >= 3 * 3 + 3 * 9);
    finish(&rep, want);
    run_free(&rel);
    run_free(&cfa);
    json_free(ref);
    cx_table_close(t);
}

static void test_validity_hs(void **state)
{
    (void)state;
    check_validity(CX_SOURCE_DIR "/datasets/HolzingerSwineford1939.h5",
                   "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9",
                   "reliability_hs_validity");
}

static void test_validity_bfi(void **state)
{
    (void)state;
    check_validity(CX_SOURCE_DIR "/datasets/bfi.h5",
                   "agree =~ A1 + A2 + A3 + A4 + A5\n consc =~ C1 + C2 + C3 + C4 + C5\n"
                   " extra =~ E1 + E2 + E3 + E4 + E5\n neuro =~ N1 + N2 + N3 + N4 + N5\n"
                   " open =~ O1 + O2 + O3 + O4 + O5",
                   "reliability_bfi_validity");
}

/* cfa_job with bootstrap: CR and AVE from the cfa refitted on every
 * replicate (its syntax read from the config), HTMT from the replicate
 * covariances; every percentile CI holds its estimate, se > 0, and the
 * `estimates` rows of CR/AVE carry the bootstrap se. */
static void test_validity_bootstrap(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_table *t = cx_table_open(CX_SOURCE_DIR "/datasets/HolzingerSwineford1939.h5", "/data", &err);
    assert_non_null(t);
    cx_config *cfg = cx_config_parse_string(
        "[job fit]\nmodel = cfa\nsyntax = visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n"
        " speed =~ x7 + x8 + x9\n[job rel]\nmodel = reliability\ncfa_job = fit\nbootstrap = 100\n",
        "t.ini", &err);
    assert_non_null(cfg);
    cx_view view;
    cx_view_init(&view, t, NULL);
    cx_job cfa = {.name = "fit",
                  .config = cfg,
                  .section = &cfg->jobs[0],
                  .view = &view,
                  .weight_col = -1,
                  .bootstrap_cluster = -1,
                  .level = 0.95,
                  .seed = 1};
    cx_result *fit = cx_result_alloc(0.95, &err), *res = cx_result_alloc(0.95, &err);
    assert_int_equal(cx_model_cfa.fit(&cfa, &fit, &err), CX_OK);
    cx_job rel = cfa;
    rel.name = "rel";
    rel.section = &cfg->jobs[1];
    rel.bootstrap = 100;
    rel.seed = 3;
    rel.input = fit;
    rel.input_model = "cfa";
    assert_int_equal(cx_model_reliability.check(&rel, &err), CX_OK);
    if (cx_model_reliability.fit(&rel, &res, &err))
        fail_msg("%s", err.msg);
    const cx_rtable *bt = cx_result_find_table(res, "bootstrap");
    assert_non_null(bt);
    assert_int_equal(bt->nrows, 3 * 2 + 3);
    for (size_t i = 0; i < bt->nrows; i++) {
        double est = cell(bt, i, "est");
        assert_true(cell(bt, i, "se") > 0);
        assert_true(cell(bt, i, "perc_lower") < est && est < cell(bt, i, "perc_upper"));
    }
    assert_string_equal(string_cell(bt, 6, "op"), "htmt");
    const cx_rtable *est = cx_result_find_table(res, "estimates");
    assert_string_equal(string_cell(est, 0, "rhs"), "cr");
    assert_true(cell(est, 0, "se") == cell(bt, 0, "se"));
    cx_result_free(res);
    cx_result_free(fit);
    cx_view_free(&view);
    cx_config_free(cfg);
    cx_table_close(t);
}

/* cfa_job misuse: a job that is not a cfa, and `by` with cfa_job. */
static void test_validity_errors(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    model_run rel, other;
    run_model(&other, t, bfi_scales, CX_MISSING_LISTWISE, NULL, 0);
    assert_int_equal(other.rc, CX_OK);
    run_model_input(&rel, t, "cfa_job = fit\n", CX_MISSING_LISTWISE, NULL, 0, other.results[0],
                    "reliability");
    assert_int_equal(rel.rc, CX_EUSAGE);
    assert_non_null(strstr(rel.err.msg, "expected a cfa job"));
    assert_non_null(strstr(rel.err.msg, "cfa_job"));
    run_free(&rel);
    run_model_input(&rel, t, "cfa_job = fit\n", CX_MISSING_LISTWISE, "gender", 0, other.results[0],
                    "cfa");
    assert_int_equal(rel.rc, CX_EUSAGE);
    assert_non_null(strstr(rel.err.msg, "by"));
    run_free(&rel);
    run_free(&other);
    cx_table_close(t);
}

/* A reverse-keyed item equals the column reversed beforehand on the
 * observed range (1..5 here), in every statistic but its `reverse` flag. */
static void test_reverse_equals_prereversed(void **state)
{
    (void)state;
    enum { N = 40 };
    double a[N], b[N], c[N], c_rev[N];
    for (int i = 0; i < N; i++) {
        a[i] = 1 + (i * 7 % 5);
        b[i] = 1 + ((i * 3 + i / 4) % 5);
        c[i] = 6 - (1 + ((i * 7 + 1) % 5)); /* negatively related to a */
        c_rev[i] = 6 - c[i];
    }
    c[3] = NAN; /* a missing value keeps its row out (listwise) */
    c_rev[3] = NAN;
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/items", N, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "a", CX_COL_FLOAT, a, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "b", CX_COL_FLOAT, b, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "c", CX_COL_FLOAT, c, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "cr", CX_COL_FLOAT, c_rev, NULL, 0, &err),
                     CX_OK);
    model_run keyed, plain;
    run_model(&keyed, t, "scales = S: a b -c\n", CX_MISSING_LISTWISE, NULL, 0);
    run_model(&plain, t, "scales = S: a b cr\n", CX_MISSING_LISTWISE, NULL, 0);
    assert_int_equal(keyed.rc, CX_OK);
    assert_int_equal(plain.rc, CX_OK);
    const cx_rtable *r1 = cx_result_find_table(keyed.results[0], "reliability");
    const cx_rtable *r2 = cx_result_find_table(plain.results[0], "reliability");
    assert_int_equal(cell(r1, 0, "n"), N - 1);
    for (size_t f = 0; scale_fields[f]; f++)
        assert_float_equal(cell(r1, 0, scale_fields[f]), cell(r2, 0, scale_fields[f]), 1e-12);
    const cx_rtable *i1 = cx_result_find_table(keyed.results[0], "items");
    const cx_rtable *i2 = cx_result_find_table(plain.results[0], "items");
    for (size_t row = 0; row < 3; row++)
        for (size_t f = 0; item_fields[f]; f++)
            assert_float_equal(cell(i1, row, item_fields[f]), cell(i2, row, item_fields[f]), 1e-12);
    assert_int_equal(cell(i1, 2, "reverse"), 1);
    assert_int_equal(cell(i2, 2, "reverse"), 0);
    run_free(&keyed);
    run_free(&plain);
    cx_table_close(t);
}

/* A scale with an item without variance gets no statistics and says so;
 * when no scale has any, the job fails (never an empty "ok"). */
static void test_degenerate_scale(void **state)
{
    (void)state;
    enum { N = 30 };
    double a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = 1 + i % 5;
        b[i] = 1 + (i * 3) % 5;
        c[i] = 4; /* no variance */
    }
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/flat", N, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "a", CX_COL_FLOAT, a, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "b", CX_COL_FLOAT, b, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "c", CX_COL_FLOAT, c, NULL, 0, &err), CX_OK);
    model_run run;
    run_model(&run, t, "scales = S: a b c\n", CX_MISSING_LISTWISE, NULL, 0);
    assert_int_equal(run.rc, CX_OK);
    assert_int_equal(run.results[0]->status, CX_STATUS_FAILED);
    assert_non_null(strstr(run.results[0]->message, "scale S"));
    assert_non_null(strstr(run.results[0]->message, "without variance"));
    run_free(&run);
    run_model(&run, t, "scales = S: a b c\n T: a b\n", CX_MISSING_LISTWISE, NULL, 0);
    assert_int_equal(run.rc, CX_OK);
    assert_int_equal(run.results[0]->status, CX_STATUS_OK);
    const cx_rtable *rel = cx_result_find_table(run.results[0], "reliability");
    assert_int_equal(rel->nrows, 1);
    assert_string_equal(string_cell(rel, 0, "scale"), "T");
    run_free(&run);
    cx_table_close(t);
}

/* Bootstrap: same seed, same replicates; alpha's se near psych's
 * asymptotic se; the percentile CIs hold alpha and omega; two `bootstrap`
 * rows per scale (alpha, then omega refitted per replicate), whose se and
 * CI replace those of the `estimates` rows. */
static void test_bootstrap(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    model_run a, b;
    run_model(&a, t, bfi_scales, CX_MISSING_LISTWISE, NULL, 200);
    run_model(&b, t, bfi_scales, CX_MISSING_LISTWISE, NULL, 200);
    assert_int_equal(a.rc, CX_OK);
    assert_int_equal(b.rc, CX_OK);
    const cx_rtable *bt = cx_result_find_table(a.results[0], "bootstrap");
    const cx_rtable *bt2 = cx_result_find_table(b.results[0], "bootstrap");
    const cx_rtable *rel = cx_result_find_table(a.results[0], "reliability");
    assert_non_null(bt);
    assert_int_equal(bt->nrows, 10);
    for (size_t i = 0; i < 5; i++) {
        double alpha = cell(rel, i, "raw_alpha"), ase = cell(rel, i, "ase");
        double omega = cell(rel, i, "omega");
        size_t ra = 2 * i, ro = 2 * i + 1;
        assert_string_equal(string_cell(bt, ra, "lhs"), string_cell(rel, i, "scale"));
        assert_string_equal(string_cell(bt, ra, "rhs"), "alpha");
        assert_string_equal(string_cell(bt, ro, "rhs"), "omega");
        assert_true(cell(bt, ra, "est") == alpha);
        assert_true(cell(bt, ro, "est") == omega);
        assert_true(cell(bt, ra, "se") == cell(bt2, ra, "se"));
        assert_true(cell(bt, ro, "se") == cell(bt2, ro, "se"));
        assert_true(cell(bt, ra, "se") > 0.5 * ase && cell(bt, ra, "se") < 2 * ase);
        assert_true(cell(bt, ro, "se") > 0.5 * ase && cell(bt, ro, "se") < 2 * ase);
        assert_true(cell(bt, ra, "perc_lower") < alpha && alpha < cell(bt, ra, "perc_upper"));
        assert_true(cell(bt, ro, "perc_lower") < omega && omega < cell(bt, ro, "perc_upper"));
    }
    const cx_rtable *est = cx_result_find_table(a.results[0], "estimates");
    assert_true(cell(est, 0, "se") == cell(bt, 0, "se")); /* A := alpha */
    assert_true(cell(est, 1, "se") == cell(bt, 1, "se")); /* A := omega */
    assert_true(cell(est, 1, "ci_lower") == cell(bt, 1, "perc_lower"));
    run_free(&a);
    run_free(&b);
    cx_table_close(t);
}

/* Bad `scales` values: refused by check with the key and the reason. */
/* Feldt's F quantile against R's qf, also at df where GSL's inverse CDF
 * gives up (a scale on 6000 rows: it used to abort the process). The
 * last column is the relative tolerance: at a million rows GSL's
 * incomplete beta itself is good to ~2e-7 (R's TOMS 708 to ~1e-15), which
 * moves a Feldt bound of alpha by < 1e-7. */
static void test_feldt_quantile(void **state)
{
    (void)state;
    static const double cases[][5] = {
        /* p, df1, df2, qf(p, df1, df2) in R 4.2, tolerance */
        {0.025, 5999, 23996, 0.96054217689858046, 1e-10},
        {0.975, 5999, 23996, 1.04057190203642946, 1e-10},
        {0.025, 2799, 13995, 0.94368955121653997, 1e-10},
        {0.975, 9, 36, 2.49224450889160920, 1e-10},
        {0.5, 1e6, 4e6, 0.99999933333341229, 1e-6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double q = rel_quantile_f(cases[i][0], cases[i][1], cases[i][2]);
        assert_true(fabs(q - cases[i][3]) <= cases[i][4] * cases[i][3]);
    }
    assert_true(isnan(rel_quantile_f(0, 5, 5)));
    assert_true(isnan(rel_quantile_f(0.5, -1, 5)));
}

static void test_bad_scales(void **state)
{
    (void)state;
    static const struct {
        const char *keys, *want;
    } cases[] = {
        {"scales = A: A1\n", "at least two items"},
        {"scales = A: A1 A2 A1\n", "listed twice"},
        {"scales = A: A1 A2\n         A: C1 C2\n", "defined twice"},
        {"scales = A: A1 nosuch\n", "no column 'nosuch'"},
        {"scales = A A1 A2\n", "expected ':'"},
        {"scales = : A1 A2\n", "scale name"},
        {"scales = A: A1 +A2\n", "expected an item column"},
        {"items = A1 A2\n", "scales"},
    };
    cx_table *t = bfi_table();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_run run;
        run_model(&run, t, cases[i].keys, CX_MISSING_LISTWISE, NULL, 0);
        assert_int_equal(run.rc, CX_EUSAGE);
        if (!strstr(run.err.msg, cases[i].want) || !strstr(run.err.msg, "scales"))
            fail_msg("case %zu: '%s' lacks '%s'", i, run.err.msg, cases[i].want);
        run_free(&run);
    }
    model_run run; /* bootstrap replicates are listwise */
    run_model(&run, t, bfi_scales, CX_MISSING_PAIRWISE, NULL, 10);
    assert_int_equal(run.rc, CX_EUSAGE);
    assert_non_null(strstr(run.err.msg, "listwise"));
    run_free(&run);
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listwise),
        cmocka_unit_test(test_pairwise),
        cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_weighted_refused),
        cmocka_unit_test(test_by_gender),
        cmocka_unit_test(test_omega),
        cmocka_unit_test(test_validity_hs),
        cmocka_unit_test(test_validity_bfi),
        cmocka_unit_test(test_validity_bootstrap),
        cmocka_unit_test(test_validity_errors),
        cmocka_unit_test(test_reverse_equals_prereversed),
        cmocka_unit_test(test_degenerate_scale),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_bad_scales),
        cmocka_unit_test(test_feldt_quantile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
