/*
 * test_describe.c — `model = describe` (models/describe.c) on psych's bfi
 * data against psych::describe() (tests/reference/describe_bfi.json):
 * n, mean, sd, median, min, max, range, skew, kurtosis and se to 1e-6
 * relative, item frequencies exactly, and the correlation matrix
 * (listwise and pairwise) against values computed independently.
 *
 * The data are the bundled datasets/bfi.h5 (psych's bfi imported with
 * `cxfit import`), read through the same HDF5 table reader users get.
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

extern const cx_model cx_model_describe;

#define BFI_ITEMS 25
#define REFERENCE CX_SOURCE_DIR "/tests/reference/describe_bfi.json"

/* psych's bfi, bundled as imported by `cxfit import` (scripts/make_datasets.sh). */
static cx_table *bfi_table(void)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(CX_SOURCE_DIR "/datasets/bfi.h5", "/data", &err);
    if (!t)
        fail_msg("cannot open the bundled bfi data: %s", err.msg);
    return t;
}

/* ---- running the model without the CLI ------------------------------------ */

typedef struct model_run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *result;
    int rc;
    cx_error err;
} model_run;

static void run_describe(model_run *run, cx_table *t, const char *job_text, int missing)
{
    memset(run, 0, sizeof *run);
    run->config = cx_config_parse_string(job_text, "test.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, t, NULL);
    run->job.name = run->config->jobs[0].name;
    run->job.config = run->config;
    run->job.section = &run->config->jobs[0];
    run->job.view = &run->view;
    run->job.weight_col = -1;
    run->job.missing = missing ? CX_MISSING_PAIRWISE : CX_MISSING_LISTWISE;
    run->job.level = 0.95;
    run->result = cx_result_alloc(0.95, &run->err);
    run->rc = cx_model_describe.check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = cx_model_describe.fit(&run->job, &run->result, &run->err);
}

static void run_free(model_run *run)
{
    cx_result_free(run->result);
    cx_view_free(&run->view);
    cx_config_free(run->config);
}

static const char *bfi_job = "[job items]\n"
                             "model = describe\n"
                             "items = A1 A2 A3 A4 A5 C1 C2 C3 C4 C5 E1 E2 E3 E4 E5\n"
                             "        N1 N2 N3 N4 N5 O1 O2 O3 O4 O5\n";

static double cell(const cx_rtable *t, size_t row, const char *col)
{
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    const cx_rcolumn *rc = &t->cols[c];
    return rc->type == CX_RCOL_INT ? (double)rc->i[row] : rc->d[row];
}

static const char *string_cell(const cx_rtable *t, size_t row, const char *col)
{
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].s[row];
}

/* ---- tests ------------------------------------------------------------- */

static void check_items(const cx_rtable *items, const json_value *ref, ref_report *rep)
{
    static const char *const fields[] = {"n",     "mean", "sd",       "median", "min", "max",
                                         "range", "skew", "kurtosis", "se",     NULL};
    const json_value *rows = json_get(ref, "items");
    assert_int_equal(json_array_len(rows), BFI_ITEMS);
    assert_int_equal(items->nrows, BFI_ITEMS);
    for (size_t i = 0; i < BFI_ITEMS; i++) {
        const json_value *want = json_array_at(rows, i);
        const char *name = json_string(json_get(want, "item"));
        if (strcmp(name, string_cell(items, i, "item")) != 0) {
            ref_report_fail(rep, "items row %zu is %s, psych has %s", i,
                            string_cell(items, i, "item"), name);
            continue;
        }
        for (size_t f = 0; fields[f]; f++) {
            char what[96];
            snprintf(what, sizeof what, "items[%s].%s", name, fields[f]);
            ref_report_check(rep, what, cell(items, i, fields[f]),
                             json_number(json_get(want, fields[f])), 1e-6, 1e-12);
        }
    }
}

static void check_frequencies(const cx_rtable *freq, const json_value *ref, ref_report *rep)
{
    const json_value *items = json_get(ref, "frequencies");
    size_t row = 0;
    for (size_t i = 0; i < json_array_len(items); i++) {
        const json_value *it = json_array_at(items, i);
        const json_value *values = json_get(it, "values"), *counts = json_get(it, "counts");
        for (size_t k = 0; k < json_array_len(values); k++, row++) {
            char what[96];
            snprintf(what, sizeof what, "frequencies[%s = %g]", json_string(json_get(it, "item")),
                     json_number(json_array_at(values, k)));
            if (row >= freq->nrows ||
                strcmp(string_cell(freq, row, "item"), json_string(json_get(it, "item")))) {
                ref_report_fail(rep, "%s: row missing", what);
                return;
            }
            ref_report_check(rep, what, cell(freq, row, "value"),
                             json_number(json_array_at(values, k)), 0, 0);
            ref_report_check(rep, what, cell(freq, row, "count"),
                             json_number(json_array_at(counts, k)), 0, 0);
        }
    }
    if (row != freq->nrows)
        ref_report_fail(rep, "frequencies has %zu rows, psych %zu", freq->nrows, row);
}

static void test_bfi_matches_psych(void **state)
{
    (void)state;
    cx_table *t = bfi_table();
    cx_error err = {0};
    json_value *ref = json_parse_file(REFERENCE, &err);
    assert_non_null(ref);
    model_run run;
    run_describe(&run, t, bfi_job, 0);
    if (run.rc)
        fail_msg("describe failed: %s", run.err.msg);
    assert_true(run.result->nobs == 2800);

    ref_report rep;
    ref_report_init(&rep, "describe_bfi", "psych");
    check_items(cx_result_find_table(run.result, "items"), ref, &rep);
    check_frequencies(cx_result_find_table(run.result, "frequencies"), ref, &rep);
    if (rep.n_failed)
        fail_msg("%d of %d values differ:\n%s", rep.n_failed, rep.n_checked, ref_report_text(&rep));
    print_message("describe_bfi: %d values agree with psych to 1e-6\n", rep.n_checked);
    ref_report_free(&rep);

    /* every row is either counted or missing (bfi has NAs in most items) */
    const cx_rtable *items = cx_result_find_table(run.result, "items");
    double missing = 0;
    for (size_t i = 0; i < items->nrows; i++) {
        assert_true(cell(items, i, "n") + cell(items, i, "missing") == 2800);
        missing += cell(items, i, "missing");
    }
    assert_true(missing > 0);

    /* estimates: item means as `x ~1` */
    const cx_rtable *est = cx_result_find_table(run.result, "estimates");
    assert_non_null(est);
    assert_int_equal(est->nrows, BFI_ITEMS);
    assert_string_equal(string_cell(est, 0, "op"), "~1");
    assert_true(ref_close(cell(est, 0, "est"), 2.41343390804598, 1e-12, 0));

    /* correlations, listwise: complete cases (2436 rows) */
    const cx_rtable *cor = cx_result_find_table(run.result, "correlations");
    assert_non_null(cor);
    assert_int_equal(cor->nrows, BFI_ITEMS);
    assert_int_equal(cor->ncols, BFI_ITEMS + 1);
    assert_true(ref_close(cell(cor, 0, "A2"), -0.3509054545834828, 1e-12, 0));
    for (size_t i = 0; i < BFI_ITEMS; i++) {
        assert_true(ref_close(cell(cor, i, string_cell(cor, i, "item")), 1.0, 1e-14, 0));
        for (size_t k = 0; k < BFI_ITEMS; k++)
            assert_true(cell(cor, i, cor->cols[k + 1].name) == cell(cor, k, cor->cols[i + 1].name));
    }
    run_free(&run);

    /* pairwise: each pair's own complete rows (2757 for A1, A2) */
    run_describe(&run, t, bfi_job, 1);
    assert_int_equal(run.rc, CX_OK);
    cor = cx_result_find_table(run.result, "correlations");
    assert_true(ref_close(cell(cor, 0, "A2"), -0.3401932479237511, 1e-12, 0));
    run_free(&run);

    json_free(ref);
    cx_table_close(t);
}

static void test_errors(void **state)
{
    (void)state;
    cx_error err = {0};
    double x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 2};
    cx_table *t = cx_table_memory_alloc("mem:/small", 4, &err);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "w", CX_COL_FLOAT, w, NULL, 0, &err), CX_OK);
    model_run run;
    /* a misspelt column names the key and the column */
    run_describe(&run, t, "[job d]\nmodel = describe\nitems = x y\n", 0);
    assert_int_equal(run.rc, CX_EUSAGE);
    assert_non_null(strstr(run.err.msg, "items"));
    assert_non_null(strstr(run.err.msg, "'y'"));
    run_free(&run);
    /* weights are refused with a reason */
    run_describe(&run, t, "[job d]\nmodel = describe\nitems = x\nweights = w\n", 0);
    run.job.weight_col = 1;
    run.rc = cx_model_describe.check(&run.job, &run.err);
    assert_int_equal(run.rc, CX_EUSAGE);
    assert_non_null(strstr(run.err.msg, "does not take weights"));
    run_free(&run);
    /* small case by hand: 1 2 3 4 */
    run_describe(&run, t, "[job d]\nmodel = describe\nitems = x\n", 0);
    assert_int_equal(run.rc, CX_OK);
    const cx_rtable *items = cx_result_find_table(run.result, "items");
    assert_true(cell(items, 0, "median") == 2.5);
    assert_true(ref_close(cell(items, 0, "sd"), sqrt(5.0 / 3.0), 1e-15, 0));
    assert_true(cell(items, 0, "trimmed") == 2.5);
    assert_true(ref_close(cell(items, 0, "mad"), 1.4826, 1e-15, 0));
    assert_true(fabs(cell(items, 0, "skew")) < 1e-15);
    run_free(&run);
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bfi_matches_psych),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
