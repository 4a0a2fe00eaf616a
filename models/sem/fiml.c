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
    double *work;    /* 3 p^2 + p: sem_patterns_f, gradient parts          */
    double *si;      /* p^2: Sigma_oo^-1 of one pattern                     */
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

/* Sigma_oo^-1 of a pattern into si (po x po, both triangles); CX_EFAIL
 * when singular.  The matrix is symmetric, so the column-major _work
 * calls (no transposed copies, no NaN scans: this runs once per pattern
 * per gradient) leave the inverse in the row-major upper triangle. */
static int symmetric_inverse(double *si, size_t po, const sem_pattern *pt, const double *sigma,
                             size_t p)
{
    for (size_t a = 0; a < po; a++)
        for (size_t b = 0; b < po; b++)
            si[a * po + b] = sigma[pt->idx[a] * p + pt->idx[b]];
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)po, si, (lapack_int)po) != 0 ||
        LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', (lapack_int)po, si, (lapack_int)po) != 0)
        return CX_EFAIL;
    for (size_t a = 0; a < po; a++)
        for (size_t b = 0; b < a; b++)
            si[a * po + b] = si[b * po + a];
    return CX_OK;
}

static int pattern_inverse(const sem_fiml_ws *w, const sem_pattern *pt, const double *sigma)
{
    return symmetric_inverse(w->si, pt->po, pt, sigma, w->p);
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
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, u, n, w->si, n, 0.0, t,
                    n);
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
                        am[ab * ps + cd] +=
                            c * mab * mcd * 0.25 *
                            (si[i * po + v] * si[j * po + u] + si[i * po + u] * si[j * po + v]);
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

double sem_fiml_baseline_f(const sem_est *e, size_t g, const char *exo)
{
    const sem_patterns *s = e->smp[g].patterns;
    double f = 0.0;
    for (size_t j = 0; j < e->p; j++)
        if (!exo[j])
            f += s->base_term[j];
    return f / s->n - s->h1_f;
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

/* ---- MLR: casewise scores of the saturated model ------------------------
 * Parameters of the saturated model: (mu, vech Sigma), full index e for
 * mu_e and sem_vech_index(p, a, b) for sigma_ab; a pattern's compact index
 * is sem_pattern_vech over its po variables.  The score of a row with
 * r = x_o - mu_o is
 *   s_mu = Si r,   s_ab = m_ab / 2 [(Si r r' Si)_ab - Si_ab]   (m = 2 off
 * the diagonal), and with r = d + c (d about the pattern mean, c = ybar -
 * mu_o, u = Si c) it is s = alpha + V z, z = [d ; vech(d d')]:
 *   alpha_mu = u,   alpha_ab = m_ab / 2 (u_a u_b - Si_ab),
 *   V[mu_e, d_f] = Si_ef,   V[ab, d_f] = m_ab / 2 (Si_af u_b + u_a Si_bf),
 *   V[ab, ef] = m_ab / 2 (Si_ae Si_bf + Si_af Si_be)  (e < f; e = f: once),
 * so sum over the pattern's rows of s s' = n [alpha alpha' + alpha (V m)'
 * + (V m) alpha' + V M V'], m = [0 ; vech S], M the pattern's `fourth`. */

typedef struct mlr_ws {
    size_t p, P; /* variables; saturated parameters p + p(p+1)/2 */
    double *si, *alpha, *v, *vm, *vmm, *bp, *x, *z, *wt; /* per pattern   */
    size_t *map; /* compact -> full index                         */
} mlr_ws;

static void mlr_ws_free(mlr_ws *w)
{
    free(w->si);
    free(w->alpha);
    free(w->v);
    free(w->vm);
    free(w->vmm);
    free(w->bp);
    free(w->x);
    free(w->z);
    free(w->wt);
    free(w->map);
}

static int mlr_ws_alloc(mlr_ws *w, size_t p, cx_error *err)
{
    size_t P = p + p * (p + 1) / 2;
    memset(w, 0, sizeof *w);
    w->p = p;
    w->P = P;
    w->si = cx_malloc(sizeof(double) * (p * p + 1), err);
    w->alpha = cx_malloc(sizeof(double) * (P + 1), err);
    w->v = cx_malloc(sizeof(double) * (P * P + 1), err);
    w->vm = cx_malloc(sizeof(double) * (P + 1), err);
    w->vmm = cx_malloc(sizeof(double) * (P * P + 1), err);
    w->bp = cx_malloc(sizeof(double) * (P * P + 1), err);
    w->x = cx_malloc(sizeof(double) * (p * p + 1), err);
    w->z = cx_malloc(sizeof(double) * (p * p + 1), err);
    w->wt = cx_malloc(sizeof(double) * (p * p + p + 1), err);
    w->map = cx_malloc(sizeof(size_t) * (P + 1), err);
    if (!w->si || !w->alpha || !w->v || !w->vm || !w->vmm || !w->bp || !w->x || !w->z || !w->wt ||
        !w->map)
        return CX_ENOMEM;
    return CX_OK;
}

/* Si = Sigma_oo^-1 of the pattern, c = ybar - mu_o (in w->wt + p*p), the
 * compact -> full index map; CX_EFAIL when Sigma_oo is singular. */
static int mlr_pattern(mlr_ws *w, const sem_pattern *pt, const double *mu, const double *sigma)
{
    size_t p = w->p, po = pt->po;
    if (symmetric_inverse(w->si, po, pt, sigma, p) != CX_OK)
        return CX_EFAIL;
    double *c = w->wt + p * p;
    for (size_t a = 0; a < po; a++) {
        c[a] = pt->mean[a] - mu[pt->idx[a]];
        w->map[a] = pt->idx[a];
        for (size_t b = a; b < po; b++)
            w->map[sem_pattern_vech(po, a, b)] = sem_vech_index(p, pt->idx[a], pt->idx[b]);
    }
    return CX_OK;
}

/* b += weight * (1/N) sum_rows s s' over every pattern (P x P, full). */
static int first_order(mlr_ws *w, const sem_patterns *s, const double *mu, const double *sigma,
                       double weight, double *b)
{
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po, ps = po + po * (po + 1) / 2;
        if (mlr_pattern(w, pt, mu, sigma) != CX_OK)
            return CX_EFAIL;
        const double *si = w->si, *c = w->wt + w->p * w->p;
        double *u = w->wt; /* u = Si c */
        for (size_t a = 0; a < po; a++) {
            u[a] = 0.0;
            for (size_t e = 0; e < po; e++)
                u[a] += si[a * po + e] * c[e];
        }
        memset(w->v, 0, sizeof(double) * ps * ps);
        for (size_t a = 0; a < po; a++) {
            w->alpha[a] = u[a];
            for (size_t f = 0; f < po; f++)
                w->v[a * ps + f] = si[a * po + f];
            for (size_t bb = a; bb < po; bb++) {
                size_t r = sem_pattern_vech(po, a, bb);
                double m = a == bb ? 0.5 : 1.0; /* m_ab / 2 */
                w->alpha[r] = m * (u[a] * u[bb] - si[a * po + bb]);
                for (size_t f = 0; f < po; f++)
                    w->v[r * ps + f] = m * (si[a * po + f] * u[bb] + u[a] * si[bb * po + f]);
                for (size_t e = 0; e < po; e++)
                    for (size_t f = e; f < po; f++)
                        w->v[r * ps + sem_pattern_vech(po, e, f)] =
                            m * (e == f ? si[a * po + e] * si[bb * po + e]
                                        : si[a * po + e] * si[bb * po + f] +
                                              si[a * po + f] * si[bb * po + e]);
            }
        }
        /* vm = V m, m = [0 ; vech S]; vmm = V M */
        for (size_t r = 0; r < ps; r++) {
            double acc = 0.0;
            for (size_t e = 0; e < po; e++)
                for (size_t f = e; f < po; f++)
                    acc += w->v[r * ps + sem_pattern_vech(po, e, f)] * pt->cov[e * po + f];
            w->vm[r] = acc;
        }
        int n = (int)ps;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, w->v, n, pt->fourth, n,
                    0.0, w->vmm, n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, w->vmm, n, w->v, n, 0.0,
                    w->bp, n);
        double cw = weight * pt->n / s->n;
        size_t P = w->P;
        for (size_t r = 0; r < ps; r++)
            for (size_t q = 0; q < ps; q++)
                b[w->map[r] * P + w->map[q]] +=
                    cw * (w->bp[r * ps + q] + w->alpha[r] * w->alpha[q] + w->alpha[r] * w->vm[q] +
                          w->vm[r] * w->alpha[q]);
    }
    return CX_OK;
}

/* a += (1/N) observed information (minus the Hessian of logl) of the
 * saturated model at (mu, sigma), P x P full:
 *   mu-mu: Si;  mu-ab: (X_ab r);  ab-cd: -tr(X_ab E_cd)/2 + tr(E_cd Si T X_ab)
 * with X_ab = Si E_ab Si, E_ab the symmetric unit matrix, T = S + r r'. */
static int observed_h1(mlr_ws *w, const sem_patterns *s, const double *mu, const double *sigma,
                       double *a1)
{
    size_t P = w->P;
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po;
        if (mlr_pattern(w, pt, mu, sigma) != CX_OK)
            return CX_EFAIL;
        const double *si = w->si, *c = w->wt + w->p * w->p;
        double cw = pt->n / s->n;
        double *st = w->bp; /* Si T (po x po) */
        for (size_t i = 0; i < po; i++)
            for (size_t j = 0; j < po; j++) {
                double acc = 0.0;
                for (size_t l = 0; l < po; l++)
                    acc += si[i * po + l] * (pt->cov[l * po + j] + c[l] * c[j]);
                st[i * po + j] = acc;
            }
        for (size_t i = 0; i < po; i++)
            for (size_t j = 0; j < po; j++)
                a1[w->map[i] * P + w->map[j]] += cw * si[i * po + j];
        for (size_t ea = 0; ea < po; ea++)
            for (size_t eb = ea; eb < po; eb++) {
                size_t col = w->map[sem_pattern_vech(po, ea, eb)];
                double *x = w->x, *z = w->z;
                for (size_t i = 0; i < po; i++)
                    for (size_t j = 0; j < po; j++)
                        x[i * po + j] = ea == eb ? si[i * po + ea] * si[ea * po + j]
                                                 : si[i * po + ea] * si[eb * po + j] +
                                                       si[i * po + eb] * si[ea * po + j];
                for (size_t i = 0; i < po; i++) { /* z = Si T X */
                    double xr = 0.0;
                    for (size_t j = 0; j < po; j++) {
                        double acc = 0.0;
                        for (size_t l = 0; l < po; l++)
                            acc += st[i * po + l] * x[l * po + j];
                        z[i * po + j] = acc;
                        xr += x[i * po + j] * c[j];
                    }
                    a1[w->map[i] * P + col] += cw * xr; /* mu-sigma, both blocks */
                    a1[col * P + w->map[i]] += cw * xr;
                }
                for (size_t ec = 0; ec < po; ec++)
                    for (size_t ed = ec; ed < po; ed++) {
                        size_t row = w->map[sem_pattern_vech(po, ec, ed)];
                        double trx = ec == ed ? x[ec * po + ec] : x[ec * po + ed] + x[ed * po + ec];
                        double trz = ec == ed ? z[ec * po + ec] : z[ec * po + ed] + z[ed * po + ec];
                        a1[row * P + col] += cw * (-0.5 * trx + trz);
                    }
            }
    }
    return CX_OK;
}

/* tr(A^-1 B) of the rows/columns `sel` (n of them) of P x P matrices;
 * CX_EFAIL when A is singular. */
static int trace_inv(const double *a, const double *b, size_t P, const size_t *sel, size_t n,
                     double *tr, cx_error *err)
{
    double *as = cx_malloc(sizeof(double) * (2 * n * n + 1), err);
    if (!as)
        return CX_ENOMEM;
    double *bs = as + n * n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            as[i * n + j] = a[sel[i] * P + sel[j]];
            bs[i * n + j] = b[sel[i] * P + sel[j]];
        }
    int rc = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, (lapack_int)n, as, (lapack_int)n,
                           bs, (lapack_int)n) == 0
                 ? CX_OK
                 : cx_error_set(err, CX_EFAIL,
                                "the saturated model's observed information is singular: the "
                                "robust test cannot be computed");
    *tr = 0.0;
    for (size_t i = 0; rc == CX_OK && i < n; i++)
        *tr += bs[i * n + i];
    free(as);
    return rc;
}

/* Delta (P x q) of group g from sem_est_delta's ds/dm. */
static void saturated_delta(const sem_est *e, size_t g, const double *ds, const double *dm,
                            double *delta)
{
    size_t p = e->p, q = e->q, P = p + p * (p + 1) / 2;
    for (size_t k = 0; k < q; k++) {
        const double *d = ds + (g * q + k) * p * p, *m = dm + (g * q + k) * p;
        for (size_t a = 0; a < p; a++) {
            delta[a * q + k] = m[a];
            for (size_t b = a; b < p; b++)
                delta[sem_vech_index(p, a, b) * q + k] = d[a * p + b];
        }
    }
    (void)P;
}

/* The traces of one group: h1 (at the EM moments) and the baseline's
 * (at the independence model's estimates, its parameters being the means
 * and variances: a sub-block of the saturated model's). */
static int group_traces(mlr_ws *w, const sem_patterns *s, double *a1, double *b1, size_t *sel,
                        double *tr_h1, double *tr_base, cx_error *err)
{
    size_t p = w->p, P = w->P;
    memset(a1, 0, sizeof(double) * P * P);
    memset(b1, 0, sizeof(double) * P * P);
    int rc = observed_h1(w, s, s->em_mean, s->em_cov, a1) == CX_OK &&
                     first_order(w, s, s->em_mean, s->em_cov, 1.0, b1) == CX_OK
                 ? CX_OK
                 : cx_error_set(err, CX_EFAIL, "the saturated moments are singular");
    for (size_t i = 0; i < P; i++)
        sel[i] = i;
    if (rc == CX_OK)
        rc = trace_inv(a1, b1, P, sel, P, tr_h1, err);
    if (rc != CX_OK)
        return rc;
    double *dg = w->z; /* the independence model's Sigma (p x p) */
    memset(dg, 0, sizeof(double) * p * p);
    for (size_t j = 0; j < p; j++)
        dg[j * p + j] = s->base_var[j];
    double *sig = cx_malloc(sizeof(double) * (p * p + 1), err);
    if (!sig)
        return CX_ENOMEM;
    memcpy(sig, dg, sizeof(double) * p * p);
    memset(a1, 0, sizeof(double) * P * P);
    memset(b1, 0, sizeof(double) * P * P);
    rc = observed_h1(w, s, s->base_mean, sig, a1) == CX_OK &&
                 first_order(w, s, s->base_mean, sig, 1.0, b1) == CX_OK
             ? CX_OK
             : cx_error_set(err, CX_EFAIL, "the independence model's moments are singular");
    free(sig);
    for (size_t j = 0; j < p; j++) {
        sel[j] = j;
        sel[p + j] = sem_vech_index(p, j, j);
    }
    return rc == CX_OK ? trace_inv(a1, b1, P, sel, 2 * p, tr_base, err) : rc;
}

int sem_fiml_robust(sem_est *e, double *vcov, sem_robust *rob, cx_error *err)
{
    size_t q = e->q, p = e->p, G = e->n_groups, P = p + p * (p + 1) / 2;
    memset(rob, 0, sizeof *rob);
    for (size_t g = 0; g < G; g++)
        for (size_t k = 0; k < e->smp[g].patterns->n_pat; k++)
            if (!e->smp[g].patterns->pat[k].fourth)
                return cx_error_set(err, CX_EUSAGE, "estimator MLR needs the fourth moments");
    mlr_ws w;
    int rc = mlr_ws_alloc(&w, p, err);
    double *ds = cx_malloc(sizeof(double) * (G * q * p * p + 1), err);
    double *dm = cx_malloc(sizeof(double) * (G * q * p + 1), err);
    /* bd (P x q) is its own block: with several groups q exceeds P */
    double *buf = cx_malloc(sizeof(double) * (2 * P * P + 2 * P * q + 4 * q * q + 1), err);
    size_t *sel = cx_malloc(sizeof(size_t) * (P + 1), err);
    if (rc == CX_OK && (!ds || !dm || !buf || !sel))
        rc = CX_ENOMEM;
    double *a1 = buf, *b1 = a1 + P * P, *delta = b1 + P * P, *einv = delta + P * q;
    double *b0 = einv + q * q, *b0g = b0 + q * q, *tmp = b0g + q * q, *bd = tmp + q * q;
    if (rc == CX_OK)
        rc = sem_est_numeric_hessian(e, ds, dm, einv, err);
    if (rc == CX_OK && q > 0 &&
        (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, einv, (lapack_int)q) != 0 ||
         LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, einv, (lapack_int)q) != 0))
        rc = cx_error_set(err, CX_EFAIL,
                          "the observed information matrix (Hessian) is not positive definite: "
                          "robust standard errors cannot be computed");
    for (size_t k = 0; rc == CX_OK && k < q; k++)
        for (size_t l = 0; l < k; l++)
            einv[l * q + k] = einv[k * q + l];
    if (rc == CX_OK)
        memset(b0, 0, sizeof(double) * q * q);
    for (size_t g = 0; rc == CX_OK && g < G; g++) {
        const sem_patterns *s = e->smp[g].patterns;
        /* B0_g = Delta' B1(implied) Delta */
        memset(b1, 0, sizeof(double) * P * P);
        if (first_order(&w, s, e->mod.grp[g].mu, e->mod.grp[g].sigma, 1.0, b1) != CX_OK) {
            rc = cx_error_set(err, CX_EFAIL, "group %zu: the implied moments are singular", g + 1);
            break;
        }
        saturated_delta(e, g, ds, dm, delta);
        int nq = (int)q, nP = (int)P;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nP, nq, nP, 1.0, b1, nP, delta, nq,
                    0.0, bd, nq);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nq, nq, nP, 1.0, delta, nq, bd, nq,
                    0.0, b0g, nq);
        double tr = 0.0;
        for (size_t k = 0; k < q * q; k++) {
            b0[k] += e->w[g] * b0g[k];
            tr += b0g[k] * einv[k];
        }
        rob->trace_h0 += e->w[g] * tr;
        double h1 = 0.0, base = 0.0;
        rc = group_traces(&w, s, a1, b1, sel, &h1, &base, err);
        rob->trace_h1 += h1;
        rob->trace_h0_base += base;
        rob->ndat += (double)P;
    }
    for (size_t r = 0; r < e->pt->n_rows; r++)
        rob->nx_free += e->row_par[r] >= 0;
    if (rc == CX_OK) { /* vcov = E^-1 B0 E^-1 / N */
        int nq = (int)q;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, nq, nq, 1.0, einv, nq, b0, nq,
                    0.0, tmp, nq);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, nq, nq, 1.0 / e->n_total, tmp,
                    nq, einv, nq, 0.0, vcov, nq);
    }
    mlr_ws_free(&w);
    free(ds);
    free(dm);
    free(buf);
    free(sel);
    return rc;
}
