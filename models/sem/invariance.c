/*
 * invariance.c — measurement invariance in one job (see invariance.h).
 *
 * Steps and their equality constraints follow semTools'
 * measurementInvariance(): metric = loadings, scalar = loadings +
 * intercepts, strict = + residuals, means = + latent means.  A step also
 * keeps every constraint of the step listed before it, so `... strict
 * means` holds residuals equal in the means step (semTools' strict = TRUE)
 * and `... scalar means` does not (its default).
 *
 * The comparison of consecutive steps is lavTestLRT()'s standard ML
 * chi-square difference test: chisq_diff = chisq_k - chisq_{k-1},
 * df_diff likewise, pvalue_diff its upper-tail chi-square probability (NA
 * when df_diff is 0), and rmsea_d its "RMSEA" column (the RMSEA of the
 * difference test, lavaan >= 0.6-13):
 *   sqrt(max((chisq_diff / N) / df_diff - 1 / N, 0)) * sqrt(G).
 * delta_cfi and delta_rmsea are signed (step minus previous step).  No
 * cut-offs are applied: docs/models/cfa.md gives the usual ones.
 *
 * Ordinal items (sem_invariance_ordinal): the steps keep their names with
 * lavaan's group.equal words for ordered items — metric = loadings,
 * scalar = loadings + thresholds (an ordered item's intercept is fixed at
 * 0, so "intercepts" adds nothing), strict = + residuals (theta
 * parameterization only: residual variances are no parameters in the
 * delta one), means = + latent means.  Their WLSMV tests are robust: the comparison is the
 * fit's own scaled difference test (a sem_inv_diff_fn: for WLSMV
 * lavTestLRT()'s satorra.2000 scaled.shifted test), written by
 * write_scaled_difference() with the scaled fit measures beside the
 * standard ones.
 *
 * When every step has a scaled test (estimator mlr, sampling weights:
 * the fit table's chisq.scaling.factor), lavTestLRT()'s default for them
 * is the Satorra-Bentler (2001) scaled difference test (difftest.c):
 * chisq_diff is then T_d, scaling_diff its c_d, and rmsea_d NaN (lavaan
 * 0.6.14 reports no RMSEA for a scaled difference).  chisq stays the
 * standard statistic, as lavTestLRT()'s Chisq column; chisq_scaled and
 * scaling_factor give each step's robust test.
 */
#include "invariance.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "partable.h"

enum { STEP_CONFIGURAL, STEP_METRIC, STEP_SCALAR, STEP_STRICT, STEP_MEANS, N_STEPS };

static const char *const step_names[] = {"configural", "metric", "scalar", "strict", "means", NULL};

/* The constraints that define each step, before the previous step's are added. */
static const unsigned step_bits[N_STEPS] = {
    0u,
    SEM_EQ_LOADINGS,
    SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS,
    SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS | SEM_EQ_RESIDUALS,
    SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS | SEM_EQ_MEANS,
};

const char *sem_invariance_step_name(int step)
{
    return step >= 0 && step < N_STEPS ? step_names[step] : "?";
}

/* ---- the key ------------------------------------------------------------ */

static int step_id(const cx_job *job, const char *word, int *id, cx_error *err)
{
    for (int k = 0; k < N_STEPS; k++)
        if (strcmp(word, step_names[k]) == 0) {
            *id = k;
            return CX_OK;
        }
    const char *hint = cx_did_you_mean(word, step_names);
    return cx_job_error(job, "invariance", err, CX_EUSAGE,
                        "unknown step '%s'%s%s%s (expected configural, metric, scalar, strict, "
                        "means, least constrained first)",
                        word, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

/* Each step must add constraints to the one before: a repeated or
 * backwards step would make the difference tests meaningless. */
static int add_step(const cx_job *job, sem_invariance *inv, int id, cx_error *err)
{
    if (inv->n_steps > 0) {
        int prev = inv->step[inv->n_steps - 1];
        if (id == prev)
            return cx_job_error(job, "invariance", err, CX_EUSAGE, "step '%s' is listed twice",
                                step_names[id]);
        if (id < prev)
            return cx_job_error(job, "invariance", err, CX_EUSAGE,
                                "steps go from least to most constrained: '%s' must come "
                                "before '%s'",
                                step_names[id], step_names[prev]);
    }
    unsigned before = inv->n_steps ? inv->group_equal[inv->n_steps - 1] : 0u;
    inv->step[inv->n_steps] = id;
    inv->group_equal[inv->n_steps] = step_bits[id] | before;
    inv->n_steps++;
    return CX_OK;
}

int sem_invariance_read(const cx_job *job, int has_group, sem_invariance *inv, cx_error *err)
{
    memset(inv, 0, sizeof *inv);
    const char *value = cx_section_get(job->section, "invariance");
    if (!value)
        return CX_OK;
    if (!has_group)
        return cx_job_error(job, "invariance", err, CX_EUSAGE,
                            "invariance needs `group` (the column that defines the groups)");
    if (cx_section_get(job->section, "group_equal"))
        return cx_job_error(job, "invariance", err, CX_EUSAGE,
                            "invariance sets the equality constraints of each step: remove "
                            "`group_equal`");
    size_t n = 0;
    char **words = cx_words_split(value, &n, err);
    if (!words)
        return CX_ENOMEM;
    int rc = CX_OK;
    for (size_t k = 0; k < n && rc == CX_OK; k++) {
        int id = 0;
        rc = step_id(job, words[k], &id, err);
        if (rc == CX_OK)
            rc = add_step(job, inv, id, err);
    }
    cx_words_free(words);
    if (rc == CX_OK && inv->n_steps < 2)
        rc = cx_job_error(job, "invariance", err, CX_EUSAGE,
                          "expected two or more steps, e.g. 'configural metric scalar strict' "
                          "(for one model use `group_equal`)");
    return rc;
}

/* ---- copying tables -------------------------------------------------- */

static int copy_row(cx_rtable *dst, const cx_rtable *src, size_t i, cx_error *err)
{
    long row = cx_rtable_add_row(dst, err);
    if (row < 0)
        return err->code;
    return cx_rtable_copy_cells(dst, (size_t)row, src, i, err);
}

/* Copy table `name` of `src` (if it has one) into `dst` as `new_name`. */
static int copy_table(cx_result *dst, const cx_result *src, const char *name, const char *new_name,
                      cx_error *err)
{
    const cx_rtable *from = cx_result_find_table(src, name);
    if (!from)
        return CX_OK;
    cx_rtable *to = cx_result_table(dst, new_name, err);
    if (!to)
        return err->code;
    for (size_t j = 0; j < from->ncols; j++)
        if (cx_rtable_add_column(to, from->cols[j].name, from->cols[j].type, err))
            return err->code;
    for (size_t i = 0; i < from->nrows; i++)
        if (copy_row(to, from, i, err) != CX_OK)
            return err->code;
    return CX_OK;
}

/* The first step is the job's model proper: all its tables and attributes. */
static int copy_baseline(cx_result *dst, const cx_result *src, cx_error *err)
{
    dst->nobs = src->nobs;
    for (size_t t = 0; t < src->n_tables; t++)
        if (copy_table(dst, src, src->tables[t]->name, src->tables[t]->name, err) != CX_OK)
            return err->code;
    for (size_t a = 0; a < src->n_attrs; a++) {
        const cx_rattr *at = &src->attrs[a];
        int rc = at->is_string ? cx_result_set_attr_string(dst, at->name, at->s, err)
                               : cx_result_set_attr_double(dst, at->name, at->d, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

static int copy_step_tables(cx_result *dst, const cx_result *src, const char *step, cx_error *err)
{
    static const char *const names[] = {"estimates", "fit", "modindices"};
    for (size_t k = 0; k < 3; k++) {
        char renamed[64];
        snprintf(renamed, sizeof renamed, "%s_%s", names[k], step);
        if (copy_table(dst, src, names[k], renamed, err) != CX_OK)
            return err->code;
    }
    return CX_OK;
}

/* ---- the invariance table ---------------------------------------------- */

/* A fitMeasures() value from a step's `fit` table (NaN when absent). */
static double measure(const cx_result *r, const char *name)
{
    const cx_rtable *t = cx_result_find_table(r, "fit");
    int m = t ? cx_rtable_find_column(t, "measure") : -1;
    int v = t ? cx_rtable_find_column(t, "value") : -1;
    for (size_t i = 0; m >= 0 && v >= 0 && i < t->nrows; i++)
        if (strcmp(t->cols[m].s[i], name) == 0)
            return t->cols[v].d[i];
    return NAN;
}

static double attr_double(const cx_result *r, const char *name)
{
    for (size_t a = 0; a < r->n_attrs; a++)
        if (!r->attrs[a].is_string && strcmp(r->attrs[a].name, name) == 0)
            return r->attrs[a].d;
    return NAN;
}

/* Per-step columns: the table's name, then the fitMeasures() name. */
static const char *const fit_columns[][2] = {
    {"npar", "npar"},
    {"chisq", "chisq"},
    {"df", "df"},
    {"pvalue", "pvalue"},
    {"cfi", "cfi"},
    {"tli", "tli"},
    {"rmsea", "rmsea"},
    {"rmsea_ci_lower", "rmsea.ci.lower"},
    {"rmsea_ci_upper", "rmsea.ci.upper"},
    {"srmr", "srmr"},
    {"chisq_scaled", "chisq.scaled"},
    {"scaling_factor", "chisq.scaling.factor"},
    {"aic", "aic"},
    {"bic", "bic"},
};
#define N_FIT_COLUMNS (sizeof fit_columns / sizeof fit_columns[0])

static const char *const diff_columns[] = {"chisq_diff", "df_diff",     "pvalue_diff", "rmsea_d",
                                           "delta_cfi",  "delta_rmsea", "scaling_diff"};
#define N_DIFF_COLUMNS (sizeof diff_columns / sizeof diff_columns[0])

/* Extra columns of scaled-and-shifted (WLSMV) tests: per step (chisq_scaled
 * is a standard column), then per difference. */
static const char *const scaled_columns[][2] = {
    {"pvalue_scaled", "pvalue.scaled"},
    {"cfi_scaled", "cfi.scaled"},
    {"tli_scaled", "tli.scaled"},
    {"rmsea_scaled", "rmsea.scaled"},
};
#define N_SCALED_COLUMNS (sizeof scaled_columns / sizeof scaled_columns[0])

static const char *const scaled_diff_columns[] = {"diff_scale", "diff_shift", "delta_cfi_scaled",
                                                  "delta_rmsea_scaled"};
#define N_SCALED_DIFF_COLUMNS (sizeof scaled_diff_columns / sizeof scaled_diff_columns[0])

static cx_rtable *invariance_table(cx_result *res, int scaled, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "invariance", err);
    if (!t || cx_rtable_add_column(t, "step", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "group_equal", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "converged", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "iterations", CX_RCOL_INT, err))
        return NULL;
    for (size_t c = 0; c < N_FIT_COLUMNS; c++)
        if (cx_rtable_add_column(t, fit_columns[c][0], CX_RCOL_DOUBLE, err))
            return NULL;
    for (size_t c = 0; c < N_DIFF_COLUMNS; c++)
        if (cx_rtable_add_column(t, diff_columns[c], CX_RCOL_DOUBLE, err))
            return NULL;
    for (size_t c = 0; scaled && c < N_SCALED_COLUMNS; c++)
        if (cx_rtable_add_column(t, scaled_columns[c][0], CX_RCOL_DOUBLE, err))
            return NULL;
    for (size_t c = 0; scaled && c < N_SCALED_DIFF_COLUMNS; c++)
        if (cx_rtable_add_column(t, scaled_diff_columns[c], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* "loadings intercepts" for the bits of a step, in group_equal's words. */
static void group_equal_words(unsigned bits, char *out, size_t size)
{
    static const char *const words[] = {"loadings", "thresholds", "intercepts", "residuals",
                                        "means"};
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < 5; k++)
        if (bits & sem_group_equal_bit(words[k]))
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "", words[k]);
}

/* Both steps have a scaled (robust) test: lavTestLRT() then scales the
 * difference. */
static int scaled_pair(const cx_result *cur, const cx_result *prev)
{
    return isfinite(measure(cur, "chisq.scaling.factor")) &&
           isfinite(measure(prev, "chisq.scaling.factor"));
}

/* lavTestLRT()'s scaled row (method "satorra.bentler.2001"). */
static void write_scaled_difference(cx_result *res, cx_rtable *t, size_t row, const cx_result *cur,
                                    const cx_result *prev, const char *step)
{
    sem_diff_test d;
    sem_diff_status st = sem_diff_satorra_bentler_2001(
        measure(prev, "chisq"), measure(prev, "df"), measure(prev, "chisq.scaling.factor"),
        measure(cur, "chisq"), measure(cur, "df"), measure(cur, "chisq.scaling.factor"), &d);
    if (st == SEM_DIFF_NEGATIVE_SCALE)
        cx_result_add_warning(res,
                              "step '%s': the scaling factor of the difference test is "
                              "negative; its statistic is undefined (NaN)",
                              step);
    cx_rtable_set_double(t, row, "chisq_diff", d.stat);
    cx_rtable_set_double(t, row, "df_diff", d.df);
    cx_rtable_set_double(t, row, "pvalue_diff", d.pvalue);
    cx_rtable_set_double(t, row, "scaling_diff", d.scaling);
    cx_rtable_set_double(t, row, "rmsea_d", NAN);
}

/* lavTestLRT() against the previous step (see the header comment). */
static void write_difference(cx_result *res, cx_rtable *t, size_t row, const cx_result *cur,
                             const cx_result *prev, size_t n_groups, const char *step)
{
    cx_rtable_set_double(t, row, "delta_cfi", measure(cur, "cfi") - measure(prev, "cfi"));
    cx_rtable_set_double(t, row, "delta_rmsea", measure(cur, "rmsea") - measure(prev, "rmsea"));
    cx_rtable_set_double(t, row, "scaling_diff", NAN);
    if (scaled_pair(cur, prev)) {
        write_scaled_difference(res, t, row, cur, prev, step);
        return;
    }
    double x2 = measure(cur, "chisq") - measure(prev, "chisq");
    double df = measure(cur, "df") - measure(prev, "df");
    double n = measure(cur, "ntotal");
    double rmsea_d = df > 0 ? sqrt(fmax((x2 / n) / df - 1.0 / n, 0.0)) * sqrt((double)n_groups)
                            : 0.0; /* lavaan's value when df is 0 */
    cx_rtable_set_double(t, row, "chisq_diff", x2);
    cx_rtable_set_double(t, row, "df_diff", df);
    cx_rtable_set_double(t, row, "pvalue_diff", df > 0 ? gsl_cdf_chisq_Q(fmax(x2, 0.0), df) : NAN);
    cx_rtable_set_double(t, row, "rmsea_d", rmsea_d);
}

/* A fit's own difference test (a sem_inv_diff_fn's: WLSMV's scaled and
 * shifted one) in place of the standard one: lavTestLRT() reports the
 * scaled statistic as "Chisq diff" and no RMSEA of the difference for
 * scaled tests (rmsea_d NaN); the scaled measures of the step and their
 * changes go beside. */
static void write_shifted_difference(cx_rtable *t, size_t row, const cx_result *cur,
                                     const cx_result *prev, const sem_inv_diff *d)
{
    cx_rtable_set_double(t, row, "delta_cfi", measure(cur, "cfi") - measure(prev, "cfi"));
    cx_rtable_set_double(t, row, "delta_rmsea", measure(cur, "rmsea") - measure(prev, "rmsea"));
    cx_rtable_set_double(t, row, "scaling_diff", NAN);
    cx_rtable_set_double(t, row, "chisq_diff", d->stat);
    cx_rtable_set_double(t, row, "df_diff", d->df);
    cx_rtable_set_double(t, row, "pvalue_diff", d->pvalue);
    cx_rtable_set_double(t, row, "rmsea_d", NAN);
    cx_rtable_set_double(t, row, "diff_scale", d->scale);
    cx_rtable_set_double(t, row, "diff_shift", d->shift);
    cx_rtable_set_double(t, row, "delta_cfi_scaled",
                         measure(cur, "cfi.scaled") - measure(prev, "cfi.scaled"));
    cx_rtable_set_double(t, row, "delta_rmsea_scaled",
                         measure(cur, "rmsea.scaled") - measure(prev, "rmsea.scaled"));
}

static void write_scaled_measures(cx_rtable *t, size_t row, const cx_result *step)
{
    for (size_t c = 0; c < N_SCALED_COLUMNS; c++)
        cx_rtable_set_double(t, row, scaled_columns[c][0], measure(step, scaled_columns[c][1]));
    for (size_t c = 0; c < N_SCALED_DIFF_COLUMNS; c++)
        cx_rtable_set_double(t, row, scaled_diff_columns[c], NAN);
}

static int write_invariance(cx_result *res, const sem_invariance *inv, cx_result *const *steps,
                            size_t n_groups, const sem_inv_diff *diffs, cx_error *err)
{
    cx_rtable *t = invariance_table(res, diffs != NULL, err);
    if (!t)
        return err->code;
    for (size_t k = 0; k < inv->n_steps; k++) {
        char eq[128];
        group_equal_words(inv->group_equal[k], eq, sizeof eq);
        long row = cx_rtable_add_row(t, err);
        if (row < 0 ||
            cx_rtable_set_string(t, (size_t)row, "step", step_names[inv->step[k]], err) ||
            cx_rtable_set_string(t, (size_t)row, "group_equal", eq, err))
            return err->code;
        int converged = steps[k]->status == CX_STATUS_OK;
        cx_rtable_set_int(t, (size_t)row, "converged", converged);
        double iterations = attr_double(steps[k], "iterations");
        cx_rtable_set_int(t, (size_t)row, "iterations",
                          isnan(iterations) ? -1 : (long long)iterations);
        for (size_t c = 0; c < N_FIT_COLUMNS; c++)
            cx_rtable_set_double(t, (size_t)row, fit_columns[c][0],
                                 measure(steps[k], fit_columns[c][1]));
        if (diffs)
            write_scaled_measures(t, (size_t)row, steps[k]);
        if (k > 0 && diffs)
            write_shifted_difference(t, (size_t)row, steps[k], steps[k - 1], &diffs[k]);
        else if (k > 0)
            write_difference(res, t, (size_t)row, steps[k], steps[k - 1], n_groups,
                             step_names[inv->step[k]]);
    }
    return CX_OK;
}

/* ---- running the steps ------------------------------------------------- */

/* A step's status and warnings become the job's, named by the step. */
static void report_step(cx_result *res, const cx_result *step, const char *name)
{
    const char *msg = step->message ? step->message : "";
    if (step->status != CX_STATUS_OK)
        cx_result_set_status(res, step->status, "step '%s': %s", name, msg);
    else if (*msg)
        cx_result_add_warning(res, "step '%s': %s", name, msg);
}

/* lavTestLRT() warns when a more constrained step fits better: the models
 * are not nested, or the less constrained fit missed its optimum. */
static void check_nesting(cx_result *res, const sem_invariance *inv, cx_result *const *steps)
{
    for (size_t k = 1; k < inv->n_steps; k++) {
        double diff = measure(steps[k], "chisq") - measure(steps[k - 1], "chisq");
        if (diff < -cbrt(2.220446049250313e-16))
            cx_result_add_warning(res,
                                  "step '%s' fits better than step '%s' (chi-square difference "
                                  "%.6g): the less constrained fit did not reach its optimum",
                                  step_names[inv->step[k]], step_names[inv->step[k - 1]], diff);
    }
}

static int fit_steps(const cx_job *job, const sem_invariance *inv, sem_inv_fit_fn fit, void *ctx,
                     cx_result **steps, cx_error *err)
{
    for (size_t k = 0; k < inv->n_steps; k++) {
        steps[k] = cx_result_alloc(job->level, err);
        if (!steps[k])
            return CX_ENOMEM;
        int rc = fit(ctx, inv->group_equal[k], steps[k], err);
        if (rc != CX_OK) {
            if (rc != CX_ENOMEM)
                cx_error_prefix(err, "invariance step '%s'", step_names[inv->step[k]]);
            return rc;
        }
    }
    return CX_OK;
}

/* The robust difference tests of consecutive steps (diffs[0] unused). */
static int scaled_differences(const sem_invariance *inv, sem_inv_diff_fn diff, void *ctx,
                              sem_inv_diff *diffs, cx_error *err)
{
    for (size_t k = 1; k < inv->n_steps; k++) {
        int rc = diff(ctx, k - 1, k, &diffs[k], err);
        if (rc != CX_OK) {
            if (rc != CX_ENOMEM)
                cx_error_prefix(err, "invariance step '%s'", step_names[inv->step[k]]);
            return rc;
        }
    }
    return CX_OK;
}

int sem_invariance_run(const cx_job *job, const sem_invariance *inv, size_t n_groups,
                       sem_inv_fit_fn fit, void *ctx, cx_result *res, cx_error *err)
{
    return sem_invariance_run_scaled(job, inv, n_groups, fit, NULL, ctx, res, err);
}

int sem_invariance_run_scaled(const cx_job *job, const sem_invariance *inv, size_t n_groups,
                              sem_inv_fit_fn fit, sem_inv_diff_fn diff, void *ctx, cx_result *res,
                              cx_error *err)
{
    cx_result *steps[SEM_INV_MAX_STEPS] = {NULL};
    sem_inv_diff diffs[SEM_INV_MAX_STEPS];
    int rc = fit_steps(job, inv, fit, ctx, steps, err);
    if (rc == CX_OK && diff)
        rc = scaled_differences(inv, diff, ctx, diffs, err);
    if (rc == CX_OK)
        rc = copy_baseline(res, steps[0], err);
    if (rc == CX_OK)
        rc = write_invariance(res, inv, steps, n_groups, diff ? diffs : NULL, err);
    for (size_t k = 0; rc == CX_OK && k < inv->n_steps; k++) {
        report_step(res, steps[k], step_names[inv->step[k]]);
        rc = copy_step_tables(res, steps[k], step_names[inv->step[k]], err);
    }
    if (rc == CX_OK)
        check_nesting(res, inv, steps);
    for (size_t k = 0; k < inv->n_steps; k++)
        cx_result_free(steps[k]);
    return rc;
}

int sem_invariance_ordinal(const cx_job *job, sem_invariance *inv, int theta, cx_error *err)
{
    for (size_t k = 0; k < inv->n_steps; k++) {
        if (inv->step[k] == STEP_STRICT && !theta)
            return cx_job_error(job, "invariance", err, CX_EUSAGE,
                                "step 'strict' with ordered items needs parameterization = theta: "
                                "their residual variances are no parameters in the delta "
                                "parameterization (lavaan's group.equal = \"residuals\" changes "
                                "nothing there)");
        unsigned eq = inv->group_equal[k];
        if (eq & SEM_EQ_INTERCEPTS)
            eq = (eq & ~(unsigned)SEM_EQ_INTERCEPTS) | SEM_EQ_THRESHOLDS;
        inv->group_equal[k] = eq;
    }
    return CX_OK;
}
