/*
 * test_describe.c — `model = describe` (models/describe.c) on psych's bfi
 * data against psych::describe() (tests/reference/describe_bfi.json):
 * n, mean, sd, median, min, max, range, skew, kurtosis and se to 1e-6
 * relative, item frequencies exactly, and the correlation matrix
 * (listwise and pairwise) against values computed independently.
 *
 * Also: the counted path (statistics from value counts) against the
 * in-memory path (sorted values) on random integer data over several row
 * blocks, per `by` level, and continuous items (the fallback) against
 * statistics computed here from the values.
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
extern size_t cx_describe_max_counted; /* models/describe.c: 0 forces the in-memory path */

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
        const char *name = ref_json_string(rep, want, "item");
        if (strcmp(name, string_cell(items, i, "item")) != 0) {
            ref_report_fail(rep, "items row %zu is %s, psych has %s", i,
                            string_cell(items, i, "item"), name);
            continue;
        }
        for (size_t f = 0; fields[f]; f++) {
            char what[96];
            snprintf(what, sizeof what, "items[%s].%s", name, fields[f]);
            ref_report_check_field(rep, what, cell(items, i, fields[f]), want, fields[f], 1e-6,
                                   1e-12);
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
        const char *item = ref_json_string(rep, it, "item");
        if (json_array_len(values) == 0 || json_array_len(values) != json_array_len(counts))
            ref_report_fail(rep, "frequencies[%s]: %zu values, %zu counts in the reference", item,
                            json_array_len(values), json_array_len(counts));
        for (size_t k = 0; k < json_array_len(values); k++, row++) {
            char what[96];
            snprintf(what, sizeof what, "frequencies[%s = %g]", item,
                     json_number(json_array_at(values, k)));
            if (row >= freq->nrows || strcmp(string_cell(freq, row, "item"), item)) {
                ref_report_fail(rep, "%s: row missing", what);
                return;
            }
            ref_report_check_json(rep, what, cell(freq, row, "value"), json_array_at(values, k), 0,
                                  0);
            ref_report_check_json(rep, what, cell(freq, row, "count"), json_array_at(counts, k), 0,
                                  0);
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
    /* 10 statistics per item, value and count per frequency row */
    size_t n_freq = 0;
    for (size_t i = 0; i < json_array_len(json_get(ref, "frequencies")); i++)
        n_freq +=
            json_array_len(json_get(json_array_at(json_get(ref, "frequencies"), i), "values"));
    assert_int_equal(json_array_len(json_get(ref, "frequencies")), BFI_ITEMS);
    ref_report_require(&rep, 10 * BFI_ITEMS + 2 * (int)n_freq);
    if (rep.n_failed)
        fail_msg("%d of %d values differ:\n%s", rep.n_failed, rep.n_checked, ref_report_text(&rep));
    print_message("describe_bfi: %d values agree with psych to 1e-6 (%d frequency rows)\n",
                  rep.n_checked, (int)n_freq);
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

/* ---- counted path against the in-memory path ------------------------------- */

#define MANY_ROWS 150000 /* > 2 blocks of CX_BLOCK_ROWS */

static uint64_t rng_state = 88172645463325252ULL;

static double uniform01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Integer items of several shapes with ~5% missing (item 3 has none):
 * Likert 1-7, 0-10 skewed, a wide range with few values, a binary item. */
static cx_table *integer_table(size_t n, int with_group)
{
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/ints", n, &err);
    double *x = malloc(n * sizeof *x);
    static const char *const names[] = {"likert", "score", "wide", "binary"};
    for (size_t j = 0; j < 4; j++) {
        for (size_t i = 0; i < n; i++) {
            double u = uniform01();
            x[i] = j == 0   ? 1 + floor(7 * u)
                   : j == 1 ? floor(11 * u * u)
                   : j == 2 ? -1e6 + 250000 * floor(9 * u)
                            : (double)(u < 0.3);
            if (j != 3 && uniform01() < 0.05)
                x[i] = NAN;
        }
        assert_int_equal(cx_table_memory_add_column(t, names[j], CX_COL_FLOAT, x, NULL, 0, &err),
                         CX_OK);
    }
    if (with_group) {
        for (size_t i = 0; i < n; i++)
            x[i] = (double)(i % 3);
        assert_int_equal(cx_table_memory_add_column(t, "g", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    }
    free(x);
    return t;
}

static const char *int_job = "[job d]\nmodel = describe\nitems = likert score wide binary\n";

/* Every cell of table `name` in a and b agrees to `tol` (relative, absolute
 * near 0); NaNs must match. */
static void tables_agree(const cx_result *a, const cx_result *b, const char *name, double tol)
{
    const cx_rtable *ta = cx_result_find_table(a, name), *tb = cx_result_find_table(b, name);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_int_equal(ta->nrows, tb->nrows);
    assert_int_equal(ta->ncols, tb->ncols);
    for (size_t c = 0; c < ta->ncols; c++) {
        assert_string_equal(ta->cols[c].name, tb->cols[c].name);
        for (size_t i = 0; i < ta->nrows; i++) {
            if (ta->cols[c].type == CX_RCOL_STRING) {
                assert_string_equal(ta->cols[c].s[i], tb->cols[c].s[i]);
                continue;
            }
            double x = cell(ta, i, ta->cols[c].name), y = cell(tb, i, tb->cols[c].name);
            if (isnan(x) || isnan(y)) {
                assert_true(isnan(x) && isnan(y));
                continue;
            }
            if (!ref_close(x, y, tol, tol))
                fail_msg("%s[%zu].%s: %.17g vs %.17g", name, i, ta->cols[c].name, x, y);
        }
    }
}

/* Pearson r of two columns of t over rows where both are present (and, if
 * all_of is set, all four items are), computed directly. */
static double direct_correlation(cx_table *t, int j, int k, int listwise)
{
    size_t n = cx_table_nrows(t);
    int cols[4] = {0, 1, 2, 3};
    double *x = malloc(4 * n * sizeof *x);
    cx_error err = {0};
    assert_int_equal(cx_table_read_block(t, cols, 4, 0, n, x, n, &err), CX_OK);
    double s[2] = {0, 0}, k_n = 0, sxx = 0, syy = 0, sxy = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            int ok = !isnan(x[i + j * n]) && !isnan(x[i + k * n]);
            for (int c = 0; listwise && c < 4; c++)
                ok = ok && !isnan(x[i + c * n]);
            if (!ok)
                continue;
            if (pass == 0) {
                s[0] += x[i + j * n];
                s[1] += x[i + k * n];
                k_n++;
                continue;
            }
            double dx = x[i + j * n] - s[0] / k_n, dy = x[i + k * n] - s[1] / k_n;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
    free(x);
    return sxy / sqrt(sxx * syy);
}

static void test_counts_match_values(void **state)
{
    (void)state;
    cx_table *t = integer_table(MANY_ROWS, 0);
    for (int pairwise = 0; pairwise < 2; pairwise++) {
        model_run counted, loaded;
        run_describe(&counted, t, int_job, pairwise);
        assert_int_equal(counted.rc, CX_OK);
        size_t saved = cx_describe_max_counted;
        cx_describe_max_counted = 0;
        run_describe(&loaded, t, int_job, pairwise);
        cx_describe_max_counted = saved;
        assert_int_equal(loaded.rc, CX_OK);
        tables_agree(counted.result, loaded.result, "items", 1e-12);
        tables_agree(counted.result, loaded.result, "frequencies", 0);
        tables_agree(counted.result, loaded.result, "estimates", 1e-12);
        const cx_rtable *cor = cx_result_find_table(counted.result, "correlations");
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++) {
                double want = direct_correlation(t, j, k, !pairwise);
                double got = cell(cor, (size_t)j, cor->cols[k + 1].name);
                if (!ref_close(got, want, 1e-12, 1e-14))
                    fail_msg("r(%d,%d) %s: %.17g, directly %.17g", j, k,
                             pairwise ? "pairwise" : "listwise", got, want);
            }
        /* the wide item: 9 values, all counted exactly */
        const cx_rtable *items = cx_result_find_table(counted.result, "items");
        assert_true(cell(items, 2, "min") == -1e6 && cell(items, 2, "max") == 1e6);
        assert_true(cell(items, 0, "n") + cell(items, 0, "missing") == MANY_ROWS);
        run_free(&counted);
        run_free(&loaded);
    }
    cx_table_close(t);
}

/* Per `by` level, as the engine runs describe (a view restricted to each
 * level): counted against in-memory. */
static void test_levels_match_values(void **state)
{
    (void)state;
    cx_table *t = integer_table(MANY_ROWS, 1);
    cx_error err = {0};
    cx_view grouped;
    cx_view_init(&grouped, t, NULL);
    int g = cx_table_find(t, "g");
    assert_int_equal(cx_view_set_groups(&grouped, &g, 1, &err), CX_OK);
    assert_int_equal(grouped.n_levels, 3);
    for (size_t level = 0; level < grouped.n_levels; level++) {
        model_run counted, loaded;
        run_describe(&counted, t, int_job, 1);
        run_describe(&loaded, t, int_job, 1);
        run_free(&counted);
        run_free(&loaded);
        cx_view lv = cx_view_restrict_level(&grouped, level);
        run_describe(&counted, t, int_job, 0);
        counted.job.view = &lv;
        cx_result_free(counted.result);
        counted.result = cx_result_alloc(0.95, &err);
        assert_int_equal(cx_model_describe.fit(&counted.job, &counted.result, &err), CX_OK);
        run_describe(&loaded, t, int_job, 0);
        loaded.job.view = &lv;
        cx_result_free(loaded.result);
        loaded.result = cx_result_alloc(0.95, &err);
        size_t saved = cx_describe_max_counted;
        cx_describe_max_counted = 0;
        assert_int_equal(cx_model_describe.fit(&loaded.job, &loaded.result, &err), CX_OK);
        cx_describe_max_counted = saved;
        assert_true(counted.result->nobs == MANY_ROWS / 3);
        tables_agree(counted.result, loaded.result, "items", 1e-12);
        tables_agree(counted.result, loaded.result, "frequencies", 0);
        tables_agree(counted.result, loaded.result, "correlations", 1e-12);
        run_free(&counted);
        run_free(&loaded);
    }
    cx_view_free(&grouped);
    cx_table_close(t);
}

/* describe with `by` fits every level from passes over batches of levels
 * (models/describe.c): each level's tables must equal describe of that
 * level alone (a view restricted to it, as the engine ran describe before,
 * one pass per level), exactly, whether the levels share one pass or the
 * memory budget splits them into batches of 2 or 1; listwise and
 * pairwise, with a bootstrap, and with every item on the fallback path. */
extern size_t cx_describe_pass_budget;

static void fit_levels(cx_table *t, cx_view *view, int pairwise, long boot, cx_result **out,
                       size_t n)
{
    model_run run;
    run_describe(&run, t, int_job, pairwise);
    assert_int_equal(run.rc, CX_OK);
    run.job.view = view;
    run.job.threads = 1;
    run.job.bootstrap = boot;
    run.job.seed = 7;
    cx_error err = {0};
    for (size_t l = 0; l < n; l++)
        out[l] = cx_result_alloc(0.95, &err);
    if (cx_model_describe.fit(&run.job, out, &err) != CX_OK)
        fail_msg("describe: %s", err.msg);
    run_free(&run);
}

static void test_levels_one_pass(void **state)
{
    (void)state;
    cx_table *t = integer_table(MANY_ROWS, 1);
    cx_error err = {0};
    cx_view grouped;
    cx_view_init(&grouped, t, NULL);
    int g = cx_table_find(t, "g");
    assert_int_equal(cx_view_set_groups(&grouped, &g, 1, &err), CX_OK);
    assert_int_equal(grouped.n_levels, 3);
    /* one pass for all 3 levels; 2 per pass (p = 4: ~132 KB a level, 2
     * copies at -j 1); 1 per pass */
    static const size_t budgets[] = {(size_t)1 << 30, 600000, 1};
    static const char *const tables[] = {"items", "frequencies", "correlations", "estimates",
                                         "bootstrap"};
    size_t saved_budget = cx_describe_pass_budget, saved_max = cx_describe_max_counted;
    long compared = 0;
    for (int variant = 0; variant < 4; variant++) {
        int pairwise = variant & 1, fallback = variant == 3;
        long boot = variant == 2 ? 5 : 0;
        cx_describe_max_counted = fallback ? 0 : saved_max;
        cx_result *alone[3];
        for (size_t l = 0; l < 3; l++) {
            cx_view lv = cx_view_restrict_level(&grouped, l);
            fit_levels(t, &lv, pairwise, boot, &alone[l], 1);
        }
        for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
            cx_describe_pass_budget = budgets[b];
            cx_result *all[3];
            fit_levels(t, &grouped, pairwise, boot, all, 3);
            for (size_t l = 0; l < 3; l++) {
                assert_true(all[l]->nobs == alone[l]->nobs);
                for (size_t k = 0; k < sizeof tables / sizeof *tables; k++) {
                    int in_all = cx_result_find_table(all[l], tables[k]) != NULL;
                    assert_int_equal(in_all, cx_result_find_table(alone[l], tables[k]) != NULL);
                    if (!in_all)
                        continue;
                    tables_agree(all[l], alone[l], tables[k], 0);
                    compared++;
                }
                cx_result_free(all[l]);
            }
        }
        for (size_t l = 0; l < 3; l++)
            cx_result_free(alone[l]);
    }
    cx_describe_pass_budget = saved_budget;
    cx_describe_max_counted = saved_max;
    /* 4 variants x 3 budgets x 3 levels: items, frequencies, correlations,
     * estimates, and bootstrap in the bootstrap variant */
    assert_int_equal(compared, 4 * 3 * 3 * 4 + 3 * 3);
    cx_view_free(&grouped);
    cx_table_close(t);
}

/* ---- continuous items: the fallback ---------------------------------------- */

static int compare_values(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of_sorted(const double *x, size_t n)
{
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void test_continuous_fallback(void **state)
{
    (void)state;
    size_t n = MANY_ROWS;
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/mixed", n, &err);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        x[i] = i % 17 == 0 ? NAN : exp(2 * uniform01()); /* skewed, all distinct */
        y[i] = 1 + floor(5 * uniform01());
    }
    /* late in the table: the item overflows its count table in block 2 */
    assert_int_equal(cx_table_memory_add_column(t, "y", CX_COL_FLOAT, y, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    model_run run;
    run_describe(&run, t, "[job d]\nmodel = describe\nitems = y x\n", 1);
    assert_int_equal(run.rc, CX_OK);
    const cx_rtable *items = cx_result_find_table(run.result, "items");
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) {
            v[k++] = x[i];
            sum += x[i];
        }
    qsort(v, k, sizeof *v, compare_values);
    double mean = sum / (double)k, m2 = 0, med = median_of_sorted(v, k), trim = 0;
    size_t lo = k / 10;
    for (size_t i = 0; i < k; i++) {
        m2 += (v[i] - mean) * (v[i] - mean);
        trim += i >= lo && i < k - lo ? v[i] : 0;
    }
    assert_true(cell(items, 1, "n") == (double)k);
    assert_true(ref_close(cell(items, 1, "mean"), mean, 1e-12, 0));
    assert_true(ref_close(cell(items, 1, "sd"), sqrt(m2 / (double)(k - 1)), 1e-12, 0));
    assert_true(cell(items, 1, "median") == med);
    assert_true(ref_close(cell(items, 1, "trimmed"), trim / (double)(k - 2 * lo), 1e-12, 0));
    assert_true(cell(items, 1, "min") == v[0] && cell(items, 1, "max") == v[k - 1]);
    for (size_t i = 0; i < k; i++)
        v[i] = fabs(v[i] - med);
    qsort(v, k, sizeof *v, compare_values);
    assert_true(ref_close(cell(items, 1, "mad"), 1.4826 * median_of_sorted(v, k), 1e-14, 0));
    /* frequencies only for the counted Likert item */
    const cx_rtable *freq = cx_result_find_table(run.result, "frequencies");
    assert_int_equal(freq->nrows, 5);
    assert_string_equal(string_cell(freq, 4, "item"), "y");
    /* and the Likert item still matches the in-memory path */
    model_run loaded;
    cx_describe_max_counted = 0;
    run_describe(&loaded, t, "[job d]\nmodel = describe\nitems = y x\n", 1);
    cx_describe_max_counted = 1000;
    assert_int_equal(loaded.rc, CX_OK);
    tables_agree(run.result, loaded.result, "items", 1e-12);
    tables_agree(run.result, loaded.result, "correlations", 1e-12);
    run_free(&loaded);
    run_free(&run);
    free(x);
    free(y);
    free(v);
    cx_table_close(t);
}

/* Counted statistics by hand: ties at the trim and MAD boundaries. */
static void test_counts_by_hand(void **state)
{
    (void)state;
    /* 1 1 2 2 2 3 5 5 7 9 9 + NaN: n 11, median 3, trim drops 1 each end */
    double x[12] = {5, 1, 2, NAN, 9, 2, 3, 1, 7, 9, 2, 5};
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/hand", 12, &err);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    model_run run;
    run_describe(&run, t, "[job d]\nmodel = describe\nitems = x\n", 0);
    assert_int_equal(run.rc, CX_OK);
    const cx_rtable *items = cx_result_find_table(run.result, "items");
    assert_true(cell(items, 0, "n") == 11 && cell(items, 0, "missing") == 1);
    assert_true(cell(items, 0, "median") == 3);
    assert_true(ref_close(cell(items, 0, "trimmed"), 4.0, 1e-15, 0));
    /* |x - 3|: 2 2 1 1 1 0 2 2 4 6 6 -> median 2 */
    assert_true(ref_close(cell(items, 0, "mad"), 2 * 1.4826, 1e-15, 0));
    assert_true(ref_close(cell(items, 0, "mean"), 46.0 / 11.0, 1e-15, 0));
    run_free(&run);
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bfi_matches_psych),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_counts_match_values), cmocka_unit_test(test_levels_match_values),
        cmocka_unit_test(test_continuous_fallback), cmocka_unit_test(test_counts_by_hand),
        cmocka_unit_test(test_levels_one_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
