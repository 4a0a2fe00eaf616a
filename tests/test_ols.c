/*
 * test_ols.c — ols, drivers and gap on an in-memory table with a known
 * truth, where R is not needed:
 *  - kfold validation equals an independent brute force: for every fold
 *    (cx_fold_of, the engine's rule) a GSL least-squares fit on the other
 *    folds' rows, predictions on the fold's rows, r2/rmse/mae by hand;
 *  - results do not depend on the thread count (cluster SEs, kfold);
 *  - recovery of truth: y = 1 + 2 x1 - x2 + 0.5 x3 + noise;
 *  - drivers: LMG and Johnson's weights sum to R^2 for 15 drivers (exact,
 *    32768 subsets); bootstrap CIs cover the estimate and are reproducible;
 *  - every bad key is refused with the key named.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gsl/gsl_multifit.h>

#include "model.h"
#include "refcheck.h"
#include "resample.h"
#include "run.h"
#include "simulate.h"
#include <unistd.h>

extern const cx_model cx_model_ols, cx_model_drivers, cx_model_gap;

#define N 3000
#define NX 15

typedef struct ols_test_run {
    cx_table *t;
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *results[4];
    int rc;
    cx_error err;
} ols_test_run;

static double data_x[NX][N], data_y[N], data_g[N], data_w[N];

/* Deterministic pseudo-normal draws (sum of uniforms from the hash). */
static double draw(uint64_t stream, uint64_t i)
{
    double s = 0;
    for (int k = 0; k < 12; k++)
        s += (double)(cx_draw_bits(7, stream, i * 12 + (uint64_t)k) >> 11) * 0x1.0p-53;
    return s - 6;
}

static cx_table *make_table(void)
{
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < NX; j++)
            data_x[j][i] = draw(j + 1, i) + (j > 0 ? 0.3 * data_x[0][i] : 0);
        data_g[i] = (double)(i % 37);
        data_w[i] = 0.5 + (double)(i % 5) / 4;
        data_y[i] = 1 + 2 * data_x[0][i] - data_x[1][i] + 0.5 * data_x[2][i] + 0.2 * data_x[3][i] +
                    draw(99, i) + 0.3 * draw(98, (uint64_t)data_g[i]);
    }
    data_x[3][17] = NAN; /* one incomplete row */
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/ols", N, &err);
    assert_non_null(t);
    char name[16];
    for (size_t j = 0; j < NX; j++) {
        snprintf(name, sizeof name, "x%zu", j + 1);
        assert_int_equal(
            cx_table_memory_add_column(t, name, CX_COL_FLOAT, data_x[j], NULL, 0, &err), CX_OK);
    }
    assert_int_equal(cx_table_memory_add_column(t, "y", CX_COL_FLOAT, data_y, NULL, 0, &err),
                     CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "g", CX_COL_INT, data_g, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "w", CX_COL_FLOAT, data_w, NULL, 0, &err),
                     CX_OK);
    return t;
}

/* Check and fit like the engine does on the table `make` builds, with
 * the weights column `weights` (NULL: unweighted). */
static void run_model_on(ols_test_run *run, cx_table *(*make)(void), const cx_model *m,
                         const char *keys, int threads, long kfold, long bootstrap,
                         const char *weights)
{
    memset(run, 0, sizeof *run);
    run->t = make();
    char text[2048];
    snprintf(text, sizeof text, "[job j]\nmodel = %s\n%s\n", m->name, keys);
    run->config = cx_config_parse_string(text, "t.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, run->t, NULL);
    run->job.name = "j";
    run->job.config = run->config;
    run->job.section = &run->config->jobs[0];
    run->job.view = &run->view;
    run->job.weight_col = weights ? cx_table_find(run->t, weights) : -1;
    run->job.bootstrap_cluster = -1;
    run->job.level = 0.95;
    run->job.seed = 1;
    run->job.threads = threads;
    run->job.bootstrap = bootstrap;
    if (kfold) {
        run->job.validate = CX_VALIDATE_KFOLD;
        run->job.kfold = kfold;
    }
    run->results[0] = cx_result_alloc(0.95, &run->err);
    run->rc = m->check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = m->fit(&run->job, run->results, &run->err);
}

/* Weighted: `weights = w`. */
static void run_model_w(ols_test_run *run, const cx_model *m, const char *keys, int threads,
                        long kfold, long bootstrap, int weighted)
{
    run_model_on(run, make_table, m, keys, threads, kfold, bootstrap, weighted ? "w" : NULL);
}

static void run_model(ols_test_run *run, const cx_model *m, const char *keys, int threads,
                      long kfold, long bootstrap)
{
    run_model_w(run, m, keys, threads, kfold, bootstrap, 0);
}

static void run_free(ols_test_run *run)
{
    cx_result_free(run->results[0]);
    cx_view_free(&run->view);
    cx_config_free(run->config);
    cx_table_close(run->t);
}

static const double *col(const cx_result *r, const char *table, const char *name, size_t *n)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    int c = cx_rtable_find_column(t, name);
    assert_true(c >= 0);
    *n = t->nrows;
    return t->cols[c].d;
}

static double validation(const cx_result *r, const char *split, const char *metric)
{
    const cx_rtable *t = cx_result_find_table(r, "validation");
    assert_non_null(t);
    int cs = cx_rtable_find_column(t, "split"), cm = cx_rtable_find_column(t, "metric"),
        cv = cx_rtable_find_column(t, "value");
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(t->cols[cs].s[i], split) == 0 && strcmp(t->cols[cm].s[i], metric) == 0)
            return t->cols[cv].d[i];
    fail_msg("no validation %s %s", split, metric);
    return NAN;
}

/* kfold(5) against GSL fits on the training rows of each fold; weighted:
 * gsl_multifit_wlinear and w-weighted metrics (docs/models/ols.md). */
static void kfold_brute_force(int weighted)
{
    ols_test_run run;
    run_model_w(&run, &cx_model_ols, "formula = y ~ x1 + x2 + x3", 2, 5, 0, weighted);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    int checked = 0;
    for (size_t k = 0; k < 5; k++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < N; i++)
            cx_fold_of(1, i, 5) == k ? nte++ : ntr++;
        gsl_matrix *X = gsl_matrix_alloc(ntr, 4), *cov = gsl_matrix_alloc(4, 4);
        gsl_vector *yv = gsl_vector_alloc(ntr), *b = gsl_vector_alloc(4);
        gsl_vector *wv = gsl_vector_alloc(ntr);
        gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(ntr, 4);
        size_t r = 0;
        for (size_t i = 0; i < N; i++) {
            if (cx_fold_of(1, i, 5) == k)
                continue;
            gsl_matrix_set(X, r, 0, 1);
            for (size_t j = 0; j < 3; j++)
                gsl_matrix_set(X, r, j + 1, data_x[j][i]);
            gsl_vector_set(wv, r, weighted ? data_w[i] : 1);
            gsl_vector_set(yv, r++, data_y[i]);
        }
        double chisq, sw = 0, sse = 0, sae = 0, sy = 0, syy = 0;
        gsl_multifit_wlinear(X, wv, yv, b, cov, &chisq, ws);
        for (size_t i = 0; i < N; i++) {
            if (cx_fold_of(1, i, 5) != k)
                continue;
            double pred = gsl_vector_get(b, 0), w = weighted ? data_w[i] : 1;
            for (size_t j = 0; j < 3; j++)
                pred += gsl_vector_get(b, j + 1) * data_x[j][i];
            double e = data_y[i] - pred;
            sw += w;
            sse += w * e * e;
            sae += w * fabs(e);
            sy += w * data_y[i];
            syy += w * data_y[i] * data_y[i];
        }
        double r2 = 1 - sse / (syy - sy * sy / sw);
        char split[16];
        snprintf(split, sizeof split, "fold%zu", k + 1);
        assert_true(ref_close(validation(run.results[0], split, "n_test"), (double)nte, 0, 0));
        assert_true(ref_close(validation(run.results[0], split, "n_train"), (double)ntr, 0, 0));
        assert_true(ref_close(validation(run.results[0], split, "r2"), r2, 1e-9, 1e-12));
        assert_true(ref_close(validation(run.results[0], split, "rmse"), sqrt(sse / sw), 1e-9, 0));
        assert_true(ref_close(validation(run.results[0], split, "mae"), sae / sw, 1e-9, 0));
        checked += 5;
        gsl_matrix_free(X);
        gsl_matrix_free(cov);
        gsl_vector_free(yv);
        gsl_vector_free(wv);
        gsl_vector_free(b);
        gsl_multifit_linear_free(ws);
    }
    assert_int_equal(checked, 25);
    run_free(&run);
}

static void test_kfold_brute_force(void **state)
{
    (void)state;
    kfold_brute_force(0);
}

static void test_kfold_weighted_brute_force(void **state)
{
    (void)state;
    kfold_brute_force(1);
}

/* Recovery of the generating coefficients, and thread invariance. */
static void test_recovery_and_threads(void **state)
{
    (void)state;
    const char *keys = "formula = y ~ x1 + x2 + x3 + x4\nse = cluster(g)";
    ols_test_run a, b;
    run_model(&a, &cx_model_ols, keys, 1, 0, 0);
    run_model(&b, &cx_model_ols, keys, 2, 0, 0);
    if (a.rc || b.rc)
        fail_msg("%s %s", a.err.msg, b.err.msg);
    size_t n, n2;
    const double *est = col(a.results[0], "estimates", "est", &n);
    const double *se = col(a.results[0], "estimates", "se", &n);
    const double *est2 = col(b.results[0], "estimates", "est", &n2);
    const double *se2 = col(b.results[0], "estimates", "se", &n2);
    assert_int_equal(n, 5);
    const double truth[] = {1, 2, -1, 0.5, 0.2};
    for (size_t i = 0; i < 5; i++) {
        if (fabs(est[i] - truth[i]) > 4 * se[i])
            fail_msg("coefficient %zu = %g (se %g), truth %g", i, est[i], se[i], truth[i]);
        assert_true(ref_close(est2[i], est[i], 1e-10, 0));
        assert_true(ref_close(se2[i], se[i], 1e-10, 0));
    }
    assert_true(a.results[0]->nobs == N - 1); /* the incomplete row dropped */
    run_free(&a);
    run_free(&b);
}

static double fit_value(const cx_result *r, const char *measure)
{
    const cx_rtable *t = cx_result_find_table(r, "fit");
    assert_non_null(t);
    int cm = cx_rtable_find_column(t, "measure"), cv = cx_rtable_find_column(t, "value");
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(t->cols[cm].s[i], measure) == 0)
            return t->cols[cv].d[i];
    fail_msg("no fit measure %s", measure);
    return NAN;
}

/* 15 drivers: exact LMG over 32768 subsets; shares sum to R^2. */
static void test_drivers_15(void **state)
{
    (void)state;
    ols_test_run run;
    run_model(&run, &cx_model_drivers,
              "formula = y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 "
              "+ x14 + x15",
              2, 0, 0);
    if (run.rc)
        fail_msg("%s", run.err.msg);
    size_t n;
    const double *lmg = col(run.results[0], "drivers", "lmg", &n);
    const double *jw = col(run.results[0], "drivers", "johnson", &n);
    assert_int_equal(n, 15);
    double sl = 0, sj = 0;
    for (size_t j = 0; j < n; j++) {
        sl += lmg[j];
        sj += jw[j];
        assert_true(lmg[j] >= 0 && jw[j] >= 0);
    }
    double r2 = fit_value(run.results[0], "r2");
    assert_true(ref_close(sl, r2, 1e-10, 0));
    assert_true(ref_close(sj, r2, 1e-10, 0));
    /* x1 drives most of y */
    for (size_t j = 1; j < n; j++)
        assert_true(lmg[0] > lmg[j]);
    run_free(&run);
}

static void test_drivers_bootstrap(void **state)
{
    (void)state;
    ols_test_run a, b;
    run_model(&a, &cx_model_drivers, "formula = y ~ x1 + x2 + x3 + x4", 2, 0, 60);
    run_model(&b, &cx_model_drivers, "formula = y ~ x1 + x2 + x3 + x4", 1, 0, 60);
    if (a.rc || b.rc)
        fail_msg("%s %s", a.err.msg, b.err.msg);
    size_t n;
    const double *lmg = col(a.results[0], "drivers", "lmg", &n);
    const double *lo = col(a.results[0], "drivers", "lmg_ci_lower", &n);
    const double *hi = col(a.results[0], "drivers", "lmg_ci_upper", &n);
    const double *se = col(a.results[0], "drivers", "lmg_se", &n);
    const double *se_b = col(b.results[0], "drivers", "lmg_se", &n);
    for (size_t j = 0; j < n; j++) {
        assert_true(lo[j] <= lmg[j] && lmg[j] <= hi[j]);
        assert_true(se[j] > 0 && se[j] < lmg[j]);
        assert_true(ref_close(se_b[j], se[j], 1e-10, 0)); /* same seed, any threads */
    }
    run_free(&a);
    run_free(&b);
}

/* Three blocks of rows (CX_BLOCK_ROWS each): the first complete, a NaN
 * in the second, an infinite value in the third, and a column of ones;
 * a second cluster column h (13 clusters) has a missing key in the first. */
#define N_BLOCKS3 (2 * 65536 + 18928)
#define N_BIG_COLS 7
static double *big_cols[N_BIG_COLS];

static cx_table *make_big_table(void)
{
    static const char *names[] = {"x1", "x2", "x3", "y", "g", "one", "h"};
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/ols3", N_BLOCKS3, &err);
    assert_non_null(t);
    for (size_t j = 0; j < N_BIG_COLS; j++) {
        if (!big_cols[j])
            big_cols[j] = malloc(N_BLOCKS3 * sizeof(double));
        assert_non_null(big_cols[j]);
    }
    for (size_t i = 0; i < N_BLOCKS3; i++) {
        for (size_t j = 0; j < 3; j++)
            big_cols[j][i] = draw(j + 11, i) + 0.2 * j;
        big_cols[4][i] = (double)(i % 97);
        big_cols[5][i] = 1;
        big_cols[6][i] = (double)((i * 7) % 13);
        big_cols[3][i] = 0.5 + big_cols[0][i] - 2 * big_cols[2][i] + draw(40, i) +
                         0.5 * draw(41, (uint64_t)big_cols[4][i]);
    }
    big_cols[1][70000] = NAN;
    big_cols[2][140000] = INFINITY;
    big_cols[6][30000] = NAN;
    for (size_t j = 0; j < N_BIG_COLS; j++)
        assert_int_equal(cx_table_memory_add_column(t, names[j], j == 4 ? CX_COL_INT : CX_COL_FLOAT,
                                                    big_cols[j], NULL, 0, &err),
                         CX_OK);
    return t;
}

/* An unweighted fit of plain columns takes its cross-products straight
 * from the raw blocks that are complete (ols_xprod.c's direct path), and
 * its robust and cluster scores from the raw chunks that are complete
 * (ols_scores.c's), and fills the others; weights of one always fill.
 * Both give lm's answer: equal to 1e-10, whatever the columns' order, with
 * or without the intercept, with an aliased column, with HC0..HC3 and
 * one- and two-way cluster SEs, on 1 and 2 threads. */
static void test_direct_path_equals_fill(void **state)
{
    (void)state;
    const char *keys[] = {"formula = y ~ x1 + x2 + x3",
                          "formula = y ~ x3 + x1 + x2",
                          "formula = y ~ 0 + x2 + x1",
                          "formula = y ~ x1 + x3\nse = cluster(g)",
                          "formula = y ~ x1 + x2\nse = hc0",
                          "formula = y ~ x3 + x1\nse = hc1",
                          "formula = y ~ x1 + x2 + x3\nse = hc2",
                          "formula = y ~ 0 + x1 + x3\nse = hc3",
                          "formula = y ~ x1 + one + x2\nse = hc3",
                          "formula = y ~ x1 + one + x2\nse = cluster(g)",
                          "formula = y ~ x2 + x1\nse = cluster(h)",
                          "formula = y ~ x1 + x2 + x3\nse = cluster(g h)",
                          "formula = y ~ x1\nse = cluster(h g)"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *text = keys[k];
        for (int threads = 1; threads <= 2; threads++) {
            ols_test_run a, b;
            run_model_on(&a, make_big_table, &cx_model_ols, text, threads, 0, 0, NULL);
            run_model_on(&b, make_big_table, &cx_model_ols, text, threads, 0, 0, "one");
            if (a.rc || b.rc)
                fail_msg("%s: %s %s", text, a.err.msg, b.err.msg);
            /* x2 has the NaN, x3 the infinite value */
            double expect = N_BLOCKS3 - (strstr(text, "x2") ? 1 : 0) -
                            (strstr(text, "x3") ? 1 : 0) - (strstr(text, "(h") ? 1 : 0) -
                            (strstr(text, " h)") ? 1 : 0);
            if ((double)a.results[0]->nobs != expect || (double)b.results[0]->nobs != expect)
                fail_msg("%s: nobs %g (direct) %g (fill), expected %g", text,
                         (double)a.results[0]->nobs, (double)b.results[0]->nobs, expect);
            size_t n, n2;
            static const char *cols[] = {"est", "se", "z", "pvalue"};
            for (size_t c = 0; c < 4; c++) {
                const double *x = col(a.results[0], "estimates", cols[c], &n);
                const double *y = col(b.results[0], "estimates", cols[c], &n2);
                assert_int_equal(n, n2);
                for (size_t i = 0; i < n; i++)
                    if (!(isnan(x[i]) && isnan(y[i])) && !ref_close(x[i], y[i], 1e-10, 1e-300))
                        fail_msg("%s, %d threads: %s[%zu] %.17g (direct) vs %.17g (fill)", text,
                                 threads, cols[c], i, x[i], y[i]);
            }
            static const char *measures[] = {"r2", "adj_r2", "rmse", "fstat"};
            for (size_t c = 0; c < 4; c++)
                assert_true(ref_close(fit_value(a.results[0], measures[c]),
                                      fit_value(b.results[0], measures[c]), 1e-10, 0));
            run_free(&a);
            run_free(&b);
        }
    }
    for (size_t j = 0; j < N_BIG_COLS; j++) {
        free(big_cols[j]);
        big_cols[j] = NULL;
    }
}

static void expect_error(const cx_model *m, const char *keys, const char *key, const char *text)
{
    ols_test_run run;
    run_model(&run, m, keys, 1, 0, 0);
    if (run.rc == CX_OK)
        fail_msg("'%s' was accepted", keys);
    char want[64];
    snprintf(want, sizeof want, "key '%s'", key);
    if (!strstr(run.err.msg, want) || !strstr(run.err.msg, text))
        fail_msg("error for '%s': %s (want %s ... %s)", keys, run.err.msg, want, text);
    run_free(&run);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(&cx_model_ols, "formula = y ~ x1\nse = hc4", "se", "expected classical");
    expect_error(&cx_model_ols, "formula = y ~ x1\nse = cluster(gg)", "se", "gg");
    expect_error(&cx_model_ols, "formula = y ~ x1\nse = cluster(g x1 x2)", "se", "one or two");
    expect_error(&cx_model_ols, "formula = y ~ x1 + zz", "formula", "zz");
    expect_error(&cx_model_ols, "formula = y ~ x1 + (1 | g)", "formula", "mixed");
    expect_error(&cx_model_ols, "se = hc1", "formula", "expected a formula");
    expect_error(&cx_model_drivers, "formula = y ~ x1 + factor(g)", "formula", "one term");
    expect_error(&cx_model_drivers, "formula = y ~ x1 + x2 - 1", "formula", "intercept");
    expect_error(&cx_model_gap, "pairs = x1 x2", "pairs", "not a pair");
    expect_error(&cx_model_gap, "pairs = x1: nope", "pairs", "nope");
    expect_error(&cx_model_gap, "pairs = ", "pairs", "expected pairs");
}

/* gap on `cxfit simulate` data: tp = round(mu_tp + 0.9 MOT + e),
 * exp = round(mu_exp + e') (docs/SIMULATE.md: mu_tp = 4.9 5.3 4.6 5.0,
 * mu_exp = 5.2 5.4 5.0 5.3; MOT has mean 0 up to the firm-quality draws,
 * sd of their mean ~0.03), so each gap is mu_tp - mu_exp within ~0.1
 * (rounding and the 1..7 clamp move it by a few hundredths). */
static void test_gap_recovery_simulate(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_ols_sim_XXXXXX", h5[64], ini[64], out[64];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/sim.h5", dir);
    snprintf(ini, sizeof ini, "%s/gap.ini", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    cx_simulate_options o = {12, 6, 200, 20240611};
    cx_error err = {0};
    if (cx_simulate(&o, h5, &err) != CX_OK)
        fail_msg("simulate: %s", err.msg);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[data]\nfile = %s\ntable = /responses\n\n[job g]\nmodel = gap\n"
            "pairs = exp_web: tp_web; exp_store: tp_store; exp_call: tp_call; "
            "exp_delivery: tp_delivery\n",
            h5);
    fclose(fp);
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
    if (cx_run(&opt, &err) != 0)
        fail_msg("cx_run: %s", err.msg);
    ref_results *res = ref_results_open(out, &err);
    assert_non_null(res);
    size_t n = 0;
    double *gap = ref_results_column_double(res, "g", "gap", "gap", &n, &err);
    double *rank = ref_results_column_double(res, "g", "gap", "rank", &n, &err);
    assert_non_null(gap);
    assert_int_equal(n, 4);
    const double truth[] = {4.9 - 5.2, 5.3 - 5.4, 4.6 - 5.0, 5.0 - 5.3};
    for (size_t k = 0; k < 4; k++)
        if (fabs(gap[k] - truth[k]) > 0.1)
            fail_msg("gap %zu = %g, truth %g", k + 1, gap[k], truth[k]);
    assert_true(rank[1] == 4); /* store: the smallest shortfall */
    free(gap);
    free(rank);
    ref_results_close(res);
    unlink(out);
    unlink(ini);
    unlink(h5);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kfold_brute_force),
        cmocka_unit_test(test_kfold_weighted_brute_force),
        cmocka_unit_test(test_recovery_and_threads),
        cmocka_unit_test(test_drivers_15),
        cmocka_unit_test(test_drivers_bootstrap),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_direct_path_equals_fill),
        cmocka_unit_test(test_gap_recovery_simulate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
