/*
 * test_invariance.c — the `invariance` key of cfa/sem (models/sem/
 * invariance.c).
 *
 * 1. The Holzinger-Swineford sequences by school through cx_run, as
 *    users run them (configs/reference/hs_invariance{,_means}.ini: up to
 *    strict, and semTools' default ending with latent means), against
 *    lavaan 0.6.14's lavTestLRT() and fitMeasures() of the fits
 *    (tests/reference/hs_invariance{,_means}.json), every column.
 * 1b. Ordinal items (configs/reference/bfi_wlsmv_invariance.ini: bfi
 *    agreeableness and conscientiousness items by gender, WLSMV,
 *    configural metric scalar means) against lavTestLRT()'s satorra.2000
 *    scaled-shifted difference tests and the fits' standard and scaled
 *    fitMeasures() (tests/reference/bfi_wlsmv_invariance.json), every
 *    column including the scaled ones.  Largest differences seen:
 *    delta_cfi_scaled 3.6e-7, diff_shift 3.5e-7, pvalue_diff 3.2e-7 (the
 *    polychorics: lavaan's nlminb stops each pair up to 3e-8 from the
 *    root cxfit solves, see test_reference_sem.c; every chi-square agrees
 *    to 1e-8), within 1e-6.  The same with parameterization = theta up to
 *    strict (bfi_wlsmv_invariance_theta).
 * 2. The table logic on its own, with a stand-in fit: cumulative
 *    constraints, difference tests, a step that does not converge, a step
 *    that cannot be fitted; ordered items' step words and a robust
 *    difference test's columns.
 * 3. Config errors: no `group`, an unknown step (did you mean), steps out
 *    of order, `group_equal` alongside.
 *
 * Tolerance: 1e-6 relative for every value but srmr, met with a wide
 * margin.  Largest differences seen: chisq 2.1e-10 (configural; lavaan's
 * nlminb stops its fmin ~4e-11 above ours, see tests/test_sem_estimate.c),
 * cfi, rmsea and its CI 2.5e-10, aic/bic 3e-12; the metric-vs-configural
 * differences are the least precise because chisq_diff = 8.19 is the
 * difference of two numbers near 120 that each carry lavaan's optimizer
 * error: chisq_diff 2.3e-9, pvalue_diff 5.9e-9, delta_cfi 8.7e-9, rmsea_d
 * 4.3e-9.  srmr: 3e-6 on the configural step, 1e-5 allowed (RTOL_SRMR).
 * The per-step estimates are the hs_mg_* cases of tests/test_sem_estimate.c
 * (there ~1e-5 on some SEs and std.all, for the same optimizer reason).
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

#include "json.h"
#include "model.h"
#include "refcheck.h"
#include "run.h"
#include "sem/difftest.h"
#include "sem/invariance.h"
#include "sem/partable.h"

#define RESULTS CX_BINARY_DIR "/test_invariance.h5"
#define RTOL 1e-6
#define ATOL 1e-12
/* srmr is a function of the estimates themselves, not of the minimum of
 * the objective: lavaan's stopping point moves it to first order (3e-6 on
 * the configural step, as the hs_mg_configural fit tolerance of
 * test_sem_estimate.c), while chisq, being at a minimum, moves to second
 * order only. */
#define RTOL_SRMR 1e-5

/* ---- 1. against lavaan ----------------------------------------------- */

static int run_config(const char *config, const char *output, int check_only, cx_error *err)
{
    cx_run_options opt = {.config_path = config,
                          .output_path = output,
                          .threads = 2,
                          .force = 1,
                          .quiet = 1,
                          .check_only = check_only};
    return cx_run(&opt, err);
}

/* Reference field, results column: every column of the table. */
static const char *const compared[][2] = {{"npar", "npar"},
                                          {"chisq", "chisq"},
                                          {"df", "df"},
                                          {"model_pvalue", "pvalue"},
                                          {"cfi", "cfi"},
                                          {"tli", "tli"},
                                          {"rmsea", "rmsea"},
                                          {"rmsea_ci_lower", "rmsea_ci_lower"},
                                          {"rmsea_ci_upper", "rmsea_ci_upper"},
                                          {"srmr", "srmr"},
                                          {"aic", "aic"},
                                          {"bic", "bic"},
                                          {"chisq_diff", "chisq_diff"},
                                          {"df_diff", "df_diff"},
                                          {"pvalue", "pvalue_diff"}, /* lavTestLRT()'s Pr(>Chisq) */
                                          {"rmsea_d", "rmsea_d"},    /* lavTestLRT()'s RMSEA */
                                          {"delta_cfi", "delta_cfi"},
                                          {"delta_rmsea", "delta_rmsea"}};
/* The columns of robust (scaled) tests, compared in ordinal cases too. */
static const char *const scaled_compared[][2] = {{"chisq_scaled", "chisq_scaled"},
                                                 {"pvalue_scaled", "pvalue_scaled"},
                                                 {"cfi_scaled", "cfi_scaled"},
                                                 {"tli_scaled", "tli_scaled"},
                                                 {"rmsea_scaled", "rmsea_scaled"},
                                                 {"diff_scale", "diff_scale"},
                                                 {"diff_shift", "diff_shift"},
                                                 {"delta_cfi_scaled", "delta_cfi_scaled"},
                                                 {"delta_rmsea_scaled", "delta_rmsea_scaled"}};
#define N_SCALED (sizeof scaled_compared / sizeof scaled_compared[0])
#define N_COMPARED (sizeof compared / sizeof compared[0])
#define N_ALL (N_COMPARED + N_SCALED)

/* Column k of the compared ones: the standard, then the scaled. */
static const char *const *compared_at(size_t k)
{
    return k < N_COMPARED ? compared[k] : scaled_compared[k - N_COMPARED];
}

/* The cases of scripts/make_invariance_refs.R (they carry "method") also
 * have each step's robust test and the difference test's scaling factor
 * (null where the fits are not scaled: ML, missing = fiml). */
static const char *const compared_robust[][2] = {{"chisq_scaled", "chisq_scaled"},
                                                 {"scaling_factor", "scaling_factor"},
                                                 {"scaling_diff", "scaling_diff"}};
#define N_ROBUST (sizeof compared_robust / sizeof compared_robust[0])

typedef struct inv_columns {
    char **step;
    size_t n, n_cols; /* N_COMPARED, or N_ALL with scaled tests */
    double *col[N_ALL];
    double *robust[N_ROBUST]; /* NULL unless the reference has "method" */
} inv_columns;

static void read_invariance(ref_results *r, const char *job, inv_columns *c)
{
    cx_error err = {0};
    c->step = ref_results_column_strings(r, job, "invariance", "step", &c->n, &err);
    assert_non_null(c->step);
    for (size_t k = 0; k < c->n_cols; k++) {
        size_t n = 0;
        c->col[k] = ref_results_column_double(r, job, "invariance", compared_at(k)[1], &n, &err);
        if (!c->col[k])
            fail_msg("%s", err.msg);
        assert_int_equal(n, c->n);
    }
}

static void read_robust(ref_results *r, const char *job, inv_columns *c)
{
    cx_error err = {0};
    for (size_t k = 0; k < N_ROBUST; k++) {
        size_t n = 0;
        c->robust[k] =
            ref_results_column_double(r, job, "invariance", compared_robust[k][1], &n, &err);
        if (!c->robust[k])
            fail_msg("%s", err.msg);
        assert_int_equal(n, c->n);
    }
}

static void free_invariance(inv_columns *c)
{
    ref_strings_free(c->step, c->n);
    for (size_t k = 0; k < c->n_cols; k++)
        free(c->col[k]);
    for (size_t k = 0; k < N_ROBUST; k++)
        free(c->robust[k]);
}

static void compare_steps(const inv_columns *c, const json_value *steps, double rtol_all,
                          ref_report *rep)
{
    assert_int_equal(c->n, json_array_len(steps));
    for (size_t i = 0; i < c->n; i++) {
        const json_value *want = json_array_at(steps, i);
        const char *name = ref_json_string(rep, want, "step");
        if (strcmp(name, c->step[i]) != 0) {
            ref_report_fail(rep, "invariance row %zu is %s, lavaan has %s", i, c->step[i], name);
            continue;
        }
        for (size_t k = 0; k < c->n_cols; k++) {
            const char *const *col = compared_at(k);
            char what[96];
            snprintf(what, sizeof what, "invariance[%s].%s", name, col[1]);
            double rtol = strcmp(col[1], "srmr") == 0 ? RTOL_SRMR : rtol_all;
            /* the first step's differences are NA in lavTestLRT(): null */
            ref_report_check_field(rep, what, c->col[k][i], want, col[0], rtol, ATOL);
        }
        for (size_t k = 0; c->robust[0] && k < N_ROBUST; k++) {
            char what[96];
            snprintf(what, sizeof what, "invariance[%s].%s", name, compared_robust[k][1]);
            ref_report_check_field(rep, what, c->robust[k][i], want, compared_robust[k][0], RTOL,
                                   ATOL);
        }
    }
}

/* The job's tables: the first step's contract tables, and two per step. */
static void check_tables(ref_results *r, const char *job, const json_value *steps, ref_report *rep)
{
    static const char *const base[] = {"estimates", "fit", "r2", "groups", "invariance"};
    for (size_t t = 0; t < 5; t++)
        if (!ref_results_has(r, job, base[t]))
            ref_report_fail(rep, "no table %s", base[t]);
    for (size_t i = 0; i < json_array_len(steps); i++) {
        const char *step = ref_json_string(rep, json_array_at(steps, i), "step");
        char name[64];
        snprintf(name, sizeof name, "estimates_%s", step);
        if (!ref_results_has(r, job, name))
            ref_report_fail(rep, "no table %s", name);
        snprintf(name, sizeof name, "fit_%s", step);
        if (!ref_results_has(r, job, name))
            ref_report_fail(rep, "no table %s", name);
    }
    cx_error err = {0};
    char *status = ref_results_attr_string(r, job, "status", &err);
    assert_non_null(status);
    if (strcmp(status, "ok") != 0)
        ref_report_fail(rep, "status %s", status);
    free(status);
}

/* Run configs/reference/<case>.ini and compare with tests/reference/<case>.json
 * (`scaled`: the columns of robust tests too) to rtol. */
static void run_case_columns(const char *case_name, int scaled, double rtol)
{
    char config[512], reference[512];
    snprintf(config, sizeof config, "%s/configs/reference/%s.ini", CX_SOURCE_DIR, case_name);
    snprintf(reference, sizeof reference, "%s/tests/reference/%s.json", CX_SOURCE_DIR, case_name);
    cx_error err = {0};
    int rc = run_config(config, RESULTS, 0, &err);
    if (rc != 0)
        fail_msg("cx_run returned %d: %s", rc, err.msg);
    json_value *ref = json_parse_file(reference, &err);
    assert_non_null(ref);
    ref_results *r = ref_results_open(RESULTS, &err);
    assert_non_null(r);
    ref_report rep;
    ref_report_init(&rep, case_name, "lavaan");
    inv_columns c = {.n_cols = scaled ? N_ALL : N_COMPARED};
    read_invariance(r, case_name, &c);
    int robust = json_get(ref, "method") != NULL;
    if (robust)
        read_robust(r, case_name, &c);
    compare_steps(&c, json_get(ref, "steps"), rtol, &rep);
    /* every column of every step: two steps at least (a sequence) */
    size_t n_steps = json_array_len(json_get(ref, "steps"));
    assert_true(n_steps >= 2);
    ref_report_require(&rep, (int)((c.n_cols + (robust ? N_ROBUST : 0)) * n_steps));
    check_tables(r, case_name, json_get(ref, "steps"), &rep);
    free_invariance(&c);
    ref_results_close(r);
    json_free(ref);
    if (rep.n_failed) {
        /* all lines on stderr: cmocka truncates long failure messages */
        fprintf(stderr, "%s", ref_report_text(&rep));
        fail_msg("%d of %d values differ from lavaan (listed above)", rep.n_failed, rep.n_checked);
    }
    print_message("%s: %d values compared with lavaan\n", case_name, rep.n_checked);
    ref_report_free(&rep);
    remove(RESULTS);
}

static void run_case(const char *case_name)
{
    run_case_columns(case_name, 0, RTOL);
}

static void test_hs_invariance(void **state)
{
    (void)state;
    run_case("hs_invariance");
}

/* semTools' default sequence: latent means after scalar. */
static void test_hs_invariance_means(void **state)
{
    (void)state;
    run_case("hs_invariance_means");
}

/* Ordinal items: lavTestLRT()'s scaled-shifted tests of WLSMV fits. */
static void test_ordinal_invariance(void **state)
{
    (void)state;
    run_case_columns("bfi_wlsmv_invariance", 1, RTOL);
}

/* parameterization = theta, up to strict (residual variances equal).
 * lavaan's theta fits stop further from their optimum (its configural
 * chi-square is 2.2e-7 above that of its delta fit of the same model,
 * cxfit's are equal; see test_reference_sem.c), and the scale and shift
 * of a difference test, being functions of Delta at the estimates, move
 * to first order with that: measured pvalue_diff 3.8e-6 (metric),
 * delta_cfi_scaled 2e-6, diff_shift 1.4e-6; 8e-6 allowed. */
#define RTOL_THETA 8e-6

static void test_ordinal_invariance_theta(void **state)
{
    (void)state;
    run_case_columns("bfi_wlsmv_invariance_theta", 1, RTOL_THETA);
}

/* Estimator mlr: every step's Yuan-Bentler (Mplus) scaled test, and
 * lavTestLRT()'s Satorra-Bentler (2001) scaled differences. */
static void test_hs_invariance_mlr(void **state)
{
    (void)state;
    run_case("hs_invariance_mlr");
}

/* Sampling weights: lavaan's sampling.weights, the same robust machinery. */
static void test_hs_invariance_weighted(void **state)
{
    (void)state;
    run_case("hs_invariance_weighted");
}

/* missing = fiml: standard differences of the FIML chi-squares. */
static void test_hs_invariance_fiml(void **state)
{
    (void)state;
    run_case("hs_invariance_fiml");
}

/* missing = fiml with estimator mlr: scaled differences. */
static void test_hs_invariance_fiml_mlr(void **state)
{
    (void)state;
    run_case("hs_invariance_fiml_mlr");
}

/* ---- 2. the table logic with a stand-in fit --------------------------- */

typedef struct fake_fits {
    unsigned seen[SEM_INV_MAX_STEPS]; /* group_equal of each call */
    size_t calls;
    size_t fail_at;  /* this call does not converge */
    size_t error_at; /* this call cannot fit at all (0: none) */
} fake_fits;

/* chisq grows by 10 and df by 6 per step; cfi/rmsea move by 0.01. */
static int fake_fit(void *ctx, unsigned group_equal, cx_result *res, cx_error *err)
{
    fake_fits *f = ctx;
    size_t k = f->calls++;
    f->seen[k] = group_equal;
    if (f->error_at && k == f->error_at)
        return cx_error_set(err, CX_EFAIL, "parameter 'visual =~ x2' is not identified");
    res->nobs = 301;
    const char *names[] = {"chisq", "df", "cfi", "rmsea", "ntotal"};
    const double values[] = {100.0 + 10.0 * (double)k, 48.0 + 6.0 * (double)k,
                             0.95 - 0.01 * (double)k, 0.05 + 0.01 * (double)k, 301.0};
    for (size_t m = 0; m < 5; m++)
        if (cx_result_add_fit(res, names[m], values[m], err) != CX_OK)
            return err->code;
    if (cx_result_add_estimate(res, "f", "=~", "x1", 1, 1.0, 0.0, NAN, err) < 0)
        return err->code;
    if (k == f->fail_at)
        cx_result_set_status(res, CX_STATUS_NOT_CONVERGED,
                             "the optimizer did not converge after 10000 iterations");
    return CX_OK;
}

typedef struct job_fixture {
    cx_config *config;
    cx_job job;
} job_fixture;

static int load_job(job_fixture *fx, const char *text, cx_error *err)
{
    memset(fx, 0, sizeof *fx);
    fx->config = cx_config_parse_string(text, "test.ini", err);
    assert_non_null(fx->config);
    fx->job.name = fx->config->jobs[0].name;
    fx->job.config = fx->config;
    fx->job.section = &fx->config->jobs[0];
    fx->job.level = 0.95;
    return CX_OK;
}

static double cell(const cx_rtable *t, size_t row, const char *col)
{
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].type == CX_RCOL_INT ? (double)t->cols[c].i[row] : t->cols[c].d[row];
}

static void test_steps_and_differences(void **state)
{
    (void)state;
    cx_error err = {0};
    job_fixture fx;
    load_job(&fx, "[job j]\nmodel = cfa\ninvariance = configural metric scalar strict means\n",
             &err);
    sem_invariance inv;
    assert_int_equal(sem_invariance_read(&fx.job, 1, &inv, &err), CX_OK);
    assert_int_equal(inv.n_steps, 5);
    fake_fits f = {.fail_at = 2};
    cx_result *res = cx_result_alloc(0.95, &err);
    assert_int_equal(sem_invariance_run(&fx.job, &inv, 2, fake_fit, &f, res, &err), CX_OK);
    /* cumulative constraints; `means` after `strict` keeps residuals equal */
    assert_int_equal(f.seen[0], 0);
    assert_int_equal(f.seen[1], SEM_EQ_LOADINGS);
    assert_int_equal(f.seen[2], SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS);
    assert_int_equal(f.seen[3], SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS | SEM_EQ_RESIDUALS);
    assert_int_equal(f.seen[4],
                     SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS | SEM_EQ_RESIDUALS | SEM_EQ_MEANS);
    /* the scalar step did not converge: the job says so, the rest is reported */
    assert_int_equal(res->status, CX_STATUS_NOT_CONVERGED);
    assert_non_null(strstr(res->message, "step 'scalar': the optimizer did not converge"));
    const cx_rtable *t = cx_result_find_table(res, "invariance");
    assert_non_null(t);
    assert_int_equal(t->nrows, 5);
    assert_true(cell(t, 2, "converged") == 0 && cell(t, 3, "converged") == 1);
    assert_true(isnan(cell(t, 0, "chisq_diff")) && isnan(cell(t, 0, "delta_cfi")));
    assert_true(fabs(cell(t, 4, "chisq_diff") - 10.0) < 1e-12);
    assert_true(cell(t, 4, "df_diff") == 6.0);
    assert_true(fabs(cell(t, 4, "pvalue_diff") - 0.124652019483081) < 1e-12); /* R pchisq */
    assert_true(fabs(cell(t, 1, "delta_cfi") + 0.01) < 1e-12);
    assert_true(fabs(cell(t, 1, "delta_rmsea") - 0.01) < 1e-12);
    assert_string_equal(t->cols[cx_rtable_find_column(t, "group_equal")].s[4],
                        "loadings intercepts residuals means");
    assert_non_null(cx_result_find_table(res, "estimates"));
    assert_non_null(cx_result_find_table(res, "fit_means"));
    assert_non_null(cx_result_find_table(res, "estimates_scalar"));
    assert_true(res->nobs == 301);
    cx_result_free(res);
    cx_config_free(fx.config);
}

/* A step that cannot be fitted fails the job, naming the step. */
static void test_step_error(void **state)
{
    (void)state;
    cx_error err = {0};
    job_fixture fx;
    load_job(&fx, "[job j]\nmodel = cfa\ninvariance = configural metric\n", &err);
    sem_invariance inv;
    assert_int_equal(sem_invariance_read(&fx.job, 1, &inv, &err), CX_OK);
    fake_fits f = {.fail_at = 99, .error_at = 1};
    cx_result *res = cx_result_alloc(0.95, &err);
    assert_int_equal(sem_invariance_run(&fx.job, &inv, 2, fake_fit, &f, res, &err), CX_EFAIL);
    assert_string_equal(err.msg, "invariance step 'metric': parameter 'visual =~ x2' is not "
                                 "identified");
    cx_result_free(res);
    cx_config_free(fx.config);
}

/* Without `strict`, `means` adds to scalar only (semTools' default). */
static void test_means_after_scalar(void **state)
{
    (void)state;
    cx_error err = {0};
    job_fixture fx;
    load_job(&fx, "[job j]\nmodel = cfa\ninvariance = configural scalar means\n", &err);
    sem_invariance inv;
    assert_int_equal(sem_invariance_read(&fx.job, 1, &inv, &err), CX_OK);
    assert_int_equal(inv.n_steps, 3);
    assert_int_equal(inv.group_equal[1], SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS);
    assert_int_equal(inv.group_equal[2], SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS | SEM_EQ_MEANS);
    cx_config_free(fx.config);
}

/* Ordered items: the steps' words, and a robust difference test in place
 * of the standard one. */
static int fake_diff(void *ctx, size_t prev, size_t cur, sem_inv_diff *out, cx_error *err)
{
    (void)ctx, (void)err;
    out->stat = 3.5 + (double)prev; /* distinguishable from 10, the standard difference */
    out->df = 6.0;
    out->pvalue = 0.25;
    out->scale = 0.5 * (double)cur;
    out->shift = 0.125;
    return CX_OK;
}

static void test_ordinal_steps(void **state)
{
    (void)state;
    cx_error err = {0};
    job_fixture fx;
    load_job(&fx, "[job j]\nmodel = cfa\ninvariance = configural metric scalar strict means\n",
             &err);
    sem_invariance inv;
    assert_int_equal(sem_invariance_read(&fx.job, 1, &inv, &err), CX_OK);
    /* delta: strict refused, naming the key */
    sem_invariance delta = inv;
    assert_int_equal(sem_invariance_ordinal(&fx.job, &delta, 0, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "'invariance'"));
    assert_non_null(strstr(err.msg, "parameterization = theta"));
    cx_error_clear(&err);
    /* theta: intercepts become thresholds */
    assert_int_equal(sem_invariance_ordinal(&fx.job, &inv, 1, &err), CX_OK);
    assert_int_equal(inv.group_equal[1], SEM_EQ_LOADINGS);
    assert_int_equal(inv.group_equal[2], SEM_EQ_LOADINGS | SEM_EQ_THRESHOLDS);
    assert_int_equal(inv.group_equal[3], SEM_EQ_LOADINGS | SEM_EQ_THRESHOLDS | SEM_EQ_RESIDUALS);
    assert_int_equal(inv.group_equal[4],
                     SEM_EQ_LOADINGS | SEM_EQ_THRESHOLDS | SEM_EQ_RESIDUALS | SEM_EQ_MEANS);
    fake_fits f = {.fail_at = 99};
    cx_result *res = cx_result_alloc(0.95, &err);
    assert_int_equal(
        sem_invariance_run_scaled(&fx.job, &inv, 2, fake_fit, fake_diff, &f, res, &err), CX_OK);
    const cx_rtable *t = cx_result_find_table(res, "invariance");
    assert_non_null(t);
    assert_true(isnan(cell(t, 0, "chisq_diff")) && isnan(cell(t, 0, "diff_scale")));
    assert_true(cell(t, 2, "chisq_diff") == 4.5 && cell(t, 2, "pvalue_diff") == 0.25);
    assert_true(cell(t, 2, "diff_scale") == 1.0 && cell(t, 2, "diff_shift") == 0.125);
    assert_true(isnan(cell(t, 2, "rmsea_d")));                 /* none for scaled tests */
    assert_true(fabs(cell(t, 2, "delta_cfi") + 0.01) < 1e-12); /* the standard ones stay */
    assert_string_equal(t->cols[cx_rtable_find_column(t, "group_equal")].s[3],
                        "loadings thresholds residuals");
    cx_result_free(res);
    cx_config_free(fx.config);
}

/* The Satorra-Bentler (2001) difference on its own (difftest.c):
 * c_d = (54 * 1.2 - 48 * 1.1) / 6 = 2, T_d = (110 - 100) / 2 = 5,
 * p = pchisq(5, 6, lower.tail = FALSE) = 0.54381311588333 (R); a
 * saturated model 1 counts with c1 = 1; equal df and a negative c_d are
 * lav_test_diff_SatorraBentler2001()'s NA cases. */
static void test_satorra_bentler_2001(void **state)
{
    (void)state;
    sem_diff_test d;
    assert_int_equal(sem_diff_satorra_bentler_2001(100, 48, 1.1, 110, 54, 1.2, &d), SEM_DIFF_OK);
    assert_true(fabs(d.scaling - 2.0) < 1e-14 && fabs(d.stat - 5.0) < 1e-13 && d.df == 6.0);
    assert_true(fabs(d.pvalue - 0.54381311588333) < 1e-13);
    assert_int_equal(sem_diff_satorra_bentler_2001(0, 0, 7.0, 10, 54, 1.2, &d), SEM_DIFF_OK);
    assert_true(fabs(d.scaling - 1.2) < 1e-14); /* (54 * 1.2 - 0 * 1) / 54 */
    assert_int_equal(sem_diff_satorra_bentler_2001(100, 48, 1.1, 101, 48, 1.2, &d),
                     SEM_DIFF_SAME_DF);
    assert_true(d.stat == 1.0 && isnan(d.scaling) && isnan(d.pvalue));
    assert_int_equal(sem_diff_satorra_bentler_2001(100, 48, 2.0, 110, 54, 1.0, &d),
                     SEM_DIFF_NEGATIVE_SCALE);
    assert_true(isnan(d.stat) && isnan(d.pvalue) && d.df == 6.0);
}

/* ---- 3. config errors ---------------------------------------------------- */

static void expect_config_error(const char *job_keys, const char *key, const char *needle)
{
    char path[512], text[2048];
    snprintf(path, sizeof path, "%s/test_invariance_%d.ini", CX_BINARY_DIR, (int)strlen(needle));
    snprintf(text, sizeof text,
             "[data]\nfile = %s/datasets/HolzingerSwineford1939.h5\ntable = /data\n\n"
             "[job inv]\nmodel = cfa\nsyntax = visual =~ x1 + x2 + x3\n%s",
             CX_SOURCE_DIR, job_keys);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    cx_error err = {0};
    int rc = run_config(path, NULL, 1, &err);
    remove(path);
    if (rc != CX_EUSAGE || !strstr(err.msg, needle) || !strstr(err.msg, key))
        fail_msg("expected a config error at key '%s' saying '%s'; got %d: %s", key, needle, rc,
                 err.msg);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("invariance = configural metric\n", "'invariance'",
                        "invariance needs `group`");
    expect_config_error("group = school\ninvariance = configural metrik\n", "'invariance'",
                        "unknown step 'metrik' (did you mean 'metric'?)");
    expect_config_error("group = school\ninvariance = configural scalar metric\n", "'invariance'",
                        "'metric' must come before 'scalar'");
    expect_config_error("group = school\ninvariance = configural configural\n", "'invariance'",
                        "listed twice");
    expect_config_error("group = school\ninvariance = configural\n", "'invariance'",
                        "two or more steps");
    expect_config_error("group = school\ngroup_equal = loadings\ninvariance = configural "
                        "metric\n",
                        "'invariance'", "remove `group_equal`");
}

/* The same job passes `cxfit check`. */
static void test_check_ok(void **state)
{
    (void)state;
    cx_error err = {0};
    int rc = run_config(CX_SOURCE_DIR "/configs/reference/hs_invariance.ini", NULL, 1, &err);
    if (rc != 0)
        fail_msg("cxfit check: %d: %s", rc, err.msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs_invariance),
        cmocka_unit_test(test_hs_invariance_means),
        cmocka_unit_test(test_ordinal_invariance),
        cmocka_unit_test(test_ordinal_invariance_theta),
        cmocka_unit_test(test_steps_and_differences),
        cmocka_unit_test(test_means_after_scalar),
        cmocka_unit_test(test_step_error),
        cmocka_unit_test(test_ordinal_steps),
        cmocka_unit_test(test_hs_invariance_mlr),
        cmocka_unit_test(test_hs_invariance_weighted),
        cmocka_unit_test(test_hs_invariance_fiml),
        cmocka_unit_test(test_hs_invariance_fiml_mlr),
        cmocka_unit_test(test_satorra_bentler_2001),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_check_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
