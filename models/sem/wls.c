/*
 * wls.c — see wls.h.  Estimation through engine/optimize.h (Gauss-Newton
 * curvature Delta' W Delta), then the sandwich, the test and lavaan's fit
 * measures for WLSMV from the same Delta, W and Gamma.
 */
#include "wls.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "../../engine/optimize.h"
#include "est_internal.h"
#include "matrices.h"

typedef struct wls {
    const sem_partable *pt;
    const sem_ord_stats *const *s; /* per group                           */
    sem_model mod;
    size_t G, p, m, nth, npair, dim, q;
    size_t qm;                        /* parameters of partable rows                       */
    size_t th_at;                     /* first threshold parameter                         */
    int eq_th;                        /* thresholds shared; scales free in g > 0            */
    int free_means;                   /* latent means free in g > 0 (eq_th without means)  */
    int theta;                        /* theta parameterization (else delta)               */
    unsigned group_equal;             /* SEM_EQ_* bits                                     */
    double *dl, *thv;                 /* per group x item: scale delta_i, theta_ii (delta: 0) */
    size_t scale_at;                  /* (G-1) x p scale factors of groups 2..G, or none   */
    size_t mean_at;                   /* (G-1) x m latent means of groups 2..G             */
    sem_target *t;                    /* per partable row                                  */
    int *par;                         /* per row: parameter or -1                          */
    int *resvar;                      /* per row: ordinal residual variance                */
    double *sobs, *vd, *mvec, *delta; /* per group: dim, dim, dim, dim x q */
    double *dsig, *dmu, *x, *deltas;  /* p*p, p, q, p                     */
    double *ddl;                      /* p: d delta_i of one parameter (theta) */
    double n, *ng;                    /* total N, N_g                     */
} wls;

static void wls_free(wls *w)
{
    sem_model_free(&w->mod);
    free(w->t);
    free(w->par);
    free(w->resvar);
    free(w->sobs);
    free(w->vd);
    free(w->mvec);
    free(w->delta);
    free(w->dsig);
    free(w->dmu);
    free(w->x);
    free(w->deltas);
    free(w->ng);
    free(w->dl);
    free(w->thv);
    free(w->ddl);
}

/* Is residual-variance row `row` of an item a free parameter?  Delta
 * parameterization: never (a computed value).  Theta: in groups 2..G with
 * equal thresholds, unless the residuals are held equal too (to group 1's
 * fixed 1), as lavaan frees them. */
static int theta_free(const wls *w, const sem_param *row)
{
    return w->theta && w->eq_th && row->group > 0 && !(w->group_equal & SEM_EQ_RESIDUALS);
}

/* Rows -> matrix targets and parameters; residual variances of the items
 * become computed values (delta parameterization) or 1 (theta) but where
 * theta_free(). */
static int wls_map(wls *w, cx_error *err)
{
    const sem_partable *pt = w->pt;
    size_t nr = pt->n_rows;
    int *newid = cx_calloc(pt->n_free + 2, sizeof *newid, err);
    if (!newid)
        return CX_ENOMEM;
    for (size_t k = 0; k <= pt->n_free + 1; k++)
        newid[k] = -1;
    int rc = CX_OK;
    for (size_t r = 0; r < nr && rc == CX_OK; r++) {
        const sem_param *row = &pt->rows[r];
        w->par[r] = -1;
        if (row->op > SEM_OP_THRESHOLD || row->op == SEM_OP_THRESHOLD ||
            row->op == SEM_OP_INTERCEPT) {
            rc = cx_error_set(err, CX_EUSAGE,
                              "'%s %s %s' is not supported with ordered items yet (thresholds "
                              "are added by cxfit; no intercepts, := or constraints)",
                              row->lhs, sem_op_string(row->op), row->rhs);
            break;
        }
        rc = sem_model_target(&w->mod, row->lhs, row->op, row->rhs, row->group, &w->t[r], err);
        if (rc != CX_OK)
            break;
        int ov = sem_model_ov_index(&w->mod, row->lhs);
        w->resvar[r] = row->op == SEM_OP_COVARIANCE && ov >= 0 && strcmp(row->lhs, row->rhs) == 0;
        if (ov >= 0 && w->mod.ov_node[ov] >= 0)
            rc = cx_error_set(err, CX_EUSAGE,
                              "ordered item '%s' in a regression or covariance with a latent "
                              "variable is not supported yet",
                              row->lhs);
        if (row->free > 0 && (!w->resvar[r] || theta_free(w, row))) {
            if (newid[row->free] < 0)
                newid[row->free] = (int)w->qm++;
            w->par[r] = newid[row->free];
        }
    }
    free(newid);
    return rc;
}

static int wls_alloc(wls *w, cx_error *err)
{
    size_t nr = w->pt->n_rows, G = w->G;
    w->t = cx_calloc(nr + 1, sizeof *w->t, err);
    w->par = cx_calloc(nr + 1, sizeof *w->par, err);
    w->resvar = cx_calloc(nr + 1, sizeof *w->resvar, err);
    w->ng = cx_calloc(G, sizeof *w->ng, err);
    if (!w->t || !w->par || !w->resvar || !w->ng)
        return CX_ENOMEM;
    int rc = wls_map(w, err);
    if (rc != CX_OK)
        return rc;
    w->th_at = w->qm;
    w->scale_at = w->th_at + (w->eq_th ? 1 : G) * w->nth;
    w->mean_at = w->scale_at + (w->eq_th && !w->theta ? (G - 1) * w->p : 0);
    w->q = w->mean_at + (w->free_means ? (G - 1) * w->m : 0);
    w->sobs = cx_calloc(G * w->dim, sizeof *w->sobs, err);
    w->vd = cx_calloc(G * w->dim, sizeof *w->vd, err);
    w->mvec = cx_calloc(G * w->dim, sizeof *w->mvec, err);
    w->delta = cx_calloc(G * w->dim * w->q + 1, sizeof *w->delta, err);
    w->dsig = cx_calloc(w->p * w->p, sizeof *w->dsig, err);
    w->dmu = cx_calloc(w->p, sizeof *w->dmu, err);
    w->x = cx_calloc(w->q + 1, sizeof *w->x, err);
    w->deltas = cx_calloc(w->p, sizeof *w->deltas, err);
    w->dl = cx_calloc(G * w->p, sizeof *w->dl, err);
    w->ddl = cx_calloc(w->p, sizeof *w->ddl, err);
    w->thv = cx_calloc(G * w->p, sizeof *w->thv, err);
    return w->sobs && w->vd && w->mvec && w->delta && w->dsig && w->dmu && w->x && w->deltas &&
                   w->dl && w->thv && w->ddl
               ? CX_OK
               : CX_ENOMEM;
}

/* Group g's sample vector and DWLS weights. */
static int wls_sample(wls *w, size_t g, cx_error *err)
{
    const sem_ord_stats *s = w->s[g];
    double *so = w->sobs + g * w->dim, *vd = w->vd + g * w->dim;
    if (s->p != w->p || s->nth != w->nth)
        return cx_error_set(err, CX_EUSAGE,
                            "group %zu: the ordered items have other numbers of categories than "
                            "in group 1 (every category must occur in every group)",
                            g + 1);
    for (size_t i = 0; i < w->p; i++)
        if (s->ncat[i] != w->s[0]->ncat[i])
            return cx_error_set(err, CX_EUSAGE,
                                "ordered item '%s' has %zu categories in group %zu but %zu in "
                                "group 1 (every category must occur in every group)",
                                w->pt->ov_names[i], s->ncat[i], g + 1, w->s[0]->ncat[i]);
    memcpy(so, s->th, w->nth * sizeof(double));
    size_t k = 0;
    for (size_t j = 0; j + 1 < w->p; j++)
        for (size_t i = j + 1; i < w->p; i++, k++)
            so[w->nth + k] = s->rho[i * w->p + j];
    for (size_t d = 0; d < w->dim; d++) {
        double gm = s->gamma[d * w->dim + d];
        if (!(gm > 0) || !isfinite(gm))
            return cx_error_set(err, CX_EFAIL,
                                "the asymptotic variance of a sample statistic is not positive");
        vd[d] = 1.0 / gm;
    }
    w->ng[g] = s->n;
    w->n += s->n;
    return CX_OK;
}

static int wls_setup(wls *w, const sem_partable *pt, const sem_ord_stats *const *s,
                     unsigned group_equal, int theta, cx_error *err)
{
    memset(w, 0, sizeof *w);
    w->pt = pt;
    w->s = s;
    w->G = pt->n_groups;
    w->theta = theta;
    w->group_equal = group_equal;
    w->eq_th = (group_equal & SEM_EQ_THRESHOLDS) && w->G > 1;
    /* lavaan frees the latent means of groups 2..G with equal thresholds,
     * unless group_equal also holds the means equal (to group 1's 0) */
    w->free_means = w->eq_th && !(group_equal & SEM_EQ_MEANS);
    int rc = sem_model_init(&w->mod, pt, err);
    if (rc != CX_OK)
        return rc;
    w->p = w->mod.p;
    w->m = w->mod.m;
    if (w->p != s[0]->p)
        return cx_error_set(err, CX_EFAIL, "ordinal statistics do not match the model");
    w->nth = s[0]->nth;
    w->npair = s[0]->npair;
    w->dim = s[0]->dim;
    if ((rc = wls_alloc(w, err)) != CX_OK)
        return rc;
    for (size_t g = 0; g < w->G && rc == CX_OK; g++)
        rc = wls_sample(w, g, err);
    return rc;
}

static size_t th_param(const wls *w, size_t g, size_t k)
{
    return w->th_at + (w->eq_th ? 0 : g * w->nth) + k;
}

/* Scale factor delta_i of group g at the last wls_implied(). */
static double scale_of(const wls *w, size_t g, size_t i)
{
    return w->dl[g * w->p + i];
}

/* The scale factors: delta, free in groups 2..G with equal thresholds
 * (else 1); theta, 1 / sqrt(diag(Sigma)) (NaN where not positive). */
static void wls_scales(wls *w, const double *x)
{
    for (size_t g = 0; g < w->G; g++)
        for (size_t i = 0; i < w->p; i++) {
            double sii = w->mod.grp[g].sigma[i * w->p + i];
            w->dl[g * w->p + i] = w->theta            ? (sii > 0 ? 1.0 / sqrt(sii) : NAN)
                                  : w->eq_th && g > 0 ? x[w->scale_at + (g - 1) * w->p + i]
                                                      : 1.0;
        }
}

/* Matrices at x (delta: residual variances of the items 0, Sigma's
 * off-diagonal does not depend on them; theta: their parameters or 1)
 * and the model moments of every group. */
static int wls_implied(wls *w, const double *x, cx_error *err)
{
    sem_model_clear(&w->mod);
    for (size_t r = 0; r < w->pt->n_rows; r++) {
        const sem_param *row = &w->pt->rows[r];
        double v = w->par[r] >= 0               ? x[w->par[r]]
                   : w->resvar[r]               ? (w->theta ? 1.0 : 0.0)
                   : isfinite(row->fixed_value) ? row->fixed_value
                                                : 0.0;
        sem_model_set(&w->mod, &w->t[r], v);
        if (w->resvar[r]) {
            int i = sem_model_ov_index(&w->mod, row->lhs);
            w->thv[(size_t)row->group * w->p + (size_t)i] = v;
        }
    }
    for (size_t g = 1; w->free_means && g < w->G; g++)
        for (size_t f = 0; f < w->m; f++)
            w->mod.grp[g].alpha[f] = x[w->mean_at + (g - 1) * w->m + f];
    int rc = sem_model_implied(&w->mod, err);
    if (rc != CX_OK)
        return rc;
    wls_scales(w, x);
    for (size_t g = 0; g < w->G; g++) {
        const double *sig = w->mod.grp[g].sigma, *mu = w->mod.grp[g].mu;
        double *m = w->mvec + g * w->dim;
        for (size_t i = 0; i < w->p; i++) {
            double dl = scale_of(w, g, i);
            for (size_t k = w->s[0]->th0[i]; k < w->s[0]->th0[i + 1]; k++)
                m[k] = dl * (x[th_param(w, g, k)] - mu[i]);
        }
        size_t k = 0;
        for (size_t j = 0; j + 1 < w->p; j++)
            for (size_t i = j + 1; i < w->p; i++, k++)
                m[w->nth + k] = scale_of(w, g, i) * scale_of(w, g, j) * sig[i * w->p + j];
    }
    return CX_OK;
}

/* c_g = f_g (N_g - 1) / N_g = (N_g - 1) / N */
static double wls_c(const wls *w, size_t g)
{
    return (w->ng[g] - 1.0) / w->n;
}

static int wls_value(const double *x, double *f, void *data, cx_error *err)
{
    wls *w = data;
    int rc = wls_implied(w, x, err);
    if (rc != CX_OK)
        return rc;
    double total = 0;
    for (size_t g = 0; g < w->G; g++) {
        const double *so = w->sobs + g * w->dim, *m = w->mvec + g * w->dim,
                     *vd = w->vd + g * w->dim;
        double s = 0;
        for (size_t d = 0; d < w->dim; d++) {
            double r = so[d] - m[d];
            s += vd[d] * r * r;
        }
        total += 0.5 * wls_c(w, g) * s;
    }
    /* theta: a step that makes an item's variance non-positive is no
     * model; the line search backs off from a non-finite value */
    *f = isfinite(total) ? total : INFINITY;
    return CX_OK;
}

/* Delta_g = d m_g / d theta (dim x q, row-major) at the current matrices. */
static void wls_delta_group(wls *w, const double *x, size_t g)
{
    size_t q = w->q, p = w->p, nth = w->nth;
    double *D = w->delta + g * w->dim * q;
    const double *sig = w->mod.grp[g].sigma, *mu = w->mod.grp[g].mu;
    const size_t *th0 = w->s[0]->th0;
    memset(D, 0, w->dim * q * sizeof(double));
    for (size_t i = 0; i < p; i++)
        w->deltas[i] = scale_of(w, g, i);
    for (size_t i = 0; i < p; i++)
        for (size_t k = th0[i]; k < th0[i + 1]; k++) {
            D[k * q + th_param(w, g, k)] = w->deltas[i];
            if (w->eq_th && g > 0 && !w->theta) /* d / d delta_i */
                D[k * q + w->scale_at + (g - 1) * p + i] = x[th_param(w, g, k)] - mu[i];
        }
    if (w->eq_th && g > 0 && !w->theta) {
        size_t k = 0;
        for (size_t j = 0; j + 1 < p; j++)
            for (size_t i = j + 1; i < p; i++, k++) {
                double *row = D + (nth + k) * q + w->scale_at + (g - 1) * p;
                row[i] += w->deltas[j] * sig[i * p + j];
                row[j] += w->deltas[i] * sig[i * p + j];
            }
    }
    if (w->free_means && g > 0) { /* d / d alpha_f */
        for (size_t f = 0; f < w->m; f++) {
            sem_target t = {SEM_MAT_ALPHA, (int)g, (int)f, 0};
            memset(w->dmu, 0, p * sizeof(double));
            sem_model_add_derivative(&w->mod, &t, 1.0, w->dsig, w->dmu);
            for (size_t i = 0; i < p; i++)
                for (size_t kk = th0[i]; kk < th0[i + 1]; kk++)
                    D[kk * q + w->mean_at + (g - 1) * w->m + f] -= w->deltas[i] * w->dmu[i];
        }
    }
    for (size_t r = 0; r < w->pt->n_rows; r++) {
        if (w->par[r] < 0 || w->t[r].group != (int)g)
            continue;
        memset(w->dsig, 0, p * p * sizeof(double));
        memset(w->dmu, 0, p * sizeof(double));
        sem_model_add_derivative(&w->mod, &w->t[r], 1.0, w->dsig, w->dmu);
        size_t col = (size_t)w->par[r];
        /* theta: d delta_i = -1/2 delta_i^3 d Sigma_ii */
        for (size_t i = 0; i < p; i++)
            w->ddl[i] = w->theta ? -0.5 * pow(w->deltas[i], 3) * w->dsig[i * p + i] : 0.0;
        for (size_t i = 0; i < p; i++)
            for (size_t k = th0[i]; k < th0[i + 1]; k++)
                D[k * q + col] += -w->deltas[i] * w->dmu[i] +
                                  (x[th_param(w, g, k)] - mu[i]) * w->ddl[i];
        size_t k = 0;
        for (size_t j = 0; j + 1 < p; j++)
            for (size_t i = j + 1; i < p; i++, k++)
                D[(nth + k) * q + col] +=
                    w->deltas[i] * w->deltas[j] * w->dsig[i * p + j] +
                    sig[i * p + j] * (w->deltas[j] * w->ddl[i] + w->deltas[i] * w->ddl[j]);
    }
}

static void wls_delta(wls *w, const double *x)
{
    for (size_t g = 0; g < w->G; g++)
        wls_delta_group(w, x, g);
}

static int wls_derivatives(const double *x, double *grad, double *curv, void *data, cx_error *err)
{
    (void)err;
    wls *w = data;
    size_t q = w->q;
    wls_delta(w, x);
    memset(grad, 0, q * sizeof(double));
    memset(curv, 0, q * q * sizeof(double));
    for (size_t g = 0; g < w->G; g++) {
        double c = wls_c(w, g);
        const double *so = w->sobs + g * w->dim, *m = w->mvec + g * w->dim,
                     *vd = w->vd + g * w->dim;
        for (size_t d = 0; d < w->dim; d++) {
            const double *row = w->delta + (g * w->dim + d) * q;
            cblas_daxpy((int)q, -c * vd[d] * (so[d] - m[d]), row, 1, grad, 1);
            cblas_dsyr(CblasRowMajor, CblasLower, (int)q, c * vd[d], row, 1, curv, (int)q);
        }
    }
    return CX_OK;
}

/* ---- start values ------------------------------------------------------ */

/* Standardized loading of the marker (first indicator) of factor f from
 * the polychorics: lambda_m^2 = r_mj r_mk / r_jk averaged over pairs. */
static double marker_loading(const wls *w, const int *ind, size_t n)
{
    const double *R = w->s[0]->rho;
    size_t p = w->p;
    if (n < 2)
        return 0.7;
    if (n == 2)
        return sqrt(fmin(0.9, fmax(0.1, fabs(R[(size_t)ind[0] * p + (size_t)ind[1]]))));
    double sum = 0;
    size_t cnt = 0;
    for (size_t a = 1; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            double rjk = R[(size_t)ind[a] * p + (size_t)ind[b]];
            if (fabs(rjk) > 0.05) {
                sum += R[(size_t)ind[0] * p + (size_t)ind[a]] *
                       R[(size_t)ind[0] * p + (size_t)ind[b]] / rjk;
                cnt++;
            }
        }
    double l2 = cnt ? sum / (double)cnt : 0.5;
    return sqrt(fmin(0.9, fmax(0.1, l2)));
}

static void wls_start(wls *w)
{
    const sem_partable *pt = w->pt;
    int *ind = calloc(w->p + 1, sizeof *ind);
    double *std = calloc(w->p + 1, sizeof *std);
    for (size_t r = 0; r < pt->n_rows; r++)
        if (w->par[r] >= 0)
            w->x[w->par[r]] = 0.0;
    for (size_t f = 0; ind && std && f < pt->n_lv; f++) {
        size_t n = 0;
        int marker_free = 0;
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            int ov = sem_model_ov_index(&w->mod, row->rhs);
            /* group 1's indicators (every group has the same ones) */
            if (row->op == SEM_OP_LOADING && row->group == 0 &&
                strcmp(row->lhs, pt->lv_names[f]) == 0 && ov >= 0 && n < w->p) {
                if (n == 0)
                    marker_free = w->par[r] >= 0;
                ind[n++] = ov;
            }
        }
        if (n == 0)
            continue;
        double lm = marker_loading(w, ind, n);
        for (size_t a = 0; a < n; a++)
            std[a] = a == 0 ? lm : w->s[0]->rho[(size_t)ind[0] * w->p + (size_t)ind[a]] / lm;
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            if (w->par[r] < 0)
                continue;
            if (row->op == SEM_OP_LOADING && strcmp(row->lhs, pt->lv_names[f]) == 0) {
                int ov = sem_model_ov_index(&w->mod, row->rhs);
                for (size_t a = 0; a < n; a++)
                    if (ind[a] == ov)
                        w->x[w->par[r]] = marker_free ? std[a] : std[a] / lm;
            }
            if (row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, pt->lv_names[f]) == 0 &&
                strcmp(row->rhs, row->lhs) == 0)
                w->x[w->par[r]] = marker_free ? 1.0 : lm * lm;
        }
    }
    for (size_t g = 0; g < (w->eq_th ? 1 : w->G); g++)
        memcpy(w->x + th_param(w, g, 0), w->s[g]->th, w->nth * sizeof(double));
    for (size_t k = w->scale_at; k < w->mean_at; k++)
        w->x[k] = 1.0;
    for (size_t r = 0; r < pt->n_rows; r++)
        if (w->resvar[r] && w->par[r] >= 0)
            w->x[w->par[r]] = 1.0;
    free(ind);
    free(std);
}

/* Theta: the start values above are on the correlation scale; the
 * thresholds become tau = th / delta at them, so that the model's
 * thresholds start at the sample's. */
static int wls_start_theta(wls *w, cx_error *err)
{
    if (!w->theta)
        return CX_OK;
    int rc = wls_implied(w, w->x, err);
    for (size_t g = 0; rc == CX_OK && g < (w->eq_th ? 1 : w->G); g++)
        for (size_t i = 0; i < w->p; i++)
            for (size_t k = w->s[0]->th0[i]; k < w->s[0]->th0[i + 1]; k++)
                if (isfinite(w->dl[g * w->p + i]))
                    w->x[th_param(w, g, k)] /= w->dl[g * w->p + i];
    return rc;
}

/* ---- after the fit ------------------------------------------------------ */

/* Symmetric positive-definite inverse in place (n x n, row-major). */
static int spd_inverse(double *a, size_t n)
{
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0)
        return CX_EFAIL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            a[i * n + j] = a[j * n + i];
    return CX_OK;
}

typedef struct wls_test {
    double fmin, chisq, df, tr1, tr2;   /* model                      */
    double chisq_b, df_b, tr1_b, tr2_b; /* baseline (independence)    */
    /* robust measures (lav_fit_catml_dwls): the catML statistic at the
     * estimates, its df and c.hat, and the baseline's */
    double xx3, df3, chat3, xx3_b, df3_b, chat3_b;
} wls_test;

/* Baseline (independence) model: thresholds saturated, correlations 0, in
 * every group, so U = bdiag(0, f_g W_c) and U Gamma has the blocks
 * W_c Gamma_cc of each group. */
static void wls_baseline(const wls *w, wls_test *t)
{
    size_t D = w->dim, o = w->nth;
    t->chisq_b = t->tr1_b = t->tr2_b = 0;
    for (size_t g = 0; g < w->G; g++) {
        const double *G = w->s[g]->gamma, *vd = w->vd + g * D, *so = w->sobs + g * D;
        for (size_t a = o; a < D; a++) {
            t->chisq_b += (w->ng[g] - 1.0) * vd[a] * so[a] * so[a];
            t->tr1_b += vd[a] * G[a * D + a];
            for (size_t b = o; b < D; b++)
                t->tr2_b += vd[a] * G[a * D + b] * vd[b] * G[b * D + a];
        }
    }
    t->df_b = (double)(w->G * w->npair);
}

typedef struct sandwich_ws {
    double *E, *B, *WD, *GWD, *U, *UG, *T1, *EB;
} sandwich_ws;

static void sandwich_free(sandwich_ws *s)
{
    free(s->E), free(s->B), free(s->WD), free(s->GWD);
    free(s->U), free(s->UG), free(s->T1), free(s->EB);
}

/* traces of U Gamma and (U Gamma)^2 over the stacked groups */
static void wls_traces(const wls *w, sandwich_ws *s, wls_test *t)
{
    size_t q = w->q, D = w->dim, DA = w->G * D;
    /* WD = V Delta (DA x q): f_g W_g Delta_g stacked */
    for (size_t g = 0; g < w->G; g++) {
        double fg = w->ng[g] / w->n;
        for (size_t d = 0; d < D; d++)
            for (size_t j = 0; j < q; j++)
                s->WD[(g * D + d) * q + j] = fg * w->vd[g * D + d] * w->delta[(g * D + d) * q + j];
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)DA, (int)q, (int)q, 1.0, s->WD,
                (int)q, s->E, (int)q, 0.0, s->T1, (int)q);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)DA, (int)DA, (int)q, -1.0, s->T1,
                (int)q, s->WD, (int)q, 0.0, s->U, (int)DA);
    for (size_t g = 0; g < w->G; g++)
        for (size_t d = 0; d < D; d++)
            s->U[(g * D + d) * DA + g * D + d] += w->ng[g] / w->n * w->vd[g * D + d];
    /* U Gamma_all, Gamma_all = bdiag(Gamma_g / f_g): one column block per group */
    for (size_t g = 0; g < w->G; g++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)DA, (int)D, (int)D,
                    w->n / w->ng[g], s->U + g * D, (int)DA, w->s[g]->gamma, (int)D, 0.0,
                    s->UG + g * D, (int)DA);
    t->tr1 = t->tr2 = 0;
    for (size_t a = 0; a < DA; a++) {
        t->tr1 += s->UG[a * DA + a];
        for (size_t b = 0; b < DA; b++)
            t->tr2 += s->UG[a * DA + b] * s->UG[b * DA + a];
    }
}

/* Group g's implied correlation matrix (unit diagonal) into out (p x p). */
static void implied_cor(const wls *w, size_t g, double *out)
{
    size_t p = w->p, k = 0;
    const double *m = w->mvec + g * w->dim + w->nth;
    for (size_t i = 0; i < p; i++)
        out[i * p + i] = 1.0;
    for (size_t j = 0; j + 1 < p; j++)
        for (size_t i = j + 1; i < p; i++, k++)
            out[i * p + j] = out[j * p + i] = m[k];
}

/* F_ML of the correlation structure of group g, log|Sigma| - log|R| +
 * tr(R Sigma^-1) - p, with Sigma^-1 left in sinv; CX_EFAIL when R or
 * Sigma is not positive definite (lavaan then reports NA). */
static int catml_group(const wls *w, size_t g, double *sinv, double *work, double *f,
                       double *logdet_r)
{
    size_t p = w->p;
    memcpy(work, w->s[g]->rho, p * p * sizeof(double));
    double ldr, lds;
    if (sem_log_det_spd(work, p, &ldr) != CX_OK)
        return CX_EFAIL;
    implied_cor(w, g, sinv);
    memcpy(work, sinv, p * p * sizeof(double));
    if (sem_log_det_spd(work, p, &lds) != CX_OK || spd_inverse(sinv, p) != CX_OK)
        return CX_EFAIL;
    double tr = 0;
    for (size_t a = 0; a < p * p; a++)
        tr += w->s[g]->rho[a] * sinv[a];
    *f = lds - ldr + tr - (double)p;
    *logdet_r = ldr;
    return CX_OK;
}

/* lavaan's robust CFI/TLI/RMSEA ingredients for ordinal data (Savalei
 * 2021; lav_fit_catml_dwls): the ML discrepancy of the correlation
 * structure at the DWLS estimates, XX3 = sum_g N_g F_ML,g, and
 * c.hat3 = tr(A' V A Gamma_c) / df3 with A = I - Delta_c E^-1 Delta_c' W_c,
 * V the normal-theory weight of the correlations (Sigma^-1_ik
 * Sigma^-1_jl + Sigma^-1_il Sigma^-1_jk), all stacked over groups with
 * f_g weights; baseline: XX3_b = -sum_g N_g log|R_g|,
 * c.hat3_b = tr(Gamma_c) / df3_b. */
static int wls_catml(const wls *w, const double *einv, wls_test *t, cx_error *err)
{
    size_t p = w->p, P = w->npair, G = w->G, q = w->q, C = G * P, D = w->dim;
    double *sinv = cx_calloc(p * p, sizeof(double), err),
           *work = cx_calloc(p * p, sizeof(double), err);
    double *V = cx_calloc(C * C, sizeof(double), err), *A = cx_calloc(C * C, sizeof(double), err);
    double *Dc = cx_calloc(C * q, sizeof(double), err), *T = cx_calloc(C * q, sizeof(double), err);
    double *M = cx_calloc(C * C, sizeof(double), err);
    int rc = sinv && work && V && A && Dc && T && M ? CX_OK : CX_ENOMEM;
    t->xx3 = t->xx3_b = 0;
    size_t npar3 = w->qm + (w->eq_th && !w->theta ? (G - 1) * p : 0); /* no thresholds, means */
    t->df3 = (double)C - (double)npar3;
    t->df3_b = (double)C;
    /* lavaan 0.6's catML model cannot hold free scale factors (~*~; theta:
     * free residual variances of the items): its robust measures are NA
     * for such models, and so are cxfit's */
    if (w->eq_th) {
        t->xx3 = t->chat3 = t->xx3_b = t->chat3_b = NAN;
        goto done;
    }
    for (size_t g = 0; rc == CX_OK && g < G; g++) {
        double f, ldr, fg = w->ng[g] / w->n;
        if (catml_group(w, g, sinv, work, &f, &ldr) != CX_OK) {
            t->xx3 = t->chat3 = t->xx3_b = t->chat3_b = NAN;
            goto done;
        }
        t->xx3 += w->ng[g] * f;
        t->xx3_b -= w->ng[g] * ldr;
        size_t a = 0;
        for (size_t j = 0; j + 1 < p; j++)
            for (size_t i = j + 1; i < p; i++, a++) {
                size_t b = 0;
                for (size_t l = 0; l + 1 < p; l++)
                    for (size_t k = l + 1; k < p; k++, b++)
                        V[(g * P + a) * C + g * P + b] = fg * (sinv[i * p + k] * sinv[j * p + l] +
                                                               sinv[i * p + l] * sinv[j * p + k]);
            }
        memcpy(Dc + g * P * q, w->delta + (g * D + w->nth) * q, P * q * sizeof(double));
    }
    if (rc == CX_OK) {
        /* A = I - Dc E^-1 Dc' Wc */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)C, (int)q, (int)q, 1.0, Dc,
                    (int)q, einv, (int)q, 0.0, T, (int)q);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)C, (int)C, (int)q, -1.0, T,
                    (int)q, Dc, (int)q, 0.0, A, (int)C);
        for (size_t g = 0; g < G; g++)
            for (size_t b = 0; b < P; b++) {
                double wc = w->ng[g] / w->n * w->vd[g * D + w->nth + b];
                for (size_t r = 0; r < C; r++)
                    A[r * C + g * P + b] *= wc;
            }
        for (size_t r = 0; r < C; r++)
            A[r * C + r] += 1.0;
        /* M = A' V A;  ks = tr(M Gamma_c) */
        double *VA = T; /* C x q is too small: reuse M for V A, then A' (V A) into V */
        (void)VA;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)C, (int)C, (int)C, 1.0, V,
                    (int)C, A, (int)C, 0.0, M, (int)C);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)C, (int)C, (int)C, 1.0, A, (int)C,
                    M, (int)C, 0.0, V, (int)C);
        double ks = 0, kbs = 0;
        for (size_t g = 0; g < G; g++) {
            const double *Gm = w->s[g]->gamma;
            double inv_fg = w->n / w->ng[g];
            for (size_t a = 0; a < P; a++) {
                kbs += inv_fg * Gm[(w->nth + a) * D + w->nth + a];
                for (size_t b = 0; b < P; b++)
                    ks +=
                        V[(g * P + a) * C + g * P + b] * inv_fg * Gm[(w->nth + b) * D + w->nth + a];
            }
        }
        t->chat3 = ks / t->df3;
        t->chat3_b = kbs / t->df3_b;
    }
done:
    free(sinv), free(work), free(V), free(A), free(Dc), free(T), free(M);
    return rc;
}

/* vcov (q x q) and the traces of U Gamma, from Delta at the estimate. */
static int wls_sandwich(wls *w, double *vcov, wls_test *t, cx_error *err)
{
    size_t q = w->q, D = w->dim, DA = w->G * D;
    sandwich_ws s;
    s.E = cx_calloc(q * q, sizeof(double), err);
    s.B = cx_calloc(q * q, sizeof(double), err);
    s.EB = cx_calloc(q * q, sizeof(double), err);
    s.WD = cx_calloc(DA * q, sizeof(double), err);
    s.GWD = cx_calloc(D * q, sizeof(double), err);
    s.T1 = cx_calloc(DA * q, sizeof(double), err);
    s.U = cx_calloc(DA * DA, sizeof(double), err);
    s.UG = cx_calloc(DA * DA, sizeof(double), err);
    int rc = s.E && s.B && s.EB && s.WD && s.GWD && s.T1 && s.U && s.UG ? CX_OK : CX_ENOMEM;
    for (size_t g = 0; rc == CX_OK && g < w->G; g++) {
        /* E += f_g Delta' W Delta;  B += f_g (W Delta)' Gamma (W Delta) */
        double fg = w->ng[g] / w->n;
        const double *Dg = w->delta + g * D * q;
        double *WD = s.WD; /* group g's W Delta, D x q */
        for (size_t d = 0; d < D; d++)
            for (size_t j = 0; j < q; j++)
                WD[d * q + j] = w->vd[g * D + d] * Dg[d * q + j];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q, (int)q, (int)D, fg, Dg, (int)q,
                    WD, (int)q, 1.0, s.E, (int)q);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)D, (int)q, (int)D, 1.0,
                    w->s[g]->gamma, (int)D, WD, (int)q, 0.0, s.GWD, (int)q);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q, (int)q, (int)D, fg, WD, (int)q,
                    s.GWD, (int)q, 1.0, s.B, (int)q);
    }
    if (rc == CX_OK && spd_inverse(s.E, q) != CX_OK)
        rc = cx_error_set(err, CX_EFAIL,
                          "the WLS information matrix is singular (is the model identified?)");
    if (rc == CX_OK) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q, 1.0, s.E,
                    (int)q, s.B, (int)q, 0.0, s.EB, (int)q);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q, (int)q,
                    1.0 / (w->n - (double)w->G), s.EB, (int)q, s.E, (int)q, 0.0, vcov, (int)q);
        wls_traces(w, &s, t);
        wls_baseline(w, t);
        rc = wls_catml(w, s.E, t, err);
    }
    sandwich_free(&s);
    return rc;
}

/* ---- fit measures -------------------------------------------------------- */

static void put(sem_fit *f, const char *name, double v)
{
    sem_measure *m = realloc(f->measures, (f->n_measures + 1) * sizeof *m);
    if (!m)
        return;
    f->measures = m;
    snprintf(m[f->n_measures].name, SEM_MEASURE_NAME_MAX, "%s", name);
    m[f->n_measures++].value = v;
}

static double pchisq_upper(double x, double df)
{
    return df > 0 ? gsl_cdf_chisq_Q(x, df) : NAN;
}

/* lav_fit_cfi / tli / nnfi / rfi / nfi / pnfi / ifi / rni (c.hat = 1). */
static void incremental(sem_fit *f, const char *suffix, double x2, double df, double x2b,
                        double dfb, int others)
{
    char name[SEM_MEASURE_NAME_MAX];
    double t1 = fmax(x2 - df, 0), t2 = fmax(fmax(x2 - df, x2b - dfb), 0);
    double cfi = (fabs(t1) < 1e-8 && fabs(t2) < 1e-8) ? 1 : 1 - t1 / t2;
    double u1 = (x2 - df) * dfb, u2 = (x2b - dfb) * df;
    double tli = df > 0 && fabs(u2) > 0 ? 1 - u1 / u2 : 1;
    if (!others) {
        snprintf(name, sizeof name, "cfi%s", suffix), put(f, name, cfi);
        snprintf(name, sizeof name, "tli%s", suffix), put(f, name, tli);
        return;
    }
    double rfi = df > dfb ? NAN
                 : df > 0 && dfb > 0
                     ? ((x2b / dfb - x2 / df) < 0 ? 1 : (x2b / dfb - x2 / df) / (x2b / dfb))
                     : 1;
    double nfi = df > dfb ? NAN : df > 0 ? (x2b - x2) / x2b : 1;
    double pnfi = dfb > 0 && x2b > 0 ? (df / dfb) * (x2b - x2) / x2b : NAN;
    double ifi = (x2b - df) < 0 ? 1 : (x2b - x2) / (x2b - df);
    double rni = 1 - (x2 - df) / (x2b - dfb);
    const char *names[] = {"nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"};
    const double v[] = {tli, rfi, nfi, pnfi, ifi, rni};
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof name, "%s%s", names[k], suffix);
        put(f, name, v[k]);
    }
}

/* lambda with pchisq(x2, df, lambda) = target, by bisection (lavaan's
 * uniroot, to a tighter tolerance). */
static double ncp_root(double x2, double df, double target, double hi)
{
    double lo = 0;
    for (int it = 0; it < 200 && hi - lo > 1e-12 * fmax(1, hi); it++) {
        double mid = 0.5 * (lo + hi);
        if (sem_pnchisq(x2, df, mid) - target > 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* lav_fit_rmsea, _ci, _closefit, _notclosefit with N = N - G (lavaan's
 * ntotal for non-ML estimators). */
static void rmsea(sem_fit *f, const char *suffix, double x2, double df, double n, double G,
                  int full)
{
    char name[SEM_MEASURE_NAME_MAX];
    double sg = sqrt(G);
    double r = df > 0 ? sqrt(fmax(x2 / n / df - 1.0 / n, 0)) * sg : 0;
    double lo = 0, hi = 0;
    if (df >= 1 && sem_pnchisq(x2, df, 0) - 0.95 >= 0)
        lo = sqrt(ncp_root(x2, df, 0.95, x2) / (n * df)) * sg;
    double nr = fmax(n, 4 * x2);
    if (df >= 1 && !(sem_pnchisq(x2, df, nr) - 0.05 > 0) && !(sem_pnchisq(x2, df, 0) - 0.05 < 0))
        hi = sqrt(ncp_root(x2, df, 0.05, nr) / (n * df)) * sg;
    snprintf(name, sizeof name, "rmsea%s", suffix), put(f, name, r);
    snprintf(name, sizeof name, "rmsea.ci.lower%s", suffix), put(f, name, lo);
    snprintf(name, sizeof name, "rmsea.ci.upper%s", suffix), put(f, name, hi);
    if (full)
        put(f, "rmsea.ci.level", 0.90);
    snprintf(name, sizeof name, "rmsea.pvalue%s", suffix);
    put(f, name, df > 0 ? 1 - sem_pnchisq(x2, df, n * df * 0.05 * 0.05 / G) : NAN);
    if (full)
        put(f, "rmsea.close.h0", 0.05);
    snprintf(name, sizeof name, "rmsea.notclose.pvalue%s", suffix);
    put(f, name, df > 0 ? sem_pnchisq(x2, df, n * df * 0.08 * 0.08 / G) : NAN);
    if (full)
        put(f, "rmsea.notclose.h0", 0.08);
}

/* lav_fit_cfi / tli / rni with c.hat (the robust versions): the DWLS
 * model's and baseline's df with the catML statistics. */
static void robust_incremental(sem_fit *f, const wls_test *t, int others)
{
    double c = t->chat3, cb = t->chat3_b, x = t->xx3, xb = t->xx3_b, df = t->df, dfb = t->df_b;
    double t1 = fmax(x - c * df, 0), t2 = fmax(fmax(x - c * df, xb - cb * dfb), 0);
    double cfi = (fabs(t1) < 1e-8 && fabs(t2) < 1e-8) ? 1 : 1 - t1 / t2;
    double u1 = (x - c * df) * dfb, u2 = (xb - cb * dfb) * df;
    double tli = df > 0 && fabs(u2) > 0 ? 1 - u1 / u2 : 1;
    double rni = 1 - (x - c * df) / (xb - cb * dfb);
    if (!isfinite(x) || !isfinite(c))
        cfi = tli = rni = NAN;
    if (!others) {
        put(f, "cfi.robust", cfi);
        put(f, "tli.robust", tli);
    } else {
        put(f, "nnfi.robust", tli);
        put(f, "rni.robust", rni);
    }
}

/* rmsea.robust: XX3 on df3 with c.hat3; its CI and close-fit p-values
 * from XX3 / c.hat3 (lav_fit_rmsea_lavobject). */
static void robust_rmsea(sem_fit *f, const wls_test *t, double n, double G)
{
    double x = t->xx3, df = t->df3, c = t->chat3, xs = x / c, sg = sqrt(G);
    if (!isfinite(x) || !isfinite(c)) {
        const char *names[] = {"rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust",
                               "rmsea.pvalue.robust", "rmsea.notclose.pvalue.robust"};
        for (int k = 0; k < 5; k++)
            put(f, names[k], NAN);
        return;
    }
    put(f, "rmsea.robust", df > 0 ? sqrt(fmax(x / n / df - c / n, 0)) * sg : 0);
    double lo = 0, hi = 0;
    if (df >= 1 && sem_pnchisq(xs, df, 0) - 0.95 >= 0)
        lo = sqrt(c * ncp_root(xs, df, 0.95, xs) / (n * df)) * sg;
    double nr = fmax(n, 4 * xs);
    if (df >= 1 && !(sem_pnchisq(xs, df, nr) - 0.05 > 0) && !(sem_pnchisq(xs, df, 0) - 0.05 < 0))
        hi = sqrt(c * ncp_root(xs, df, 0.05, nr) / (n * df)) * sg;
    put(f, "rmsea.ci.lower.robust", lo);
    put(f, "rmsea.ci.upper.robust", hi);
    put(f, "rmsea.pvalue.robust",
        df > 0 ? 1 - sem_pnchisq(xs, df, n * df / c * 0.05 * 0.05 / G) : NAN);
    put(f, "rmsea.notclose.pvalue.robust",
        df > 0 ? sem_pnchisq(xs, df, n * df / c * 0.08 * 0.08 / G) : NAN);
}

/* Residual summaries of group g (lav_residuals_summary for correlations):
 * sums of squared residuals of the correlations (diagonal residuals are 0)
 * and of the thresholds. */
static void residual_sums(const wls *w, size_t g, double *cor, double *th)
{
    const double *so = w->sobs + g * w->dim, *m = w->mvec + g * w->dim;
    *cor = *th = 0;
    for (size_t d = 0; d < w->dim; d++) {
        double r = so[d] - m[d];
        *(d < w->nth ? th : cor) += r * r;
    }
}

/* rmr/srmr/crmr (lavaan: srmr = srmr_bentler_nomean for ordinal data; the
 * "total" versions add the thresholds' residuals), N_g-weighted over
 * groups; srmr_mplus is NA for ordinal data in lavaan. */
static void residual_measures(const wls *w, sem_fit *f)
{
    double p = (double)w->p, vech = p * (p + 1) / 2, off = p * (p - 1) / 2, nth = (double)w->nth;
    double rmr = 0, rmr_nm = 0, crmr = 0, crmr_nm = 0;
    for (size_t g = 0; g < w->G; g++) {
        double c, t, fg = w->ng[g] / w->n;
        residual_sums(w, g, &c, &t);
        rmr_nm += fg * sqrt(c / vech);
        rmr += fg * sqrt((c + t) / (vech + nth));
        crmr_nm += fg * sqrt(c / off);
        crmr += fg * sqrt((c + t) / (off + nth));
    }
    put(f, "rmr", rmr);
    put(f, "rmr_nomean", rmr_nm);
    put(f, "srmr", rmr_nm);
    put(f, "srmr_bentler", rmr);
    put(f, "srmr_bentler_nomean", rmr_nm);
    put(f, "crmr", crmr);
    put(f, "crmr_nomean", crmr_nm);
    put(f, "srmr_mplus", NAN);
    put(f, "srmr_mplus_nomean", NAN);
}

/* cn, gfi/agfi/pgfi (DWLS weights), mfi and wrmr as lav_fit_measures. */
static void other_measures(const wls *w, const wls_test *t, sem_fit *f)
{
    double n = w->n - (double)w->G, df = t->df, x2 = t->chisq;
    double nel = (double)(w->G * w->dim);
    put(f, "cn_05", gsl_cdf_chisq_Pinv(0.95, df) / (x2 / n) + 1);
    put(f, "cn_01", gsl_cdf_chisq_Pinv(0.99, df) / (x2 / n) + 1);
    double gfi = 0;
    for (size_t g = 0; g < w->G; g++) {
        const double *so = w->sobs + g * w->dim, *m = w->mvec + g * w->dim,
                     *vd = w->vd + g * w->dim;
        double t1 = 0, t2 = 0;
        for (size_t d = 0; d < w->dim; d++) {
            t1 += vd[d] * (so[d] - m[d]) * (so[d] - m[d]);
            t2 += vd[d] * so[d] * so[d];
        }
        gfi += w->ng[g] / w->n * (1 - t1 / t2);
    }
    put(f, "gfi", gfi);
    put(f, "agfi", df > 0 ? 1 - (nel / df) * (1 - gfi) : 1);
    put(f, "pgfi", (df / nel) * gfi);
    put(f, "mfi", exp(-0.5 * (x2 - df) / n));
    put(f, "wrmr", sqrt(x2 / (double)w->dim));
}

static void wls_measures(const wls *w, const wls_test *t, sem_fit *f)
{
    double a = sqrt(t->df / t->tr2), shift = t->df - a * t->tr1;
    double xs = a * t->chisq + shift;
    double ab = sqrt(t->df_b / t->tr2_b), xbs = ab * t->chisq_b + t->df_b - ab * t->tr1_b;
    put(f, "npar", (double)w->q);
    put(f, "fmin", t->fmin);
    put(f, "chisq", t->chisq);
    put(f, "df", t->df);
    put(f, "pvalue", pchisq_upper(t->chisq, t->df));
    put(f, "chisq.scaled", xs);
    put(f, "df.scaled", t->df);
    put(f, "pvalue.scaled", pchisq_upper(xs, t->df));
    put(f, "chisq.scaling.factor", 1 / a);
    put(f, "baseline.chisq", t->chisq_b);
    put(f, "baseline.df", t->df_b);
    put(f, "baseline.pvalue", pchisq_upper(t->chisq_b, t->df_b));
    put(f, "baseline.chisq.scaled", xbs);
    put(f, "baseline.df.scaled", t->df_b);
    put(f, "baseline.pvalue.scaled", pchisq_upper(xbs, t->df_b));
    put(f, "baseline.chisq.scaling.factor", 1 / ab);
    incremental(f, "", t->chisq, t->df, t->chisq_b, t->df_b, 0);
    incremental(f, ".scaled", xs, t->df, xbs, t->df_b, 0);
    robust_incremental(f, t, 0);
    incremental(f, "", t->chisq, t->df, t->chisq_b, t->df_b, 1);
    incremental(f, ".scaled", xs, t->df, xbs, t->df_b, 1);
    robust_incremental(f, t, 1);
    double G = (double)w->G, n = w->n - G;
    rmsea(f, "", t->chisq, t->df, n, G, 1);
    /* scaled.shifted: rmsea.scaled is the scaled statistic on df */
    rmsea(f, ".scaled", xs, t->df, n, G, 0);
    robust_rmsea(f, t, n, G);
    residual_measures(w, f);
    other_measures(w, t, f);
}

/* ---- the written rows ----------------------------------------------------- */

static int add_row(sem_wls_result *o, const char *lhs, const char *op, const char *rhs, int group,
                   double est, double se, double std_lv, double std_all, cx_error *err)
{
    sem_wls_row *r = realloc(o->rows, (o->n_rows + 1) * sizeof *r);
    if (!r)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    o->rows = r;
    r += o->n_rows++;
    snprintf(r->lhs, sizeof r->lhs, "%s", lhs);
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->rhs, sizeof r->rhs, "%s", rhs);
    r->group = group;
    r->est = est, r->se = se, r->std_lv = std_lv, r->std_all = std_all;
    return CX_OK;
}

static int is_latent(const wls *w, const char *name)
{
    return sem_model_ov_index(&w->mod, name) < 0;
}

/* Implied SD in group g: latent sqrt(V_ff); observed 1 / delta_i (the
 * diagonal of Lambda V Lambda' + Theta). */
static double node_sd(const wls *w, size_t g, const char *name)
{
    int ov = sem_model_ov_index(&w->mod, name);
    if (ov >= 0)
        return 1.0 / scale_of(w, g, (size_t)ov);
    int node = sem_model_node_index(&w->mod, name);
    if (node < 0)
        return 1.0;
    size_t M = w->mod.n_nodes;
    return sqrt(w->mod.grp[g].v[(size_t)node * M + (size_t)node]);
}

/* Residual variance of item i in group g: delta, 1/delta^2 - (communality);
 * theta, its parameter (or 1). */
static double item_resid(const wls *w, size_t g, size_t i)
{
    double dl = scale_of(w, g, i);
    return w->theta ? w->thv[g * w->p + i] : 1.0 / (dl * dl) - w->mod.grp[g].sigma[i * w->p + i];
}

/* lavaan's std.lv (latent variables standardized) and std.all (observed
 * ones too) of one partable row; a residual covariance of two items is
 * standardized by their residual variances, as lav_standardize_all. */
static void standardize(const wls *w, const sem_param *row, double est, double *lv, double *all)
{
    size_t g = (size_t)row->group;
    double sl = node_sd(w, g, row->lhs), sr = row->rhs[0] ? node_sd(w, g, row->rhs) : 1.0;
    int ll = is_latent(w, row->lhs), lr = row->rhs[0] && is_latent(w, row->rhs);
    double lv_l = ll ? sl : 1.0, lv_r = lr ? sr : 1.0;
    switch (row->op) {
    case SEM_OP_LOADING: /* latent =~ observed */
        *lv = est * lv_l;
        *all = est * sl / sr;
        break;
    case SEM_OP_REGRESSION:
        *lv = est * lv_r / lv_l;
        *all = est * sr / sl;
        break;
    case SEM_OP_COVARIANCE:
        *lv = est / (lv_l * lv_r);
        *all = est / (sl * sr);
        if (!ll && !lr && strcmp(row->lhs, row->rhs) != 0) {
            int i = sem_model_ov_index(&w->mod, row->lhs), j = sem_model_ov_index(&w->mod, row->rhs);
            *all = est / sqrt(item_resid(w, g, (size_t)i) * item_resid(w, g, (size_t)j));
        }
        break;
    default:
        *lv = *all = est;
    }
}

static double param_se(const wls *w, const double *vcov, size_t id)
{
    return sqrt(vcov[id * w->q + id]);
}

static int group_rows(wls *w, size_t g, const double *vcov, sem_wls_result *o, cx_error *err)
{
    const sem_partable *pt = w->pt;
    const double *sig = w->mod.grp[g].sigma;
    int rc = CX_OK;
    /* =~ and ~ rows, thresholds, ~~ rows, ~*~, ~1: lavaan's order */
    for (int pass = 0; pass < 3 && rc == CX_OK; pass++) {
        if (pass == 1) {
            for (size_t i = 0; i < w->p && rc == CX_OK; i++) {
                double dl = scale_of(w, g, i);
                for (size_t k = 0; k + 1 < w->s[g]->ncat[i] && rc == CX_OK; k++) {
                    size_t id = th_param(w, g, w->s[0]->th0[i] + k);
                    char t[32];
                    snprintf(t, sizeof t, "t%zu", k + 1);
                    rc = add_row(o, pt->ov_names[i], "|", t, (int)g, w->x[id],
                                 param_se(w, vcov, id), w->x[id], w->x[id] * dl, err);
                }
            }
            continue;
        }
        for (size_t r = 0; r < pt->n_rows && rc == CX_OK; r++) {
            const sem_param *row = &pt->rows[r];
            int first = row->op == SEM_OP_LOADING || row->op == SEM_OP_REGRESSION;
            if ((pass == 0) != first || row->group != (int)g)
                continue;
            double est, se = 0;
            if (w->par[r] >= 0) {
                est = w->x[w->par[r]];
                se = param_se(w, vcov, (size_t)w->par[r]);
            } else if (w->resvar[r] && !w->theta) {
                int i = sem_model_ov_index(&w->mod, row->lhs);
                double dl = scale_of(w, g, (size_t)i);
                est = 1.0 / (dl * dl) - sig[(size_t)i * w->p + (size_t)i];
            } else if (w->resvar[r]) {
                est = 1.0;
            } else {
                est = isfinite(row->fixed_value) ? row->fixed_value : 0.0;
            }
            double lv, all;
            standardize(w, row, est, &lv, &all);
            rc = add_row(o, row->lhs, sem_op_string(row->op), row->rhs, (int)g, est, se, lv, all,
                         err);
        }
    }
    for (size_t i = 0; i < w->p && rc == CX_OK; i++) {
        int free_scale = w->eq_th && g > 0 && !w->theta;
        size_t id = free_scale ? w->scale_at + (g - 1) * w->p + i : 0;
        double est = scale_of(w, g, i);
        rc = add_row(o, pt->ov_names[i], "~*~", pt->ov_names[i], (int)g, est,
                     free_scale ? param_se(w, vcov, id) : 0, est, 1.0, err);
    }
    for (size_t i = 0; i < w->p && rc == CX_OK; i++)
        rc = add_row(o, pt->ov_names[i], "~1", "", (int)g, 0, 0, 0, 0, err);
    for (size_t f = 0; f < pt->n_lv && rc == CX_OK; f++) {
        int free_mean = w->free_means && g > 0;
        size_t id = free_mean ? w->mean_at + (g - 1) * w->m + f : 0;
        double est = free_mean ? w->x[id] : 0.0, sd = node_sd(w, g, pt->lv_names[f]);
        rc = add_row(o, pt->lv_names[f], "~1", "", (int)g, est,
                     free_mean ? param_se(w, vcov, id) : 0, est / sd, est / sd, err);
    }
    return rc;
}

/* R^2 of every item (1 - delta^2 residual variance) and endogenous
 * latent, per group. */
static int wls_r2(const wls *w, sem_fit *f)
{
    size_t n = w->G * (w->p + w->pt->n_lv);
    f->r2_names = calloc(n + 1, sizeof *f->r2_names);
    f->r2_group = calloc(n + 1, sizeof *f->r2_group);
    f->r2 = calloc(n + 1, sizeof *f->r2);
    if (!f->r2_names || !f->r2_group || !f->r2)
        return CX_ENOMEM;
    size_t M = w->mod.n_nodes;
    for (size_t g = 0; g < w->G; g++) {
        const double *sig = w->mod.grp[g].sigma;
        size_t first = f->n_r2;
        for (size_t i = 0; i < w->p; i++) {
            double dl = scale_of(w, g, i);
            snprintf(f->r2_names[f->n_r2], SEM_NAME_MAX, "%s", w->pt->ov_names[i]);
            f->r2_group[f->n_r2] = (int)g;
            f->r2[f->n_r2++] = dl * dl * (sig[i * w->p + i] - w->thv[g * w->p + i]);
        }
        /* an endogenous latent: 1 - psi_ff / V_ff */
        for (size_t r = 0; r < w->pt->n_rows; r++) {
            const sem_param *row = &w->pt->rows[r];
            if (row->op != SEM_OP_REGRESSION || row->group != (int)g || !is_latent(w, row->lhs))
                continue;
            int node = sem_model_node_index(&w->mod, row->lhs), seen = 0;
            for (size_t k = first + w->p; k < f->n_r2; k++)
                seen |= strcmp(f->r2_names[k], row->lhs) == 0;
            if (seen || node < 0)
                continue;
            size_t a = (size_t)node;
            snprintf(f->r2_names[f->n_r2], SEM_NAME_MAX, "%s", row->lhs);
            f->r2_group[f->n_r2] = (int)g;
            f->r2[f->n_r2++] = 1 - w->mod.grp[g].psi[a * M + a] / w->mod.grp[g].v[a * M + a];
        }
    }
    return CX_OK;
}

void sem_wls_result_clear(sem_wls_result *r)
{
    free(r->rows);
    free(r->delta);
    free(r->info);
    sem_fit_free(r->fit);
    memset(r, 0, sizeof *r);
}

/* Delta at the estimates and the information E = sum_g f_g Delta_g' W_g
 * Delta_g, for sem_wls_diff_test. */
static int keep_for_difference(const wls *w, const wls_test *t, sem_wls_result *out, cx_error *err)
{
    size_t q = w->q, D = w->dim, R = w->G * D;
    out->q = q;
    out->n_moments = R;
    out->chisq = t->chisq;
    out->df = t->df;
    out->delta = cx_calloc(R * q + 1, sizeof(double), err);
    out->info = cx_calloc(q * q + 1, sizeof(double), err);
    if (!out->delta || !out->info)
        return CX_ENOMEM;
    memcpy(out->delta, w->delta, R * q * sizeof(double));
    for (size_t g = 0; g < w->G; g++) {
        double fg = w->ng[g] / w->n;
        for (size_t d = 0; d < D; d++)
            cblas_dsyr(CblasRowMajor, CblasLower, (int)q, fg * w->vd[g * D + d],
                       w->delta + (g * D + d) * q, 1, out->info, (int)q);
    }
    for (size_t i = 0; i < q; i++)
        for (size_t j = i + 1; j < q; j++)
            out->info[i * q + j] = out->info[j * q + i];
    return CX_OK;
}

static void heywood(const wls *w, sem_fit *fit)
{
    for (size_t r = 0; r < w->pt->n_rows; r++)
        if (w->resvar[r]) {
            size_t g = (size_t)w->pt->rows[r].group;
            int i = sem_model_ov_index(&w->mod, w->pt->rows[r].lhs);
            double dl = scale_of(w, g, (size_t)i);
            double resid = w->theta ? w->thv[g * w->p + (size_t)i]
                                    : 1.0 / (dl * dl) -
                                          w->mod.grp[g].sigma[(size_t)i * w->p + (size_t)i];
            if (resid < 0)
                sem_fit_warn(fit,
                             "Heywood case: the residual variance of '%s' (group %zu) is "
                             "negative",
                             w->pt->rows[r].lhs, g + 1);
        }
}

int sem_wls_fit(const sem_partable *pt, const sem_ord_stats *const *s, unsigned group_equal,
                int theta, int max_iter, sem_wls_result *out, cx_error *err)
{
    memset(out, 0, sizeof *out);
    wls w;
    int rc = wls_setup(&w, pt, s, group_equal, theta, err);
    double *vcov = NULL;
    cx_optimizer *opt = NULL;
    out->fit = sem_fit_alloc();
    if (rc == CX_OK && !out->fit)
        rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK) {
        wls_start(&w);
        rc = wls_start_theta(&w, err);
    }
    if (rc == CX_OK) {
        opt = cx_optimizer_alloc(w.q, err);
        vcov = cx_calloc(w.q * w.q + 1, sizeof *vcov, err);
        rc = opt && vcov ? CX_OK : CX_ENOMEM;
    }
    cx_opt_report rep = {0};
    if (rc == CX_OK) {
        cx_objective obj = {w.q, CX_OPT_MINIMIZE, wls_value, wls_derivatives, &w};
        cx_opt_options o = {.max_iter = max_iter > 0 ? max_iter : 1000, .gtol = 1e-10};
        cx_opt_status st = cx_optimizer_run(opt, &obj, w.x, &o, &rep, err);
        if (st == CX_OPT_EVAL_FAILED)
            rc = err->code ? err->code : CX_EFAIL;
        out->fit->converged = st == CX_OPT_CONVERGED;
        out->fit->iterations = rep.iterations;
        if (!out->fit->converged)
            sem_fit_warn(out->fit, "the DWLS fit did not converge (%s)", cx_opt_status_text(st));
    }
    wls_test t = {0};
    if (rc == CX_OK) {
        double f;
        rc = wls_value(w.x, &f, &w, err);
        wls_delta(&w, w.x);
        t.fmin = f;
        t.chisq = 2.0 * w.n * f;
        t.df = (double)(w.G * w.dim) - (double)w.q;
        out->fit->fmin = f;
    }
    if (rc == CX_OK)
        rc = wls_sandwich(&w, vcov, &t, err);
    if (rc == CX_OK)
        wls_measures(&w, &t, out->fit);
    if (rc == CX_OK)
        rc = keep_for_difference(&w, &t, out, err);
    for (size_t g = 0; rc == CX_OK && g < w.G; g++)
        rc = group_rows(&w, g, vcov, out, err);
    if (rc == CX_OK && wls_r2(&w, out->fit) != CX_OK)
        rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK)
        heywood(&w, out->fit);
    cx_optimizer_free(opt);
    free(vcov);
    wls_free(&w);
    return rc;
}

/* ---- the scaled difference test (see wls.h) ------------------------------ */

typedef struct diff_ws {
    double *K, *H, *sv, *U, *At, *P, *T, *APA, *M, *DM, *B, *UG;
} diff_ws;

static void diff_ws_free(diff_ws *d)
{
    free(d->K), free(d->H), free(d->sv), free(d->U), free(d->At), free(d->P);
    free(d->T), free(d->APA), free(d->M), free(d->DM), free(d->B), free(d->UG);
}

static int diff_ws_alloc(diff_ws *d, size_t q1, size_t q0, size_t R, cx_error *err)
{
    memset(d, 0, sizeof *d);
    d->K = cx_calloc(q1 * q1, sizeof(double), err);
    d->H = cx_calloc(q1 * q0 + 1, sizeof(double), err);
    d->sv = cx_calloc(q1 + q0 + 1, sizeof(double), err);
    d->U = cx_calloc(q1 * q1, sizeof(double), err);
    d->At = cx_calloc(q1 * q1, sizeof(double), err);
    d->P = cx_calloc(q1 * q1, sizeof(double), err);
    d->T = cx_calloc(q1 * q1, sizeof(double), err);
    d->APA = cx_calloc(q1 * q1, sizeof(double), err);
    d->M = cx_calloc(q1 * q1, sizeof(double), err);
    d->DM = cx_calloc(R * q1, sizeof(double), err);
    d->B = cx_calloc(R * R, sizeof(double), err);
    d->UG = cx_calloc(R * R, sizeof(double), err);
    return d->K && d->H && d->sv && d->U && d->At && d->P && d->T && d->APA && d->M && d->DM &&
                   d->B && d->UG
               ? CX_OK
               : CX_ENOMEM;
}

/* H = (D1' D1)^-1 D1' D0 (lavaan: MASS::ginv(Delta1) %*% Delta0, the same
 * for a Delta1 of full column rank); then A' (q1 x k, returned in At, k
 * its number of columns) spans the orthogonal complement of H's columns:
 * the left singular vectors of H beyond its rank (lavaan takes them from
 * a QR decomposition; the test is invariant to the basis). */
static int diff_complement(const sem_wls_result *m1, const sem_wls_result *m0, diff_ws *d,
                           size_t *k, cx_error *err)
{
    size_t q1 = m1->q, q0 = m0->q, R = m1->n_moments;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q1, (int)q1, (int)R, 1.0, m1->delta,
                (int)q1, m1->delta, (int)q1, 0.0, d->K, (int)q1);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)q1, (int)q0, (int)R, 1.0, m1->delta,
                (int)q1, m0->delta, (int)q0, 0.0, d->H, (int)q0);
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)q1, (lapack_int)q0, d->K, (lapack_int)q1,
                      d->H, (lapack_int)q0) != 0)
        return cx_error_set(err, CX_EFAIL,
                            "difference test: the less constrained model's Delta is not of full "
                            "column rank");
    double *superb = d->T; /* min(q1, q0) - 1 values, scratch */
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'N', (lapack_int)q1, (lapack_int)q0, d->H,
                       (lapack_int)q0, d->sv, d->U, (lapack_int)q1, NULL, 1, superb) != 0)
        return cx_error_set(err, CX_EFAIL, "difference test: the SVD of H failed");
    size_t n_sv = q1 < q0 ? q1 : q0, rank = 0;
    for (size_t j = 0; j < n_sv; j++) /* R's qr() rank tolerance */
        rank += d->sv[j] > 1e-7 * d->sv[0];
    *k = q1 - rank;
    for (size_t i = 0; i < q1; i++)
        for (size_t j = 0; j < *k; j++)
            d->At[i * *k + j] = d->U[i * q1 + rank + j];
    return CX_OK;
}

/* M = P^-1 A' (A P^-1 A')^-1 A P^-1 (q1 x q1) into d->M. */
static int diff_projection(const sem_wls_result *m1, diff_ws *d, size_t k, cx_error *err)
{
    size_t q = m1->q;
    memcpy(d->P, m1->info, q * q * sizeof(double));
    if (spd_inverse(d->P, q) != CX_OK)
        return cx_error_set(err, CX_EFAIL,
                            "difference test: the information matrix of the less constrained "
                            "model is singular");
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)k, (int)q, 1.0, d->P,
                (int)q, d->At, (int)k, 0.0, d->T, (int)k); /* T = P^-1 A' */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)q, 1.0, d->At,
                (int)k, d->T, (int)k, 0.0, d->APA, (int)k);
    if (spd_inverse(d->APA, k) != CX_OK)
        return cx_error_set(err, CX_EFAIL,
                            "difference test: A P^-1 A' is singular (are the models nested?)");
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)k, (int)k, 1.0, d->T,
                (int)k, d->APA, (int)k, 0.0, d->U, (int)k);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)q, (int)q, (int)k, 1.0, d->U, (int)k,
                d->T, (int)k, 0.0, d->M, (int)q);
    return CX_OK;
}

/* tr(U Gamma_f) and tr((U Gamma_f)^2), U = V Delta_1 M Delta_1' V. */
static void diff_traces(const sem_ord_stats *const *s, size_t G, const sem_wls_result *m1,
                        diff_ws *d, double *tr1, double *tr2)
{
    size_t q = m1->q, R = m1->n_moments, D = R / G;
    double n = 0;
    for (size_t g = 0; g < G; g++)
        n += s[g]->n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)R, (int)q, (int)q, 1.0, m1->delta,
                (int)q, d->M, (int)q, 0.0, d->DM, (int)q);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)R, (int)q, 1.0, d->DM,
                (int)q, m1->delta, (int)q, 0.0, d->B, (int)R);
    for (size_t a = 0; a < R; a++) /* B := V B V, W_g = diag(Gamma_g)^-1 */
        for (size_t b = 0; b < R; b++)
            d->B[a * R + b] /= s[a / D]->gamma[(a % D) * D + a % D] *
                               s[b / D]->gamma[(b % D) * D + b % D];
    for (size_t g = 0; g < G; g++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)R, (int)D, (int)D,
                    s[g]->n / n, d->B + g * D, (int)R, s[g]->gamma, (int)D, 0.0, d->UG + g * D,
                    (int)R);
    *tr1 = *tr2 = 0;
    for (size_t a = 0; a < R; a++) {
        *tr1 += d->UG[a * R + a];
        for (size_t b = 0; b < R; b++)
            *tr2 += d->UG[a * R + b] * d->UG[b * R + a];
    }
}

int sem_wls_diff_test(const sem_ord_stats *const *s, size_t n_groups, const sem_wls_result *m1,
                      const sem_wls_result *m0, sem_wls_diff *out, cx_error *err)
{
    out->df = m0->df - m1->df;
    out->stat = m0->chisq - m1->chisq;
    out->pvalue = out->a = out->b = NAN;
    if (out->df == 0)
        return CX_OK;
    if (!m1->delta || !m0->delta || m1->n_moments != m0->n_moments || out->df < 0 ||
        m1->n_moments % n_groups != 0)
        return cx_error_set(err, CX_EFAIL, "difference test: the fits are not nested");
    diff_ws d;
    size_t k = 0;
    int rc = diff_ws_alloc(&d, m1->q, m0->q, m1->n_moments, err);
    if (rc == CX_OK)
        rc = diff_complement(m1, m0, &d, &k, err);
    if (rc == CX_OK && k == 0)
        rc = cx_error_set(err, CX_EFAIL, "difference test: the models are not nested");
    if (rc == CX_OK)
        rc = diff_projection(m1, &d, k, err);
    if (rc == CX_OK) {
        double tr1, tr2;
        diff_traces(s, n_groups, m1, &d, &tr1, &tr2);
        out->a = sqrt(out->df / tr2);
        out->b = out->df - out->a * tr1;
        out->stat = out->a * (m0->chisq - m1->chisq) + out->b;
        out->pvalue = gsl_cdf_chisq_Q(fmax(out->stat, 0.0), out->df);
    }
    diff_ws_free(&d);
    return rc;
}
