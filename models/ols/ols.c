/*
 * ols.c — `model = ols`: linear regression (weighted least squares with
 * `weights`) from streamed cross-products, as R's lm() with sandwich's
 * robust and cluster-robust variances.
 *
 * Keys: `formula` (docs/FORMULA.md), `scores` (scale scores usable in the
 * formula), `se` = classical | hc0 | hc1 | hc2 | hc3 | cluster(COL) |
 * cluster(COL1 COL2).  Engine keys: `by` (every level from the same
 * passes), `weights`, `validate` (kfold / holdout), `level`.
 *
 * Pass 1 reduces [X y] to Z'WZ per level and fold (ols_xprod.c); the fits
 * are closed-form (ols_solve.c); pass 2, only for robust SEs or
 * validation, streams the residual scores (ols_scores.c).  The table is
 * never held.  docs/models/ols.md documents the tables.
 */
#include "ols_run.h"

static const char *const ols_keys[] = {"formula", "scores", "se", NULL};

static int ols_check(const cx_job *job, cx_error *err)
{
    ols_setup s;
    int rc = ols_setup_init(job, 1, &s, err);
    ols_setup_clear(&s);
    return rc;
}

static int ols_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    ols_setup s;
    ols_run r = {0};
    int rc = ols_setup_init(job, 1, &s, err);
    if (rc == CX_OK)
        rc = ols_setup_prepare(job, &s, err);
    if (rc == CX_OK)
        rc = ols_run_job(job, &s, &r, err);
    for (size_t l = 0; rc == CX_OK && l < r.n_levels; l++)
        rc = ols_write_level(job, &s, &r, l, results[l], err);
    ols_run_clear(&r);
    ols_setup_clear(&s);
    return rc;
}

const cx_model cx_model_ols = {
    .name = "ols",
    .summary = "linear regression (WLS with weights): classical, HC0-HC3 and cluster-robust SEs",
    .keys = ols_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE,
    .check = ols_check,
    .fit = ols_fit_job,
};
