/*
 * test_sem_onepass.c — cfa with `by`, `bootstrap` and `validate`, all
 * from one pass (models/sem/sem_data.c), checked against computations
 * that do not share that pass:
 *   - `by` levels equal fits of the level's rows alone (restricted views);
 *   - every table is bit-identical for 1 and 2 threads;
 *   - bootstrap SEs and percentile CIs equal those of replicates fitted
 *     by hand: each replicate's rows duplicated by their cx_boot_count;
 *   - bootstrap SEs (B = 1000) agree with lavaan's se = "bootstrap" within
 *     Monte Carlo error (tests/reference/hs_cfa_bootstrap.json);
 *   - holdout metrics equal those computed in R from lavaan's training
 *     fit (tests/reference/hs_cfa_holdout.json); kfold folds equal a
 *     holdout fit of the same rows by hand.
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

#include "../engine/resample.h"
#include "json.h"
#include "model.h"
#include "refcheck.h"
#include "bootci.h"

extern const cx_model cx_model_cfa;

#define HS_MODEL                                                                                   \
    "syntax = visual =~ x1 + x2 + x3\n"                                                            \
    "         textual =~ x4 + x5 + x6\n"                                                           \
    "         speed =~ x7 + x8 + x9\n"

/* The data and the weight column of the next runs (the weighted variant:
 * HolzingerSwineford1939 with w = 0.5 + (id mod 7) / 4). */
static const char *hs_path = CX_SOURCE_DIR "/datasets/HolzingerSwineford1939.h5";
static const char *weight_name = NULL;

static cx_table *hs_table(void)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(hs_path, "/data", &err);
    if (!t)
        fail_msg("cannot open the bundled HS data: %s", err.msg);
    return t;
}

/* ---- running the model without the CLI ------------------------------------ */

typedef struct model_run {
    cx_config *config;
    cx_view view;
    cx_filter *holdout;
    cx_job job;
    cx_result **results;
    size_t n_results;
    int rc;
    cx_error err;
} model_run;

/* Run `text` (one cfa job) on t; by_col >= 0 groups the view by it;
 * `setup` may set bootstrap / validate fields before the fit. */
static void run_cfa(model_run *run, cx_table *t, const char *text, int by_col, int threads,
                    long bootstrap, cx_validate_kind validate, long kfold, const char *holdout)
{
    memset(run, 0, sizeof *run);
    run->config = cx_config_parse_string(text, "test.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, t, NULL);
    if (by_col >= 0)
        assert_int_equal(cx_view_set_groups(&run->view, &by_col, 1, &run->err), CX_OK);
    run->job = (cx_job){.name = run->config->jobs[0].name,
                        .config = run->config,
                        .section = &run->config->jobs[0],
                        .view = &run->view,
                        .weight_col = -1,
                        .missing = CX_MISSING_LISTWISE,
                        .seed = 7,
                        .bootstrap = bootstrap,
                        .bootstrap_cluster = -1,
                        .level = 0.95,
                        .validate = validate,
                        .kfold = kfold,
                        .threads = threads};
    if (weight_name)
        run->job.weight_col = cx_table_find(t, weight_name);
    if (holdout) {
        run->holdout = cx_filter_parse(holdout, t, &run->err);
        assert_non_null(run->holdout);
        run->job.holdout = run->holdout;
    }
    run->n_results = run->view.n_levels;
    run->results = calloc(run->n_results, sizeof *run->results);
    for (size_t l = 0; l < run->n_results; l++)
        run->results[l] = cx_result_alloc(0.95, &run->err);
    run->rc = cx_model_cfa.check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = cx_model_cfa.fit(&run->job, run->results, &run->err);
    if (run->rc != CX_OK)
        fail_msg("cfa failed: %s", run->err.msg);
}

static void run_free(model_run *run)
{
    for (size_t l = 0; l < run->n_results; l++)
        cx_result_free(run->results[l]);
    free(run->results);
    cx_filter_free(run->holdout);
    cx_view_free(&run->view);
    cx_config_free(run->config);
}

static const double *column(const cx_result *r, const char *table, const char *col, size_t *n)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    if (!t)
        fail_msg("no table %s", table);
    int c = cx_rtable_find_column(t, col);
    if (c < 0)
        fail_msg("no column %s.%s", table, col);
    *n = t->nrows;
    return t->cols[c].d;
}

static double validation_value(const cx_result *r, const char *split, const char *metric)
{
    const cx_rtable *t = cx_result_find_table(r, "validation");
    assert_non_null(t);
    int cs = cx_rtable_find_column(t, "split"), cm = cx_rtable_find_column(t, "metric");
    int cv = cx_rtable_find_column(t, "value");
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(t->cols[cs].s[i], split) == 0 && strcmp(t->cols[cm].s[i], metric) == 0)
            return t->cols[cv].d[i];
    fail_msg("validation has no %s/%s", split, metric);
    return NAN;
}

static void assert_close(double got, double want, double rtol)
{
    double scale = fabs(want) > 1 ? fabs(want) : 1;
    if (!(fabs(got - want) <= rtol * scale))
        fail_msg("got %.17g, want %.17g (rtol %g)", got, want, rtol);
}

/* ---- by ----------------------------------------------------------------------- */

/* A `by` level's fit is the fit of that level's rows alone. */
static void check_by_levels(const char *text)
{
    cx_table *t = hs_table();
    int school = cx_table_find(t, "school");
    model_run by;
    run_cfa(&by, t, text, school, 2, 0, CX_VALIDATE_NONE, 0, NULL);
    assert_int_equal(by.n_results, 2);
    for (size_t l = 0; l < 2; l++) {
        model_run one;
        memset(&one, 0, sizeof one);
        cx_view grouped;
        cx_view_init(&grouped, t, NULL);
        assert_int_equal(cx_view_set_groups(&grouped, &school, 1, &one.err), CX_OK);
        run_cfa(&one, t, text, -1, 1, 0, CX_VALIDATE_NONE, 0, NULL);
        /* refit on the restricted view */
        cx_result_free(one.results[0]);
        one.results[0] = cx_result_alloc(0.95, &one.err);
        cx_view restricted = cx_view_restrict_level(&grouped, l);
        one.job.view = &restricted;
        assert_int_equal(cx_model_cfa.fit(&one.job, one.results, &one.err), CX_OK);
        const char *cols[] = {"est", "se", "std_all"};
        for (size_t c = 0; c < 3; c++) {
            size_t n1, n2;
            const double *a = column(by.results[l], "estimates", cols[c], &n1);
            const double *b = column(one.results[0], "estimates", cols[c], &n2);
            assert_int_equal(n1, n2);
            assert_true(n1 > 20);
            for (size_t i = 0; i < n1; i++)
                if (!(isnan(a[i]) && isnan(b[i])))
                    assert_close(a[i], b[i], 1e-10);
        }
        assert_true(by.results[l]->nobs == one.results[0]->nobs);
        cx_view_free(&grouped);
        run_free(&one);
    }
    run_free(&by);
    cx_table_close(t);
}

static void test_by_levels_equal_level_fits(void **state)
{
    (void)state;
    check_by_levels("[job by]\nmodel = cfa\n" HS_MODEL);
}

static void test_by_with_groups_equal_level_fits(void **state)
{
    (void)state;
    check_by_levels("[job by]\nmodel = cfa\ngroup = sex\nestimator = mlr\n" HS_MODEL);
}

/* Sampling weights are normalized within each fit (lavaan's
 * sampling.weights of that level's data): a level of `by` (here with two
 * groups inside, normalized over both) equals the fit of its rows alone,
 * robust SEs included. */
static void test_by_weighted_equal_level_fits(void **state)
{
    (void)state;
    hs_path = CX_SOURCE_DIR "/datasets/HolzingerSwineford1939_weighted.h5";
    weight_name = "w";
    check_by_levels("[job by]\nmodel = cfa\ngroup = sex\n" HS_MODEL);
    check_by_levels("[job by]\nmodel = cfa\nweights_are = frequency\n" HS_MODEL);
    hs_path = CX_SOURCE_DIR "/datasets/HolzingerSwineford1939.h5";
    weight_name = NULL;
}

/* ---- threads ------------------------------------------------------------------ */

static void assert_results_identical(const cx_result *a, const cx_result *b)
{
    assert_int_equal(a->n_tables, b->n_tables);
    assert_int_equal(a->status, b->status);
    for (size_t k = 0; k < a->n_tables; k++) {
        const cx_rtable *ta = a->tables[k], *tb = b->tables[k];
        assert_string_equal(ta->name, tb->name);
        assert_int_equal(ta->nrows, tb->nrows);
        assert_int_equal(ta->ncols, tb->ncols);
        for (size_t c = 0; c < ta->ncols; c++)
            if (ta->cols[c].type == CX_RCOL_DOUBLE)
                for (size_t i = 0; i < ta->nrows; i++)
                    assert_true(memcmp(&ta->cols[c].d[i], &tb->cols[c].d[i], sizeof(double)) == 0);
    }
}

static void test_threads_identical(void **state)
{
    (void)state;
    cx_table *t = hs_table();
    int school = cx_table_find(t, "school");
    model_run a, b;
    run_cfa(&a, t, "[job j]\nmodel = cfa\n" HS_MODEL, school, 1, 40, CX_VALIDATE_KFOLD, 3, NULL);
    run_cfa(&b, t, "[job j]\nmodel = cfa\n" HS_MODEL, school, 2, 40, CX_VALIDATE_KFOLD, 3, NULL);
    for (size_t l = 0; l < 2; l++) {
        assert_non_null(cx_result_find_table(a.results[l], "bootstrap"));
        assert_non_null(cx_result_find_table(a.results[l], "validation"));
        assert_results_identical(a.results[l], b.results[l]);
    }
    run_free(&a);
    run_free(&b);
    cx_table_close(t);
}

/* ---- bootstrap by hand -------------------------------------------------------- */

/* The HS rows, row i repeated cx_boot_count(seed, r, i) times. */
static cx_table *replicate_table(cx_table *hs, unsigned long seed, size_t r)
{
    cx_error err = {0};
    size_t n = cx_table_nrows(hs), total = 0;
    static const char *const names[] = {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"};
    int cols[9];
    for (size_t j = 0; j < 9; j++)
        cols[j] = cx_table_find(hs, names[j]);
    double *x = malloc(9 * n * sizeof *x);
    assert_int_equal(cx_table_read_block(hs, cols, 9, 0, n, x, n, &err), CX_OK);
    for (size_t i = 0; i < n; i++)
        total += cx_boot_count(seed, r, i);
    double *dup = malloc(9 * total * sizeof *dup);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = cx_boot_count(seed, r, i); k > 0; k--, at++)
            for (size_t j = 0; j < 9; j++)
                dup[at + j * total] = x[i + j * n];
    cx_table *t = cx_table_memory_alloc("mem:/replicate", total, &err);
    for (size_t j = 0; j < 9; j++)
        assert_int_equal(cx_table_memory_add_column(t, names[j], CX_COL_FLOAT, dup + j * total,
                                                    NULL, 0, &err),
                         CX_OK);
    free(x);
    free(dup);
    return t;
}

static void test_bootstrap_equals_replicates_by_hand(void **state)
{
    (void)state;
    enum { B = 6 };
    cx_table *hs = hs_table();
    model_run boot;
    run_cfa(&boot, hs, "[job b]\nmodel = cfa\n" HS_MODEL, -1, 2, B, CX_VALIDATE_NONE, 0, NULL);
    size_t n;
    const double *est0 = column(boot.results[0], "estimates", "est", &n);
    double *reps = malloc(B * n * sizeof *reps);
    for (size_t r = 0; r < B; r++) {
        cx_table *t = replicate_table(hs, 7, r);
        model_run one;
        run_cfa(&one, t, "[job one]\nmodel = cfa\n" HS_MODEL, -1, 1, 0, CX_VALIDATE_NONE, 0,
                NULL);
        size_t m;
        const double *e = column(one.results[0], "estimates", "est", &m);
        assert_int_equal(m, n);
        for (size_t i = 0; i < n; i++)
            reps[r * n + i] = e[i];
        run_free(&one);
        cx_table_close(t);
    }
    const double *se = column(boot.results[0], "estimates", "se", &n);
    const double *lo = column(boot.results[0], "estimates", "ci_lower", &n);
    const double *hi = column(boot.results[0], "estimates", "ci_upper", &n);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (se[i] == 0)
            continue; /* fixed */
        double t[B], mean = 0, ss = 0;
        for (size_t r = 0; r < B; r++)
            mean += (t[r] = reps[r * n + i]) / B;
        for (size_t r = 0; r < B; r++)
            ss += (t[r] - mean) * (t[r] - mean);
        assert_close(se[i], sqrt(ss / (B - 1)), 1e-8);
        for (size_t a = 1; a < B; a++) /* sort */
            for (size_t b = a; b > 0 && t[b] < t[b - 1]; b--) {
                double s = t[b];
                t[b] = t[b - 1];
                t[b - 1] = s;
            }
        assert_close(lo[i], cx_boot_quantile(t, B, 0.025), 1e-8);
        assert_close(hi[i], cx_boot_quantile(t, B, 0.975), 1e-8);
        (void)est0;
        checked++;
    }
    assert_int_equal(checked, 21); /* the free parameters */
    free(reps);
    run_free(&boot);
    cx_table_close(hs);
}

/* The interpolation of boot's norm.inter on known values. */
static void test_quantile(void **state)
{
    (void)state;
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_close(cx_boot_quantile(x, 9, 0.5), 5, 0); /* (9+1)*0.5 = 5: x[5] */
    assert_close(cx_boot_quantile(x, 9, 0.01), 1, 0); /* below the first: x[1] */
    double q = cx_boot_quantile(x, 9, 0.25);         /* rk = 2.5 */
    assert_true(q > 2 && q < 3);
}

/* ---- bootstrap vs lavaan -------------------------------------------------------- */

/* lavaan's SEs (B = 1000, multinomial row resampling) and ours (B = 1000,
 * Poisson counts, other random numbers) are two Monte Carlo estimates of
 * the same bootstrap SE.  An SE from B replicates has a relative Monte
 * Carlo sd of about sqrt((kurtosis - 1) / (4B)): 2.2 % for normal
 * replicates, 3.2 % for the difference of two.  15 % allows 4.7 such sd,
 * and for the heavier-tailed replicate distributions (the speed
 * loadings, kurtosis up to ~6) still about 3 sd. */
static void test_bootstrap_matches_lavaan(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/hs_cfa_bootstrap.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    cx_table *hs = hs_table();
    model_run boot;
    run_cfa(&boot, hs, "[job b]\nmodel = cfa\n" HS_MODEL, -1, 2, 1000, CX_VALIDATE_NONE, 0, NULL);
    const cx_rtable *t = cx_result_find_table(boot.results[0], "estimates");
    const json_value *rows = json_get(ref, "estimates");
    ref_report rep;
    ref_report_init(&rep, "hs_cfa_bootstrap", "lavaan");
    assert_int_equal(json_array_len(rows), t->nrows);
    int se_col = cx_rtable_find_column(t, "se"), est_col = cx_rtable_find_column(t, "est");
    int lhs = cx_rtable_find_column(t, "lhs"), rhs = cx_rtable_find_column(t, "rhs");
    for (size_t i = 0; i < t->nrows; i++) {
        const json_value *w = json_array_at(rows, i);
        char what[96];
        snprintf(what, sizeof what, "%s %s", t->cols[lhs].s[i], t->cols[rhs].s[i]);
        if (strcmp(json_string(json_get(w, "lhs")), t->cols[lhs].s[i]) ||
            strcmp(json_string(json_get(w, "rhs")), t->cols[rhs].s[i])) {
            ref_report_fail(&rep, "row %zu is %s, lavaan has another", i, what);
            continue;
        }
        ref_report_check(&rep, what, t->cols[est_col].d[i], json_number(json_get(w, "est")), 1e-6,
                         1e-9);
        double want = json_number(json_get(w, "se"));
        if (want == 0)
            ref_report_check(&rep, what, t->cols[se_col].d[i], 0, 0, 0);
        else
            ref_report_check(&rep, what, t->cols[se_col].d[i], want, 0.15, 0);
    }
    if (rep.n_failed)
        fail_msg("%s", ref_report_text(&rep));
    assert_int_equal(rep.n_checked, 2 * 24); /* every row: est and se */
    ref_report_free(&rep);
    run_free(&boot);
    cx_table_close(hs);
    json_free(ref);
}

/* ---- validation ----------------------------------------------------------------- */

static void test_holdout_matches_r(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/hs_cfa_holdout.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    cx_table *hs = hs_table();
    model_run run;
    run_cfa(&run, hs, "[job h]\nmodel = cfa\n" HS_MODEL, -1, 1, 0, CX_VALIDATE_HOLDOUT, 0,
            "school == \"Pasteur\"");
    const json_value *m = json_get(ref, "metrics");
    static const char *const names[] = {"n_train", "n_test", "loglik_per_row", "chisq",
                                        "rmsea",   "srmr",   "cfi"};
    ref_report rep;
    ref_report_init(&rep, "hs_cfa_holdout", "R");
    for (size_t k = 0; k < 7; k++)
        ref_report_check(&rep, names[k], validation_value(run.results[0], "holdout", names[k]),
                         json_number(json_get(m, names[k])), 1e-6, 1e-9);
    if (rep.n_failed)
        fail_msg("%s", ref_report_text(&rep));
    assert_int_equal(rep.n_checked, 7);
    ref_report_free(&rep);
    run_free(&run);
    cx_table_close(hs);
    json_free(ref);
}

/* Fold k of kfold(K) scores like a holdout of exactly the rows whose
 * cx_fold_of is k (the holdout filter here is `id` membership, spelled
 * as a table column: fold_k == 1). */
static void test_kfold_equals_holdout_by_hand(void **state)
{
    (void)state;
    enum { K = 3 };
    cx_error err = {0};
    cx_table *hs = hs_table();
    size_t n = cx_table_nrows(hs);
    static const char *const names[] = {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"};
    int cols[9];
    for (size_t j = 0; j < 9; j++)
        cols[j] = cx_table_find(hs, names[j]);
    double *x = malloc(10 * n * sizeof *x);
    assert_int_equal(cx_table_read_block(hs, cols, 9, 0, n, x, n, &err), CX_OK);
    cx_table *t = cx_table_memory_alloc("mem:/folds", n, &err);
    for (size_t j = 0; j < 9; j++)
        assert_int_equal(
            cx_table_memory_add_column(t, names[j], CX_COL_FLOAT, x + j * n, NULL, 0, &err), CX_OK);
    double *fold = x + 9 * n;
    for (size_t i = 0; i < n; i++)
        fold[i] = (double)cx_fold_of(7, i, K);
    assert_int_equal(cx_table_memory_add_column(t, "fold", CX_COL_INT, fold, NULL, 0, &err), CX_OK);
    model_run kf;
    run_cfa(&kf, t, "[job k]\nmodel = cfa\n" HS_MODEL, -1, 2, 0, CX_VALIDATE_KFOLD, K, NULL);
    static const char *const metrics[] = {"n_train", "n_test", "loglik_per_row", "chisq",
                                          "rmsea",   "srmr",   "cfi"};
    for (size_t k = 0; k < K; k++) {
        char expr[32], split[16];
        snprintf(expr, sizeof expr, "fold == %zu", k);
        snprintf(split, sizeof split, "fold%zu", k + 1);
        model_run h;
        run_cfa(&h, t, "[job h]\nmodel = cfa\n" HS_MODEL, -1, 1, 0, CX_VALIDATE_HOLDOUT, 0, expr);
        for (size_t m = 0; m < 7; m++)
            assert_close(validation_value(kf.results[0], split, metrics[m]),
                         validation_value(h.results[0], "holdout", metrics[m]), 1e-9);
        run_free(&h);
    }
    run_free(&kf);
    cx_table_close(t);
    cx_table_close(hs);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_levels_equal_level_fits),
        cmocka_unit_test(test_by_with_groups_equal_level_fits),
        cmocka_unit_test(test_by_weighted_equal_level_fits),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_bootstrap_equals_replicates_by_hand),
        cmocka_unit_test(test_bootstrap_matches_lavaan),
        cmocka_unit_test(test_holdout_matches_r),
        cmocka_unit_test(test_kfold_equals_holdout_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
