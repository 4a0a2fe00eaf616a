/*
 * ols_run.c — the passes of an `ols` job: pass 1 (cross-products per level
 * and fold), the fit of every level and of every fold's training set (the
 * merge of the other folds' cross-products), and pass 2 only when robust
 * or cluster SEs or validation metrics need residuals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ols_run.h"

void ols_run_clear(ols_run *r)
{
    size_t L = r->n_levels, S = r->n_slots;
    ols_xp_free_all(r->xp, L * S);
    ols_xp_free_all(r->total, r->total ? L : 0);
    for (size_t l = 0; r->fits && l < L; l++)
        ols_fit_clear(&r->fits[l]);
    for (size_t i = 0; r->train && i < L * S; i++)
        ols_fit_clear(&r->train[i]);
    free(r->fits);
    free(r->train);
    free(r->train_ok);
    free(r->why);
    ols_scores_clear(&r->scores);
    memset(r, 0, sizeof *r);
}

static int alloc_run(ols_run *r, size_t p, cx_error *err)
{
    size_t L = r->n_levels, S = r->n_slots;
    r->total = cx_calloc(L, sizeof *r->total, err);
    r->fits = cx_calloc(L, sizeof *r->fits, err);
    r->why = cx_calloc(L, sizeof *r->why, err);
    r->train = cx_calloc(L * S, sizeof *r->train, err);
    r->train_ok = cx_calloc(L * S, sizeof *r->train_ok, err);
    for (size_t l = 0; r->total && l < L; l++)
        if (!(r->total[l].c = cx_calloc((p + 1) * (p + 1), sizeof(double), err)))
            return CX_ENOMEM;
    return r->total && r->fits && r->why && r->train && r->train_ok ? CX_OK : CX_ENOMEM;
}

/* Sum of level l's slots, leaving out slot `except` (SIZE_MAX: none). */
static void merge_slots(const ols_run *r, size_t l, size_t p, size_t except, ols_xp *out)
{
    memset(out->c, 0, (p + 1) * (p + 1) * sizeof *out->c);
    out->n = out->npos = out->sw = out->slogw = 0;
    for (size_t s = 0; s < r->n_slots; s++)
        if (s != except)
            ols_xp_add(out, &r->xp[l * r->n_slots + s], p);
}

/* Training fits: kfold — every slot left out in turn; holdout — slot 0
 * (the rows outside the expression) predicts slot 1. */
static int fit_training(const ols_setup *s, ols_run *r, size_t l, cx_error *err)
{
    ols_xp *x = ols_xp_alloc(s->p, err);
    if (!x)
        return CX_ENOMEM;
    for (size_t k = 0; k < r->n_slots; k++) {
        if (r->split == CX_SPLIT_HOLDOUT && k != 1)
            continue;
        if (r->split == CX_SPLIT_HOLDOUT)
            merge_slots(r, l, s->p, 1, x);
        else
            merge_slots(r, l, s->p, k, x);
        cx_error e = {0};
        size_t i = l * r->n_slots + k;
        r->train_ok[i] = ols_fit_xp(x, s->p, s->names, s->intercept, &r->train[i], &e) == CX_OK;
        if (e.code == CX_ENOMEM) {
            ols_xp_free(x);
            return cx_error_set(err, CX_ENOMEM, "%s", e.msg);
        }
    }
    ols_xp_free(x);
    return CX_OK;
}

static int second_pass(const cx_job *job, const ols_setup *s, ols_run *r, cx_error *err)
{
    size_t L = r->n_levels, S = r->n_slots;
    const double **bt = cx_calloc(L * S, sizeof *bt, err);
    if (!bt)
        return CX_ENOMEM;
    for (size_t i = 0; i < L * S; i++)
        bt[i] = r->train_ok[i] ? r->train[i].beta0 : NULL;
    ols_score_params par = {.d = s->d,
                            .p = s->p,
                            .n_inputs = s->n_inputs,
                            .n_levels = L,
                            .fits = r->fits,
                            .se = s->se,
                            .n_cluster = s->n_cluster,
                            .cluster_extra = {s->cluster_extra[0], s->cluster_extra[1]},
                            .split = r->split,
                            .n_slots = S,
                            .seed = job->seed,
                            .holdout = job->holdout,
                            .holdout_at = s->holdout_at,
                            .beta_train = bt};
    int rc = ols_pass_scores(job, s->cols, s->ncols, &par, &r->scores, err);
    free(bt);
    r->have_scores = rc == CX_OK;
    return rc;
}

int ols_run_job(const cx_job *job, const ols_setup *s, ols_run *r, cx_error *err)
{
    memset(r, 0, sizeof *r);
    r->n_levels = job->view->n_levels ? job->view->n_levels : 1;
    r->split = job->validate == CX_VALIDATE_KFOLD     ? CX_SPLIT_KFOLD
               : job->validate == CX_VALIDATE_HOLDOUT ? CX_SPLIT_HOLDOUT
                                                      : CX_SPLIT_NONE;
    r->n_slots = r->split == CX_SPLIT_KFOLD     ? (size_t)job->kfold
                 : r->split == CX_SPLIT_HOLDOUT ? 2
                                                : 1;
    ols_pass_params par = {.d = s->d,
                           .p = s->p,
                           .n_inputs = s->n_inputs,
                           .n_levels = r->n_levels,
                           .n_slots = r->n_slots,
                           .split = r->split,
                           .seed = job->seed,
                           .holdout = job->holdout,
                           .holdout_at = s->holdout_at,
                           .boot_cluster_extra = -1,
                           .weighted = job->weight_col >= 0};
    int rc = ols_pass_xprod(job, s->cols, s->ncols, &par, &r->xp, err);
    if (rc == CX_OK)
        rc = alloc_run(r, s->p, err);
    for (size_t l = 0; rc == CX_OK && l < r->n_levels; l++) {
        merge_slots(r, l, s->p, SIZE_MAX, &r->total[l]);
        cx_error e = {0};
        if (ols_fit_xp(&r->total[l], s->p, s->names, s->intercept, &r->fits[l], &e) != CX_OK) {
            if (e.code == CX_ENOMEM)
                rc = cx_error_set(err, CX_ENOMEM, "%s", e.msg);
            snprintf(r->why[l], sizeof r->why[l], "%s", e.msg);
            r->fits[l].q = 0; /* pass 2 skips the level */
        }
        if (rc == CX_OK && r->split != CX_SPLIT_NONE)
            rc = fit_training(s, r, l, err);
    }
    if (rc == CX_OK && (s->se != OLS_SE_CLASSICAL || r->split != CX_SPLIT_NONE))
        rc = second_pass(job, s, r, err);
    return rc;
}

void ols_vcov(const ols_setup *s, const ols_run *r, size_t l, double *v)
{
    const ols_fit *f = &r->fits[l];
    size_t q = f->q;
    double n = f->n, rdf = ols_fit_rdf(f);
    if (s->se == OLS_SE_CLASSICAL || !r->have_scores) {
        double s2 = rdf > 0 ? f->rss / rdf : NAN;
        for (size_t i = 0; i < q * q; i++)
            v[i] = s->se == OLS_SE_CLASSICAL ? s2 * f->a[i] : NAN;
        return;
    }
    ols_sandwich(f->a, r->scores.meat + l * s->p * s->p, q, v);
    double adj = 1;
    if (s->se == OLS_SE_HC1)
        adj = n > q ? n / (n - (double)q) : NAN;
    else if (s->se == OLS_SE_CLUSTER)
        adj = n > q ? (n - 1) / (n - (double)q) : NAN;
    for (size_t i = 0; i < q * q; i++)
        v[i] *= adj;
}
