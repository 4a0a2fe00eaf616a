/*
 * fiml.c — the estimator side of `missing = fiml` (see fiml.h): the
 * casewise likelihood, its gradient and expected information summed over
 * missing patterns, the observed-information standard errors and the
 * fit-measure ingredients (lavaan 0.6.14, missing = "ml").
 *
 * Every per-pattern formula is the complete-data one restricted to the
 * pattern's observed variables o: Sigma_oo, mu_o and the pattern's mean
 * and covariance; contributions are weighted n_pattern / N_g and embedded
 * back into p x p (rows and columns o).
 */
#include "fiml.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "est_internal.h"

struct sem_fiml_ws {
    size_t p;
    double *work; /* 3 p^2 + p: sem_patterns_f, gradient parts          */
    double *si;   /* p^2: Sigma_oo^-1 of one pattern                     */
    double *am, *mm; /* the saturated expected information: ps^2, p^2  */
    /* information, grown to the largest n_slots asked for */
    size_t slots;
    double *v, *va; /* slots x ps: vech(dSigma_k) and V A                */
};

sem_fiml_ws *sem_fiml_ws_alloc(const sem_est *e, cx_error *err)
{
    size_t p = e->p;
    sem_fiml_ws *w = cx_calloc(1, sizeof *w, err);
    if (!w)
        return NULL;
    w->p = p;
    w->work = cx_malloc(sizeof(double) * (3 * p * p + p + 1), err);
    w->si = cx_malloc(sizeof(double) * (p * p + 1), err);
    size_t ps = p * (p + 1) / 2;
    w->am = cx_malloc(sizeof(double) * (ps * ps + 1), err);
    w->mm = cx_malloc(sizeof(double) * (p * p + 1), err);
    if (!w->work || !w->si || !w->am || !w->mm) {
        sem_fiml_ws_free(w);
        return NULL;
    }
    return w;
}

void sem_fiml_ws_free(sem_fiml_ws *w)
{
    if (!w)
        return;
    free(w->work);
    free(w->si);
    free(w->am);
    free(w->mm);
    free(w->v);
    free(w->va);
    free(w);
}

/* Grown once to the optimizer's size: no allocation per iteration. */
static int ws_slots(sem_fiml_ws *w, size_t slots)
{
    if (slots <= w->slots)
        return CX_OK;
    size_t ps = w->p * (w->p + 1) / 2 + w->p; /* va also holds slots x p */
    free(w->v);
    free(w->va);
    w->v = malloc(sizeof(double) * (slots * ps + 1));
    w->va = malloc(sizeof(double) * (slots * ps + 1));
    if (!w->v || !w->va) {
        w->slots = 0;
        return CX_ENOMEM;
    }
    w->slots = slots;
    return CX_OK;
}

int sem_fiml_discrepancy(sem_est *e, size_t g, double *f, cx_error *err)
{
    const sem_patterns *s = e->smp[g].patterns;
    const sem_group_matrices *G = &e->mod.grp[g];
    double fx;
    if (sem_patterns_f(s, G->sigma, G->mu, e->fiml->work, &fx) != CX_OK)
        return cx_error_set(err, CX_EFAIL,
                            "group %zu: the implied covariance matrix of a missing pattern is "
                            "not positive definite",
                            g + 1);
    *f = fx - s->h1_f;
    return CX_OK;
}

/* Sigma_oo^-1 of pattern k into w->si (po x po); CX_EFAIL when singular. */
static int pattern_inverse(const sem_fiml_ws *w, const sem_pattern *pt, const double *sigma)
{
    size_t po = pt->po, p = w->p;
    for (size_t a = 0; a < po; a++)
        for (size_t b = 0; b < po; b++)
            w->si[a * po + b] = sigma[pt->idx[a] * p + pt->idx[b]];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)po, w->si, (lapack_int)po) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)po, w->si, (lapack_int)po) != 0)
        return CX_EFAIL;
    for (size_t a = 0; a < po; a++)
        for (size_t b = 0; b < a; b++)
            w->si[b * po + a] = w->si[a * po + b];
    return CX_OK;
}

void sem_fiml_gradient_parts(sem_est *e, size_t g, double *wm, double *sr)
{
    const sem_patterns *s = e->smp[g].patterns;
    const sem_group_matrices *G = &e->mod.grp[g];
    sem_fiml_ws *w = e->fiml;
    size_t p = e->p;
    double *t = w->work, *u = t + p * p, *r = u + p * p;
    memset(wm, 0, sizeof(double) * p * p);
    memset(sr, 0, sizeof(double) * p);
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po;
        if (pattern_inverse(w, pt, G->sigma) != CX_OK) { /* evaluate() saw it first */
            for (size_t i = 0; i < p * p; i++)
                wm[i] = NAN;
            return;
        }
        double c = pt->n / s->n;
        for (size_t a = 0; a < po; a++)
            r[a] = pt->mean[a] - G->mu[pt->idx[a]];
        /* u = Si (S + r r') Si */
        for (size_t a = 0; a < po; a++)
            for (size_t b = 0; b < po; b++)
                t[a * po + b] = pt->cov[a * po + b] + r[a] * r[b];
        int n = (int)po;
        cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, n, n, 1.0, w->si, n, t, n, 0.0, u, n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, u, n, w->si, n, 0.0,
                    t, n);
        for (size_t a = 0; a < po; a++) {
            double acc = 0.0;
            for (size_t b = 0; b < po; b++) {
                wm[pt->idx[a] * p + pt->idx[b]] += c * (w->si[a * po + b] - t[a * po + b]);
                acc += w->si[a * po + b] * r[b];
            }
            sr[pt->idx[a]] += c * acc;
        }
    }
}

/* The saturated model's expected information of group g in the
 * (vech Sigma, mu) space, summed over patterns with weights n / N_g:
 *   A[(ab),(cd)] = m_ab m_cd / 4 (Si_ad Si_bc + Si_ac Si_bd),  M = Si
 * (Si = Sigma_oo^-1 embedded, m = 2 off the diagonal, 1 on it), so that
 * tr(Si dS_k Si dS_l) / 2 = vech(dS_k)' A vech(dS_l).  Its size does not
 * depend on the number of patterns or parameters: the model's
 * information is then one small sandwich, V A V' + Dm M Dm'. */
static int h1_expected(sem_est *e, size_t g, double *am, double *mm)
{
    const sem_patterns *s = e->smp[g].patterns;
    sem_fiml_ws *w = e->fiml;
    size_t p = e->p, ps = p * (p + 1) / 2;
    memset(am, 0, sizeof(double) * ps * ps);
    memset(mm, 0, sizeof(double) * p * p);
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po;
        if (pattern_inverse(w, pt, e->mod.grp[g].sigma) != CX_OK)
            return CX_EFAIL;
        const double *si = w->si;
        double c = pt->n / s->n;
        for (size_t i = 0; i < po; i++)
            for (size_t j = 0; j < po; j++)
                mm[pt->idx[i] * p + pt->idx[j]] += c * si[i * po + j];
        for (size_t i = 0; i < po; i++)
            for (size_t j = i; j < po; j++) {
                size_t ab = sem_vech_index(p, pt->idx[i], pt->idx[j]) - p;
                double mab = i == j ? 1.0 : 2.0;
                for (size_t u = 0; u < po; u++)
                    for (size_t v = u; v < po; v++) {
                        size_t cd = sem_vech_index(p, pt->idx[u], pt->idx[v]) - p;
                        double mcd = u == v ? 1.0 : 2.0;
                        am[ab * ps + cd] += c * mab * mcd * 0.25 *
                                            (si[i * po + v] * si[j * po + u] +
                                             si[i * po + u] * si[j * po + v]);
                    }
            }
    }
    return CX_OK;
}

void sem_fiml_information(sem_est *e, const double *ds, const double *dm, size_t n_slots,
                          double *info)
{
    size_t p = e->p, pp = p * p, ps = p * (p + 1) / 2;
    sem_fiml_ws *w = e->fiml;
    memset(info, 0, sizeof(double) * n_slots * n_slots);
    if (ws_slots(w, n_slots) != CX_OK) {
        for (size_t i = 0; i < n_slots * n_slots; i++)
            info[i] = NAN;
        return;
    }
    int q = (int)n_slots, np = (int)p, nps = (int)ps;
    for (size_t g = 0; g < e->n_groups; g++) {
        if (h1_expected(e, g, w->am, w->mm) != CX_OK) {
            for (size_t i = 0; i < n_slots * n_slots; i++)
                info[i] = NAN;
            return;
        }
        for (size_t sl = 0; sl < n_slots; sl++) { /* V: vech(dSigma_k) rows */
            const double *d = ds + (g * n_slots + sl) * pp;
            for (size_t a = 0; a < p; a++)
                for (size_t b = a; b < p; b++)
                    w->v[sl * ps + sem_vech_index(p, a, b) - p] = d[a * p + b];
        }
        cblas_dsymm(CblasRowMajor, CblasRight, CblasUpper, q, nps, 1.0, w->am, nps, w->v, nps, 0.0,
                    w->va, nps);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q, q, nps, e->w[g], w->va, nps, w->v,
                    nps, 1.0, info, q);
        const double *dmg = dm + g * n_slots * p;
        cblas_dsymm(CblasRowMajor, CblasRight, CblasUpper, q, np, 1.0, w->mm, np, dmg, np, 0.0,
                    w->va, np);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q, q, np, e->w[g], w->va, np, dmg, np,
                    1.0, info, q);
    }
    for (size_t k = 0; k < n_slots; k++)
        for (size_t l = 0; l < k; l++)
            info[l * n_slots + k] = info[k * n_slots + l] =
                0.5 * (info[l * n_slots + k] + info[k * n_slots + l]);
}

int sem_fiml_observed_vcov(sem_est *e, double *vcov, cx_error *err)
{
    size_t q = e->q, p = e->p, G = e->n_groups;
    if (q == 0)
        return CX_OK;
    double *ds = cx_malloc(sizeof(double) * (G * q * p * p + 1), err);
    double *dm = cx_malloc(sizeof(double) * (G * q * p + 1), err);
    int rc = ds && dm ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = sem_est_numeric_hessian(e, ds, dm, vcov, err);
    /* vcov = (N H)^-1: H is positive definite at a proper minimum */
    if (rc == CX_OK &&
        (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, vcov, (lapack_int)q) != 0 ||
         LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, vcov, (lapack_int)q) != 0))
        rc = cx_error_set(err, CX_EFAIL,
                          "the observed information matrix (Hessian) is not positive definite: "
                          "standard errors cannot be computed (the model may not be identified)");
    for (size_t k = 0; rc == CX_OK && k < q; k++)
        for (size_t l = 0; l <= k; l++) {
            vcov[k * q + l] /= e->n_total;
            vcov[l * q + k] = vcov[k * q + l];
        }
    free(ds);
    free(dm);
    return rc;
}

void sem_fiml_baseline(const sem_est *e, double *x2, double *df)
{
    size_t p = e->p;
    *x2 = 0.0;
    *df = 0.0;
    for (size_t g = 0; g < e->n_groups; g++) {
        const sem_patterns *s = e->smp[g].patterns;
        *x2 += s->n * (s->base_f - s->h1_f);
        *df += (double)(p * (p - 1) / 2);
    }
}

void sem_fiml_logl(const sem_est *e, double *logl, double *logl_h1)
{
    const double log2pi = log(2.0 * 3.14159265358979323846);
    *logl = *logl_h1 = 0.0;
    for (size_t g = 0; g < e->n_groups; g++) {
        const sem_patterns *s = e->smp[g].patterns;
        double c = s->n_values * log2pi;
        *logl += -0.5 * (s->n * (e->f_g[g] + s->h1_f) + c);
        *logl_h1 += -0.5 * (s->n * s->h1_f + c);
    }
}
