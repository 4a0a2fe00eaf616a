/*
 * drivers.c — `model = drivers`: key-driver importance of the right-hand
 * side of `formula` for its outcome, all from the weighted cross-products
 * of one pass (ols_xprod.c): standardized betas, Johnson's relative
 * weights and exact LMG / Shapley shares of R^2 (importance.c), per `by`
 * level.  With `bootstrap = B` the same pass also gives B Poisson(1)
 * replicates' cross-products (engine/resample.h; `bootstrap_cluster`
 * resamples its units), and each measure gets a bootstrap SE and
 * percentile CI (engine/bootci.h).
 *
 * Keys: `formula` (numeric drivers: each term one design column, with an
 * intercept; at most IMP_MAX_DRIVERS), `scores`.  Tables: `drivers` (one
 * row per driver), `estimates` (the regression, classical SEs, std_all =
 * standardized beta), `fit` (nobs, r2, adj_r2, n_drivers).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bootci.h"
#include "importance.h"
#include "ols_setup.h"

static const char *const drivers_keys[] = {"formula", "scores", NULL};

static int drivers_check(const cx_job *job, cx_error *err)
{
    ols_setup s;
    int rc = ols_setup_init(job, 0, &s, err);
    ols_setup_clear(&s);
    return rc;
}

/* Each driver one numeric column, an intercept, 1..IMP_MAX_DRIVERS. */
static int check_design(const cx_job *job, const ols_setup *s, cx_error *err)
{
    if (!s->intercept)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "drivers needs an intercept (importance is of explained variance "
                            "around the mean); remove '- 1' / '+ 0'");
    for (size_t j = 1; j < s->p; j++)
        for (size_t i = 1; i < j; i++)
            if (cx_design_col_term(s->d, i) == cx_design_col_term(s->d, j))
                return cx_job_error(job, "formula", err, CX_EUSAGE,
                                    "'%s' and '%s' come from one term; expected one numeric "
                                    "column per driver (no factors)",
                                    s->names[i], s->names[j]);
    size_t k = s->p - 1;
    if (k < 1 || k > IMP_MAX_DRIVERS)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "%zu drivers; expected 1 to %d (exact LMG enumerates 2^k subsets)", k,
                            IMP_MAX_DRIVERS);
    return CX_OK;
}

/* Importance of one slot's cross-products. */
static int slot_importance(const ols_xp *xp, size_t p, imp_result *imp, cx_error *err)
{
    size_t k1 = p;
    double *r = cx_malloc(k1 * k1 * sizeof *r, err);
    if (!r)
        return CX_ENOMEM;
    int rc = imp_correlation(xp->c, p, r);
    if (rc == CX_EFAIL)
        rc = cx_error_set(err, CX_EFAIL, "a driver or the outcome is constant");
    else if (rc != CX_OK)
        rc = cx_error_set(err, rc, "out of memory");
    if (rc == CX_OK)
        rc = imp_compute(r, p - 1, imp, err);
    free(r);
    return rc;
}

static cx_rtable *drivers_table(cx_result *res, int boot, cx_error *err)
{
    static const char *const cols[] = {"std_beta", "johnson",   "johnson_share",
                                       "lmg",      "lmg_share", NULL};
    static const char *const bcols[] = {"std_beta_se", "std_beta_ci_lower", "std_beta_ci_upper",
                                        "johnson_se",  "johnson_ci_lower",  "johnson_ci_upper",
                                        "lmg_se",      "lmg_ci_lower",      "lmg_ci_upper",
                                        NULL};
    cx_rtable *t = cx_result_table(res, "drivers", err);
    if (!t || cx_rtable_add_column(t, "driver", CX_RCOL_STRING, err))
        return NULL;
    for (size_t i = 0; cols[i]; i++)
        if (cx_rtable_add_column(t, cols[i], CX_RCOL_DOUBLE, err))
            return NULL;
    if (cx_rtable_add_column(t, "rank", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; boot && bcols[i]; i++)
        if (cx_rtable_add_column(t, bcols[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* Bootstrap SE and percentile CI of measure m (0 std_beta, 1 johnson,
 * 2 lmg) of driver j into row `row`. */
static void boot_columns(cx_rtable *t, size_t row, const imp_result *reps, size_t nrep,
                         const imp_result *est, size_t j, double level, double *buf)
{
    static const char *const names[3][3] = {
        {"std_beta_se", "std_beta_ci_lower", "std_beta_ci_upper"},
        {"johnson_se", "johnson_ci_lower", "johnson_ci_upper"},
        {"lmg_se", "lmg_ci_lower", "lmg_ci_upper"}};
    for (size_t m = 0; m < 3; m++) {
        for (size_t b = 0; b < nrep; b++)
            buf[b] = m == 0 ? reps[b].std_beta[j] : m == 1 ? reps[b].johnson[j] : reps[b].lmg[j];
        double t0 = m == 0 ? est->std_beta[j] : m == 1 ? est->johnson[j] : est->lmg[j];
        cx_boot_summary s;
        cx_boot_summarise(buf, nrep, t0, level, &s);
        cx_rtable_set_double(t, row, names[m][0], s.se);
        cx_rtable_set_double(t, row, names[m][1], s.perc[0]);
        cx_rtable_set_double(t, row, names[m][2], s.perc[1]);
    }
}

static int write_drivers(const ols_setup *s, const imp_result *imp, const imp_result *reps,
                         size_t nrep, double level, cx_result *res, cx_error *err)
{
    size_t k = s->p - 1;
    cx_rtable *t = drivers_table(res, nrep >= 2, err);
    double *buf = nrep ? cx_malloc(nrep * sizeof *buf, err) : NULL;
    if (!t || (nrep && !buf)) {
        free(buf);
        return err->code ? err->code : CX_ENOMEM;
    }
    for (size_t j = 0; j < k; j++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "driver", s->names[j + 1], err)) {
            free(buf);
            return err->code ? err->code : CX_ENOMEM;
        }
        long long rank = 1;
        for (size_t i = 0; i < k; i++)
            if (imp->lmg[i] > imp->lmg[j] || (imp->lmg[i] == imp->lmg[j] && i < j))
                rank++;
        cx_rtable_set_double(t, (size_t)row, "std_beta", imp->std_beta[j]);
        cx_rtable_set_double(t, (size_t)row, "johnson", imp->johnson[j]);
        cx_rtable_set_double(t, (size_t)row, "johnson_share", imp->johnson[j] / imp->r2);
        cx_rtable_set_double(t, (size_t)row, "lmg", imp->lmg[j]);
        cx_rtable_set_double(t, (size_t)row, "lmg_share", imp->lmg[j] / imp->r2);
        cx_rtable_set_int(t, (size_t)row, "rank", rank);
        if (nrep >= 2)
            boot_columns(t, (size_t)row, reps, nrep, imp, j, level, buf);
    }
    free(buf);
    return CX_OK;
}

/* The regression itself: estimates with classical SEs and t-based p. */
static int write_regression(const ols_setup *s, const ols_xp *xp, const imp_result *imp,
                            cx_result *res, cx_error *err)
{
    ols_fit f;
    cx_error e = {0};
    int rc = ols_fit_xp(xp, s->p, s->names, 1, &f, &e);
    if (rc == CX_OK && f.q < s->p)
        rc = cx_error_set(&e, CX_EFAIL, "%s; drivers must not be collinear", f.alias_msg);
    if (rc != CX_OK) {
        ols_fit_clear(&f);
        if (rc == CX_ENOMEM)
            return cx_error_set(err, CX_ENOMEM, "%s", e.msg);
        cx_result_set_status(res, CX_STATUS_FAILED, "%s", e.msg);
        return CX_EFAIL; /* the level is done */
    }
    double rdf = ols_fit_rdf(&f), s2 = f.rss / rdf;
    double tq = gsl_cdf_tdist_Qinv((1 - res->level) / 2, rdf);
    const char *y = ols_setup_outcome(s);
    cx_rtable *est = cx_result_estimates_table(res, err);
    for (size_t j = 0; est && rc == CX_OK && j < s->p; j++) {
        double b = f.beta[j], se = sqrt(s2 * f.a[j * s->p + j]);
        long row = cx_result_add_estimate(res, y, j ? "~" : "~1", j ? s->names[j] : "", 0, b, se,
                                          j ? imp->std_beta[j - 1] : NAN, err);
        if (row < 0) {
            rc = err->code ? err->code : CX_ENOMEM;
            break;
        }
        cx_rtable_set_double(est, (size_t)row, "z", b / se);
        cx_rtable_set_double(est, (size_t)row, "pvalue", 2 * gsl_cdf_tdist_Q(fabs(b / se), rdf));
        cx_rtable_set_double(est, (size_t)row, "ci_lower", b - tq * se);
        cx_rtable_set_double(est, (size_t)row, "ci_upper", b + tq * se);
    }
    if (!est)
        rc = err->code ? err->code : CX_ENOMEM;
    double adj = 1 - (1 - imp->r2) * (f.npos - 1) / rdf;
    res->nobs = f.n;
    if (rc == CX_OK &&
        (cx_result_add_fit(res, "nobs", f.n, err) || cx_result_add_fit(res, "r2", imp->r2, err) ||
         cx_result_add_fit(res, "adj_r2", adj, err) ||
         cx_result_add_fit(res, "n_drivers", (double)(s->p - 1), err)))
        rc = err->code;
    ols_fit_clear(&f);
    return rc;
}

/* One level: the sample's importance, the replicates', the tables. */
static int fit_level(const cx_job *job, const ols_setup *s, const ols_xp *xp, size_t n_slots,
                     cx_result *res, cx_error *err)
{
    imp_result imp;
    cx_error e = {0};
    int rc = slot_importance(&xp[0], s->p, &imp, &e);
    if (rc == CX_ENOMEM)
        return cx_error_set(err, CX_ENOMEM, "%s", e.msg);
    if (rc != CX_OK) {
        res->nobs = xp[0].n;
        cx_result_set_status(res, CX_STATUS_FAILED, "%s", e.msg);
        return CX_OK;
    }
    rc = write_regression(s, &xp[0], &imp, res, err);
    if (rc == CX_EFAIL)
        return CX_OK;
    size_t B = n_slots - 1, ok = 0;
    imp_result *reps = B ? cx_malloc(B * sizeof *reps, err) : NULL;
    if (B && !reps)
        return CX_ENOMEM;
    for (size_t b = 0; rc == CX_OK && b < B; b++) {
        cx_error eb = {0};
        if (slot_importance(&xp[b + 1], s->p, &reps[ok], &eb) == CX_OK)
            ok++;
    }
    if (rc == CX_OK && B) {
        if (ok < B)
            cx_result_add_warning(res, "%zu of %zu bootstrap replicates were singular and left out",
                                  B - ok, B);
        rc = cx_result_set_attr_double(res, "bootstrap_replicates", (double)B, err);
    }
    if (rc == CX_OK)
        rc = write_drivers(s, &imp, reps, ok, job->level, res, err);
    free(reps);
    return rc;
}

static int drivers_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    ols_setup s;
    ols_xp *xp = NULL;
    size_t L = job->view->n_levels ? job->view->n_levels : 1;
    size_t B = job->bootstrap > 0 ? (size_t)job->bootstrap : 0, S = 1 + B;
    int rc = ols_setup_init(job, 0, &s, err);
    if (rc == CX_OK)
        rc = ols_setup_prepare(job, &s, err);
    if (rc == CX_OK)
        rc = check_design(job, &s, err);
    ols_pass_params par = {.d = s.d,
                           .p = s.p,
                           .n_inputs = s.n_inputs,
                           .n_levels = L,
                           .n_slots = S,
                           .split = B ? CX_SPLIT_BOOTSTRAP : CX_SPLIT_NONE,
                           .seed = job->seed,
                           .boot_cluster_extra = s.boot_cluster_extra,
                           .weighted = job->weight_col >= 0};
    if (rc == CX_OK)
        rc = ols_pass_xprod(job, s.cols, s.ncols, &par, &xp, err);
    for (size_t l = 0; rc == CX_OK && l < L; l++)
        rc = fit_level(job, &s, xp + l * S, S, results[l], err);
    ols_xp_free_all(xp, xp ? L * S : 0);
    ols_setup_clear(&s);
    return rc;
}

const cx_model cx_model_drivers = {
    .name = "drivers",
    .summary = "key-driver importance: standardized betas, Johnson's weights, exact LMG/Shapley",
    .keys = drivers_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_BOOTSTRAP,
    .check = drivers_check,
    .fit = drivers_fit,
};
