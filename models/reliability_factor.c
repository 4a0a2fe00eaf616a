/*
 * reliability_factor.c — factor-model reliability for `model = reliability`:
 * McDonald's omega from one-factor ML CFAs, omega hierarchical from a
 * bifactor CFA, and the semTools quantities (composite reliability, AVE,
 * HTMT) of a fitted factor model.
 *
 * A factor model here is Lambda (p x m), Psi (m x m), Theta (p x p) with
 * names, built from a fitted lavaan-style parameter table — our own fits
 * (models/sem's ML estimator, the lavaan clone) or a cfa job's
 * `estimates` table.  The formulas are semTools 0.5-6's:
 *   compRelSEM(obs.var = TRUE):  (sum_i lambda_if)^2 psi_ff / 1' S_f 1,
 *     S_f the sample covariance (divisor N) of factor f's indicators;
 *     obs.var = FALSE puts the model-implied Sigma_f in the denominator;
 *   AVE (obs.var = TRUE): sum_i lambda_if^2 psi_ff / sum_i S_ii;
 *   htmt: the mean heterotrait-heteromethod correlation over the root of
 *     the product of the mean monotrait-heteromethod correlations, of
 *     absolute correlations; semTools' default htmt2 = TRUE takes
 *     geometric means (HTMT2, Roemer et al. 2021), htmt2 = FALSE
 *     arithmetic ones (Henseler et al. 2015).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reliability_factor.h"
#include "sem/estimate.h"
#include "sem/partable.h"

void rel_fmodel_free(rel_fmodel *fm)
{
    if (!fm)
        return;
    free(fm->ov), free(fm->lv), free(fm->lambda), free(fm->psi), free(fm->theta), free(fm);
}

rel_fmodel *rel_fmodel_alloc(size_t p, size_t m, cx_error *err)
{
    rel_fmodel *fm = cx_calloc(1, sizeof *fm, err);
    if (!fm)
        return NULL;
    fm->p = p;
    fm->m = m;
    fm->ov = cx_calloc(p ? p : 1, sizeof *fm->ov, err);
    fm->lv = cx_calloc(m ? m : 1, sizeof *fm->lv, err);
    fm->lambda = cx_calloc(p * m + 1, sizeof *fm->lambda, err);
    fm->psi = cx_calloc(m * m + 1, sizeof *fm->psi, err);
    fm->theta = cx_calloc(p * p + 1, sizeof *fm->theta, err);
    if (!fm->ov || !fm->lv || !fm->lambda || !fm->psi || !fm->theta) {
        rel_fmodel_free(fm);
        return NULL;
    }
    return fm;
}

long rel_fmodel_ov(const rel_fmodel *fm, const char *name)
{
    for (size_t i = 0; i < fm->p; i++)
        if (!strcmp(fm->ov[i], name))
            return (long)i;
    return -1;
}

long rel_fmodel_lv(const rel_fmodel *fm, const char *name)
{
    for (size_t i = 0; i < fm->m; i++)
        if (!strcmp(fm->lv[i], name))
            return (long)i;
    return -1;
}

/* Set one estimate (op "=~" or "~~") by names; 0 when it is not a
 * loading / (co)variance of the model's variables. */
int rel_fmodel_set(rel_fmodel *fm, const char *lhs, const char *op, const char *rhs, double est)
{
    size_t p = fm->p, m = fm->m;
    if (!strcmp(op, "=~")) {
        long f = rel_fmodel_lv(fm, lhs), i = rel_fmodel_ov(fm, rhs);
        if (f < 0 || i < 0)
            return 0;
        fm->lambda[(size_t)f * p + (size_t)i] = est;
        return 1;
    }
    if (strcmp(op, "~~"))
        return 0;
    long a = rel_fmodel_lv(fm, lhs), b = rel_fmodel_lv(fm, rhs);
    if (a >= 0 && b >= 0) {
        fm->psi[(size_t)a * m + (size_t)b] = fm->psi[(size_t)b * m + (size_t)a] = est;
        return 1;
    }
    a = rel_fmodel_ov(fm, lhs), b = rel_fmodel_ov(fm, rhs);
    if (a >= 0 && b >= 0) {
        fm->theta[(size_t)a * p + (size_t)b] = fm->theta[(size_t)b * p + (size_t)a] = est;
        return 1;
    }
    return 0;
}

/* Model-implied covariance entry (i, j): lambda_i' Psi lambda_j + theta_ij. */
static double implied(const rel_fmodel *fm, size_t i, size_t j)
{
    size_t p = fm->p, m = fm->m;
    double s = fm->theta[i * p + j];
    for (size_t a = 0; a < m; a++)
        for (size_t b = 0; b < m; b++)
            s += fm->lambda[a * p + i] * fm->psi[a * m + b] * fm->lambda[b * p + j];
    return s;
}

double rel_comp_rel(const rel_fmodel *fm, size_t f, const double *S, int obs_var)
{
    size_t p = fm->p;
    double sum_l = 0, denom = 0;
    for (size_t i = 0; i < p; i++) {
        if (fm->lambda[f * p + i] == 0)
            continue;
        sum_l += fm->lambda[f * p + i];
        for (size_t j = 0; j < p; j++)
            if (fm->lambda[f * p + j] != 0)
                denom += obs_var ? S[i * p + j] : implied(fm, i, j);
    }
    return sum_l * sum_l * fm->psi[f * fm->m + f] / denom;
}

double rel_ave(const rel_fmodel *fm, size_t f, const double *S)
{
    size_t p = fm->p;
    double num = 0, denom = 0;
    for (size_t i = 0; i < p; i++)
        if (fm->lambda[f * p + i] != 0) {
            num += fm->lambda[f * p + i] * fm->lambda[f * p + i];
            denom += S[i * p + i];
        }
    return num * fm->psi[f * fm->m + f] / denom;
}

double rel_htmt(const rel_fmodel *fm, size_t f, size_t g, const double *S, int geometric)
{
    size_t p = fm->p;
    double hetero = 0, mono_f = 0, mono_g = 0;
    size_t n_het = 0, n_f = 0, n_g = 0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            if (i == j)
                continue;
            double r = fabs(S[i * p + j] / sqrt(S[i * p + i] * S[j * p + j]));
            if (geometric)
                r = log(r);
            int i_f = fm->lambda[f * p + i] != 0, i_g = fm->lambda[g * p + i] != 0;
            int j_f = fm->lambda[f * p + j] != 0, j_g = fm->lambda[g * p + j] != 0;
            if (i_f && j_g) {
                hetero += r;
                n_het++;
            }
            if (i < j && i_f && j_f) {
                mono_f += r;
                n_f++;
            }
            if (i < j && i_g && j_g) {
                mono_g += r;
                n_g++;
            }
        }
    hetero /= (double)n_het;
    mono_f /= (double)n_f;
    mono_g /= (double)n_g;
    if (geometric)
        return exp(hetero) / sqrt(exp(mono_f) * exp(mono_g));
    return hetero / sqrt(mono_f * mono_g);
}

/* ---- fitting a CFA on a covariance matrix ---------------------------------- */

int rel_fit_cfa(const char *syntax, const rel_fsample *smp, int std_lv, rel_fmodel **out,
                int *converged, char *warnings, size_t warn_len, cx_error *err)
{
    *out = NULL;
    sem_options opt = {.kind = SEM_KIND_CFA, .std_lv = std_lv, .meanstructure = -1, .n_groups = 1};
    sem_partable *pt = sem_partable_build(syntax, &opt, err);
    if (!pt)
        return err->code;
    size_t p = pt->n_ov;
    double *S = cx_malloc(p * p * sizeof *S, err), *mean = cx_malloc(p * sizeof *mean, err);
    int rc = S && mean ? CX_OK : CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < p; i++) {
        long a = -1;
        for (size_t k = 0; k < smp->p; k++)
            if (!strcmp(smp->names[k], pt->ov_names[i]))
                a = (long)k;
        if (a < 0) {
            rc = cx_error_set(err, CX_EFAIL, "no sample moments for '%s'", pt->ov_names[i]);
            break;
        }
        mean[i] = smp->mean[a];
        for (size_t j = 0; j < p; j++)
            for (size_t k = 0; k < smp->p; k++)
                if (!strcmp(smp->names[k], pt->ov_names[j]))
                    S[i * p + j] = smp->cov[(size_t)a * smp->p + k];
    }
    sem_fit *fit = rc == CX_OK ? sem_fit_alloc() : NULL;
    if (rc == CX_OK && !fit)
        rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK) {
        sem_sample sample = {.p = p, .n = smp->n, .cov = S, .mean = mean};
        sem_fit_options fo = {.estimator = SEM_ML, .level = 0.95};
        rc = sem_estimate(pt, &sample, &fo, fit, err);
    }
    rel_fmodel *fm = rc == CX_OK ? rel_fmodel_alloc(p, pt->n_lv, err) : NULL;
    if (rc == CX_OK && !fm)
        rc = CX_ENOMEM;
    if (rc == CX_OK) {
        *converged = fit->converged;
        snprintf(warnings, warn_len, "%s", fit->warnings);
        for (size_t i = 0; i < p; i++)
            snprintf(fm->ov[i], sizeof fm->ov[i], "%s", pt->ov_names[i]);
        for (size_t i = 0; i < pt->n_lv; i++)
            snprintf(fm->lv[i], sizeof fm->lv[i], "%s", pt->lv_names[i]);
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            if (row->op == SEM_OP_LOADING || row->op == SEM_OP_COVARIANCE)
                rel_fmodel_set(fm, row->lhs, row->op == SEM_OP_LOADING ? "=~" : "~~", row->rhs,
                               row->est);
        }
        *out = fm;
    }
    sem_fit_free(fit);
    sem_partable_free(pt);
    free(S), free(mean);
    return rc;
}

/* The sample covariance in the model's variable order. */
int rel_fmodel_sample(const rel_fmodel *fm, const rel_fsample *smp, double *S, cx_error *err)
{
    for (size_t i = 0; i < fm->p; i++) {
        long a = -1;
        for (size_t k = 0; k < smp->p; k++)
            if (!strcmp(smp->names[k], fm->ov[i]))
                a = (long)k;
        if (a < 0)
            return cx_error_set(err, CX_EFAIL, "no sample moments for '%s'", fm->ov[i]);
        for (size_t j = 0; j < fm->p; j++)
            for (size_t k = 0; k < smp->p; k++)
                if (!strcmp(smp->names[k], fm->ov[j]))
                    S[i * fm->p + j] = smp->cov[(size_t)a * smp->p + k];
    }
    return CX_OK;
}
