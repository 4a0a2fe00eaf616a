/*
 * robust.c — estimator MLR (lavaan 0.6.14's estimator = "MLR" for complete
 * data): robust Huber-White standard errors and the traces of the
 * Yuan-Bentler (Mplus variant) scaled test statistic.
 *
 * lavaan's MLR sets se = "robust.huber.white", test = "yuan.bentler.mplus",
 * information = "observed" (observed.information = "hessian") and the meat
 * information.meat = "first.order" with h1.information = "structured".
 *
 * Sandwich (lav_model_nvcov_robust_sandwich):
 *   vcov = E^-1 B0 E^-1 / N,
 * E the Hessian of fmin by lav_model_hessian's four-point central
 * differences of the analytic gradient (h = 1e-6), B0 = sum_g w_g B0_g the
 * first-order information: B0_g = (1/N_g) sum_i g_i g_i' with g_i the
 * casewise score of the normal loglikelihood at the implied moments,
 *   g_ik = -tr(Sigma^-1 dSigma_k)/2 + r_i' Sigma^-1 dSigma_k Sigma^-1 r_i / 2
 *          + r_i' Sigma^-1 dmu_k,           r_i = x_i - mu
 * (mu = the sample mean without a meanstructure).  With d_i = x_i - xbar
 * and c = xbar - mu, g_ik = alpha_k + v_k' z_i, z_i = [d_i ; vech(d_i d_i')],
 *   alpha_k = a_k + b_k'c + c'C_k c/2,  v_k = [b_k + C_k c ; w C_k / 2],
 * a_k = -tr(Sigma^-1 dSigma_k)/2, b_k = Sigma^-1 dmu_k,
 * C_k = Sigma^-1 dSigma_k Sigma^-1, w = 1 on the diagonal and 2 off it, so
 *   B0_g = alpha alpha' + alpha (V m)' + (V m) alpha' + V M V'
 * with m = E z = [0 ; vech(S)] and M = E z z' (the sample's `fourth`,
 * accumulated in a second streaming pass): the data are never held.
 * Weights (lavaan's sampling.weights: each score times the normalized
 * w_i, B0_g = (1/N_g) sum_i w_i^2 g_i g_i'; frequency weights: w_i):
 *   B0_g = c0 alpha alpha' + alpha (V m)' + (V m) alpha' + V M V'
 * with c0 = (1/N_g) sum w^k, m = (1/N_g) sum w^k z_i, M = (1/N_g) sum w^k
 * z_i z_i' (sem_sample's fourth_w2, fourth_first, fourth).
 *
 * Scaled test (lav_test_yuan_bentler_mplus_trace):
 *   trace.UGamma = sum_g tr(A1_g^-1 B1_g) - sum_g w_g tr(B0_g E^-1)
 * with A1, B1 the unstructured h1 informations; B1 = A1 Gamma A1, so
 * tr(A1^-1 B1) = tr(Gamma A1) = p [means] + (b2p - p)/2, b2p = Mardia's
 * multivariate kurtosis E (d' S^-1 d)^2.  For the independence model
 * (Sigma = diag S, mu = xbar, its Hessian diagonal) the h0 trace is
 * sum_j [1 (means) + (m4_j / s_jj^2 - 1) / 2].
 * Weighted, with q_i = d_i' S^-1 d_i, the per-row h1 term s_i' A1^-1 s_i
 * is q_i [means] + (q_i^2 - 2 q_i + p) / 2, so with Q1 = E_w q = tr(S^-1 C)
 * (C the vech part of m) and Q2 = E_w q^2 (from M):
 *   tr(A1^-1 B1) = Q1 [means] + (Q2 - 2 Q1 + p c0) / 2,
 * and the independence model's h0 trace per variable is
 *   C_jj / s_jj [means] + (M_jj,jj / s_jj^2 - 2 C_jj / s_jj + c0) / 2;
 * unweighted (c0 = 1, C = S) both reduce to the formulas above.
 */
#include "est_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* lav_model_hessian: H[, j] = (g(x - 2h) - 8 g(x - h) + 8 g(x + h) - g(x + 2h)) / 12h,
 * then (H + H') / 2. */
int sem_est_numeric_hessian(sem_est *e, double *ds, double *dm, double *hess, cx_error *err)
{
    size_t q = e->q;
    const double h = 1e-6, step[4] = {-2.0, -1.0, 1.0, 2.0}, coef[4] = {1.0, -8.0, 8.0, -1.0};
    double *x = cx_malloc(sizeof(double) * (3 * q + 1), err);
    if (!x)
        return CX_ENOMEM;
    double *xs = x + q, *g = xs + q;
    memcpy(x, e->x, sizeof(double) * q);
    memset(hess, 0, sizeof(double) * q * q);
    int rc = CX_OK;
    for (size_t j = 0; j < q && rc == CX_OK; j++)
        for (int s = 0; s < 4 && rc == CX_OK; s++) {
            double f;
            memcpy(xs, x, sizeof(double) * q);
            xs[j] += step[s] * h;
            rc = sem_est_evaluate(e, xs, &f, err);
            if (rc != CX_OK)
                break;
            sem_est_delta(e, e->entries, e->n_entries, q, ds, dm);
            sem_est_gradient(e, ds, dm, q, g);
            for (size_t k = 0; k < q; k++)
                hess[k * q + j] += coef[s] * g[k] / (12.0 * h);
        }
    for (size_t k = 0; k < q; k++)
        for (size_t l = 0; l < k; l++)
            hess[k * q + l] = hess[l * q + k] = 0.5 * (hess[k * q + l] + hess[l * q + k]);
    /* back to the estimate: implied moments and Delta there */
    double f;
    if (rc == CX_OK)
        rc = sem_est_evaluate(e, x, &f, err);
    if (rc == CX_OK)
        sem_est_delta(e, e->entries, e->n_entries, q, ds, dm);
    free(x);
    return rc;
}

/* General inverse by LU (lavaan uses solve()): the Hessian need not be
 * positive definite away from a proper solution. */
static int invert(double *a, size_t q, cx_error *err)
{
    lapack_int *ipiv = cx_malloc(sizeof(lapack_int) * (q + 1), err);
    if (!ipiv)
        return CX_ENOMEM;
    int rc = CX_OK;
    if (LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)q, (lapack_int)q, a, (lapack_int)q, ipiv) !=
            0 ||
        LAPACKE_dgetri(LAPACK_ROW_MAJOR, (lapack_int)q, a, (lapack_int)q, ipiv) != 0)
        rc = cx_error_set(err, CX_EFAIL,
                          "the observed information matrix (Hessian) is singular: robust "
                          "standard errors cannot be computed");
    free(ipiv);
    return rc;
}

/* alpha (q) and V (q x pstar) of group g, from Delta at the estimate. */
static void score_coefficients(const sem_est *e, size_t g, const double *ds, const double *dm,
                               double *alpha, double *v, double *work)
{
    size_t p = e->p, q = e->q, ps = sem_pstar(p), pp = p * p;
    const double *si = e->sinv + g * pp;
    double *t = work, *cm = t + pp, *c = cm + pp, *b = c + p;
    for (size_t i = 0; i < p; i++)
        c[i] = e->pt->meanstructure ? e->smp[g].mean[i] - e->mod.grp[g].mu[i] : 0.0;
    for (size_t k = 0; k < q; k++) {
        const double *d = ds + (g * q + k) * pp;
        double a = 0.0;
        for (size_t i = 0; i < p; i++) /* t = Sigma^-1 dSigma_k */
            for (size_t j = 0; j < p; j++) {
                double acc = 0.0;
                for (size_t l = 0; l < p; l++)
                    acc += si[i * p + l] * d[l * p + j];
                t[i * p + j] = acc;
            }
        for (size_t i = 0; i < p; i++) {
            a -= 0.5 * t[i * p + i];
            for (size_t j = 0; j < p; j++) { /* C_k = t Sigma^-1 */
                double acc = 0.0;
                for (size_t l = 0; l < p; l++)
                    acc += t[i * p + l] * si[l * p + j];
                cm[i * p + j] = acc;
            }
        }
        for (size_t i = 0; i < p; i++) {
            double acc = 0.0;
            if (e->pt->meanstructure) {
                const double *mk = dm + (g * q + k) * p;
                for (size_t j = 0; j < p; j++)
                    acc += si[i * p + j] * mk[j];
            }
            b[i] = acc;
        }
        double *vk = v + k * ps;
        for (size_t i = 0; i < p; i++) {
            double cc = 0.0;
            for (size_t j = 0; j < p; j++)
                cc += cm[i * p + j] * c[j];
            a += b[i] * c[i] + 0.5 * c[i] * cc;
            vk[i] = b[i] + cc;
            for (size_t j = i; j < p; j++)
                vk[sem_vech_index(p, i, j)] = (i == j ? 0.5 : 1.0) * cm[i * p + j];
        }
        alpha[k] = a;
    }
}

/* B0_g = alpha alpha' + alpha (V m)' + (V m) alpha' + V M V' (q x q). */
static void first_order_group(const sem_est *e, size_t g, const double *alpha, const double *v,
                              double *b0, double *work)
{
    size_t p = e->p, q = e->q, ps = sem_pstar(p);
    const double *mm = e->smp[g].fourth, *s = e->smp[g].cov, *first = e->smp[g].fourth_first;
    double c0 = e->smp[g].fourth_w2 > 0 ? e->smp[g].fourth_w2 : 1.0;
    double *vm = work, *vmm = vm + q; /* V m (q), V M (q x ps) */
    for (size_t k = 0; k < q; k++) {
        const double *vk = v + k * ps;
        double acc = 0.0;
        if (first)
            for (size_t c = 0; c < ps; c++)
                acc += vk[c] * first[c];
        else
            for (size_t i = 0; i < p; i++)
                for (size_t j = i; j < p; j++)
                    acc += vk[sem_vech_index(p, i, j)] * s[i * p + j];
        vm[k] = acc;
        for (size_t c = 0; c < ps; c++) {
            double a = 0.0;
            for (size_t r = 0; r < ps; r++)
                a += vk[r] * mm[r * ps + c];
            vmm[k * ps + c] = a;
        }
    }
    for (size_t k = 0; k < q; k++)
        for (size_t l = 0; l < q; l++) {
            double acc = c0 * alpha[k] * alpha[l] + alpha[k] * vm[l] + vm[k] * alpha[l];
            for (size_t c = 0; c < ps; c++)
                acc += vmm[k * ps + c] * v[l * ps + c];
            b0[k * q + l] = acc;
        }
}

/* tr(A1^-1 B1) of group g (unstructured h1) and the independence model's
 * h0 trace, from the fourth moments (see the header comment).  The
 * fixed.x covariates (x[j] != 0; x NULL: none) are fixed in the
 * independence model too: no h0 term of theirs. */
static int h1_traces(const sem_est *e, size_t g, const unsigned char *x, double *tr_h1,
                     double *tr_base, cx_error *err)
{
    size_t p = e->p, ps = sem_pstar(p);
    const double *mm = e->smp[g].fourth, *s = e->smp[g].cov;
    double *si = cx_malloc(sizeof(double) * (p * p + 1), err);
    if (!si)
        return CX_ENOMEM;
    memcpy(si, s, sizeof(double) * p * p);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, si, (lapack_int)p) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, si, (lapack_int)p) != 0) {
        free(si);
        return cx_error_set(err, CX_EFAIL, "group %zu: the sample covariance matrix is singular",
                            g + 1);
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++)
            si[j * p + i] = si[i * p + j];
    /* b2p = sum_{P,Q} w_P w_Q Sinv_P Sinv_Q M[P,Q] over pairs P, Q;
     * q1 = sum_P w_P Sinv_P C_P */
    const double *first = e->smp[g].fourth_first;
    double c0 = e->smp[g].fourth_w2 > 0 ? e->smp[g].fourth_w2 : 1.0;
    double b2p = 0.0, q1 = 0.0, base = 0.0, means = e->pt->meanstructure ? 1.0 : 0.0;
    for (size_t a = 0; a < p; a++)
        for (size_t b = a; b < p; b++) {
            size_t P = sem_vech_index(p, a, b);
            double wp = (a == b ? 1.0 : 2.0) * si[a * p + b];
            q1 += wp * (first ? first[P] : s[a * p + b]);
            for (size_t c = 0; c < p; c++)
                for (size_t d = c; d < p; d++) {
                    size_t Q = sem_vech_index(p, c, d);
                    b2p += wp * (c == d ? 1.0 : 2.0) * si[c * p + d] * mm[P * ps + Q];
                }
        }
    for (size_t j = 0; j < p; j++) {
        if (x && x[j])
            continue;
        size_t J = sem_vech_index(p, j, j);
        double sjj = s[j * p + j];
        if (first) {
            double cj = first[J] / sjj;
            base += means * cj + 0.5 * (mm[J * ps + J] / (sjj * sjj) - 2.0 * cj + c0);
        } else {
            base += means + 0.5 * (mm[J * ps + J] / (sjj * sjj) - 1.0);
        }
    }
    if (first)
        *tr_h1 = means * q1 + 0.5 * (b2p - 2.0 * q1 + (double)p * c0);
    else
        *tr_h1 = means * (double)p + 0.5 * (b2p - (double)p);
    *tr_base = base;
    free(si);
    return CX_OK;
}

/* ---- fixed.x covariates --------------------------------------------- *
 * With observed exogenous covariates (lavaan's fixed.x = TRUE) their
 * means, variances and covariances are fixed at the sample values.
 * lavaan 0.6.14 then zeroes their rows and columns in the unstructured h1
 * informations of the scaled test (lav_mvnorm_h1_information_expected(),
 * lav_mvnorm_scores_mu_vech_sigma(x.idx)), so the trace runs over the
 * kept moments K (h1.ndat = |K|):
 *   tr(A1_KK^-1 B1_KK),   B1_KK = A1_K. Gamma* A1_.K,
 * A1 the saturated model's expected information at the sample moments
 * (S^-1 for the means; (u_ab u_cd / 4)(Si_ac Si_bd + Si_ad Si_bc) for
 * the pairs, u = 1 on the diagonal and 2 off it).  Gamma* is the
 * covariance of z = [d ; vech(d d')]:
 *  - weighted (lav_mvnorm_h1_information_firstorder with wt: the weighted
 *    scores with the covariates' columns zeroed): Gamma_w = M - f s' -
 *    s f' + c0 s s', s = [0 ; vech S], f, c0 as sem_sample's;
 *  - unweighted (lav_samplestats_Gamma(fixed.x = TRUE)): the covariance
 *    of Z = z(Y) - z(Yhat), Yhat the y columns replaced by their OLS
 *    fit on the covariates (B = S_xx^-1 S_xy), which is linear in z:
 *    Z = L z with L the identity on the kept moments minus
 *      mean y_j:       B_kj on d_xk,
 *      pair (y_j,y_l): B_kj B_ml on d_xk d_xm,
 *      pair (y_j,x_k): B_mj on d_xm d_xk,
 *    and zero rows for the covariates' own moments: Gamma* = L Gamma L'. */

/* Which observed variables are fixed.x covariates (p flags); 1 if any. */
static int exo_variables(const sem_est *e, unsigned char *x)
{
    int any = 0;
    memset(x, 0, e->p);
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        const sem_param *row = &e->pt->rows[r];
        if (!(row->exo && row->free <= 0 && row->op == SEM_OP_COVARIANCE))
            continue;
        for (size_t i = 0; i < e->p; i++)
            if (strcmp(e->pt->ov_names[i], row->lhs) == 0)
                x[i] = 1, any = 1;
    }
    return any;
}

/* The saturated model's expected information at S (si = S^-1), ps x ps. */
static void h1_expected(const double *si, size_t p, double *a1)
{
    size_t ps = sem_pstar(p);
    memset(a1, 0, sizeof(double) * ps * ps);
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            a1[i * ps + j] = si[i * p + j];
    for (size_t a = 0; a < p; a++)
        for (size_t b = a; b < p; b++)
            for (size_t c = 0; c < p; c++)
                for (size_t d = c; d < p; d++) {
                    double u = (a == b ? 1.0 : 2.0) * (c == d ? 1.0 : 2.0) / 4.0;
                    a1[sem_vech_index(p, a, b) * ps + sem_vech_index(p, c, d)] =
                        u * (si[a * p + c] * si[b * p + d] + si[a * p + d] * si[b * p + c]);
                }
}

/* L of the header comment (ps x ps) from the OLS slopes bx (nx x ny) of
 * the y variables yi on the covariates xi. */
static void fixed_x_map(size_t p, const size_t *xi, size_t nx, const size_t *yi, size_t ny,
                        const double *bx, double *l)
{
    size_t ps = sem_pstar(p);
    memset(l, 0, sizeof(double) * ps * ps);
    for (size_t j = 0; j < ny; j++) {
        size_t r = yi[j];
        l[r * ps + r] = 1.0;
        for (size_t k = 0; k < nx; k++)
            l[r * ps + xi[k]] -= bx[k * ny + j];
        for (size_t m = j; m < ny; m++) {
            r = sem_vech_index(p, yi[j], yi[m]);
            l[r * ps + r] = 1.0;
            for (size_t k = 0; k < nx; k++)
                for (size_t n = 0; n < nx; n++)
                    l[r * ps + sem_vech_index(p, xi[k], xi[n])] -=
                        bx[k * ny + j] * bx[n * ny + m];
        }
        for (size_t k = 0; k < nx; k++) {
            r = sem_vech_index(p, yi[j], xi[k]);
            l[r * ps + r] = 1.0;
            for (size_t n = 0; n < nx; n++)
                l[r * ps + sem_vech_index(p, xi[n], xi[k])] -= bx[n * ny + j];
        }
    }
}

/* gam = L gam L' with L for the covariates x (unweighted fixed.x Gamma). */
static int condition_on_x(const double *s, size_t p, const unsigned char *x, double *gam,
                          double *work, cx_error *err)
{
    size_t ps = sem_pstar(p), nx = 0, ny = 0;
    size_t *xi = cx_malloc(sizeof(size_t) * (2 * p + 1), err);
    if (!xi)
        return CX_ENOMEM;
    size_t *yi = xi + p;
    for (size_t i = 0; i < p; i++) {
        if (x[i])
            xi[nx++] = i;
        else
            yi[ny++] = i;
    }
    double *sxx = work, *bx = sxx + nx * nx, *l = bx + nx * ny, *t = l + ps * ps;
    for (size_t k = 0; k < nx; k++) {
        for (size_t n = 0; n < nx; n++)
            sxx[k * nx + n] = s[xi[k] * p + xi[n]];
        for (size_t j = 0; j < ny; j++)
            bx[k * ny + j] = s[xi[k] * p + yi[j]];
    }
    int rc = CX_OK;
    if (ny > 0 && LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)nx, (lapack_int)ny, sxx,
                                (lapack_int)nx, bx, (lapack_int)ny) != 0)
        rc = cx_error_set(err, CX_EFAIL,
                          "the covariates' sample covariance matrix is singular: the robust "
                          "test cannot be computed");
    if (rc == CX_OK) {
        fixed_x_map(p, xi, nx, yi, ny, bx, l);
        int n = (int)ps;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, l, n, gam, n, 0.0, t,
                    n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, t, n, l, n, 0.0, gam,
                    n);
    }
    free(xi);
    return rc;
}

/* tr(A1_KK^-1 B1_KK) of group g and |K| (see above). */
static int h1_trace_fixed_x(const sem_est *e, size_t g, const unsigned char *x, double *tr_h1,
                            double *ndat, cx_error *err)
{
    size_t p = e->p, ps = sem_pstar(p), nk = 0;
    const double *mm = e->smp[g].fourth, *s = e->smp[g].cov, *first = e->smp[g].fourth_first;
    double c0 = e->smp[g].fourth_w2 > 0 ? e->smp[g].fourth_w2 : 1.0;
    double *buf = cx_malloc(sizeof(double) * (2 * p * p + 8 * ps * ps + 2 * ps + 1), err);
    size_t *keep = cx_malloc(sizeof(size_t) * (ps + 1), err);
    if (!buf || !keep) {
        free(buf);
        free(keep);
        return CX_ENOMEM;
    }
    double *si = buf, *a1 = si + p * p, *gam = a1 + ps * ps, *t = gam + ps * ps;
    double *ak = t + ps * ps, *bk = ak + ps * ps, *sv = bk + ps * ps, *work = sv + ps;
    memcpy(si, s, sizeof(double) * p * p);
    int rc = CX_OK;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, si, (lapack_int)p) != 0 ||
        LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, si, (lapack_int)p) != 0)
        rc = cx_error_set(err, CX_EFAIL, "group %zu: the sample covariance matrix is singular",
                          g + 1);
    for (size_t i = 0; rc == CX_OK && i < p; i++)
        for (size_t j = 0; j < i; j++)
            si[j * p + i] = si[i * p + j];
    if (rc == CX_OK) {
        h1_expected(si, p, a1);
        memset(sv, 0, sizeof(double) * ps);
        for (size_t a = 0; a < p; a++)
            for (size_t b = a; b < p; b++)
                sv[sem_vech_index(p, a, b)] = s[a * p + b];
        const double *f = first ? first : sv;
        for (size_t r = 0; r < ps; r++)
            for (size_t c = 0; c < ps; c++)
                gam[r * ps + c] =
                    mm[r * ps + c] - f[r] * sv[c] - sv[r] * f[c] + c0 * sv[r] * sv[c];
        if (!first) /* Gamma of the data made of the residuals on the covariates */
            rc = condition_on_x(s, p, x, gam, work, err);
    }
    if (rc == CX_OK) {
        for (size_t i = 0; e->pt->meanstructure && i < p; i++)
            if (!x[i])
                keep[nk++] = i;
        for (size_t a = 0; a < p; a++)
            for (size_t b = a; b < p; b++)
                if (!(x[a] && x[b]))
                    keep[nk++] = sem_vech_index(p, a, b);
        /* t = Gamma* A1_.K (ps x nk); bk = A1_K. t; ak = A1_KK */
        for (size_t r = 0; r < ps; r++)
            for (size_t c = 0; c < nk; c++) {
                double acc = 0.0;
                for (size_t m = 0; m < ps; m++)
                    acc += gam[r * ps + m] * a1[m * ps + keep[c]];
                t[r * nk + c] = acc;
            }
        for (size_t r = 0; r < nk; r++)
            for (size_t c = 0; c < nk; c++) {
                double acc = 0.0;
                for (size_t m = 0; m < ps; m++)
                    acc += a1[keep[r] * ps + m] * t[m * nk + c];
                bk[r * nk + c] = acc;
                ak[r * nk + c] = a1[keep[r] * ps + keep[c]];
            }
        if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)nk, (lapack_int)nk, ak,
                          (lapack_int)nk, bk, (lapack_int)nk) != 0)
            rc = cx_error_set(err, CX_EFAIL,
                              "group %zu: the saturated model's information is singular: the "
                              "robust test cannot be computed",
                              g + 1);
    }
    *tr_h1 = 0.0;
    for (size_t r = 0; rc == CX_OK && r < nk; r++)
        *tr_h1 += bk[r * nk + r];
    *ndat = (double)nk;
    free(buf);
    free(keep);
    return rc;
}

/* vcov = E^-1 B0 E^-1 / N; trace_h0 = sum_g w_g tr(B0_g E^-1). */
static void sandwich(sem_est *e, const double *einv, const double *b0, double *vcov, double *tmp)
{
    int q = (int)e->q;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, q, q, 1.0, einv, q, b0, q, 0.0, tmp,
                q);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, q, q, 1.0 / e->n_total, tmp, q, einv,
                q, 0.0, vcov, q);
}

int sem_robust_vcov(sem_est *e, double *vcov, sem_robust *rob, cx_error *err)
{
    size_t q = e->q, p = e->p, G = e->n_groups, ps = sem_pstar(p);
    for (size_t g = 0; g < G; g++)
        if (!e->smp[g].fourth)
            return cx_error_set(err, CX_EUSAGE, "estimator MLR needs the fourth moments");
    memset(rob, 0, sizeof *rob);
    double *ds = cx_malloc(sizeof(double) * (G * q * p * p + 1), err);
    double *dm = cx_malloc(sizeof(double) * (G * q * p + 1), err);
    double *einv = cx_malloc(sizeof(double) * (4 * q * q + q + q * ps + 1), err);
    double *work = cx_malloc(sizeof(double) * (2 * p * p + 2 * p + q + q * ps + 1), err);
    int rc = ds && dm && einv && work ? CX_OK : CX_ENOMEM;
    double *b0 = einv + q * q, *b0g = b0 + q * q, *tmp = b0g + q * q, *alpha = tmp + q * q;
    double *v = alpha + q;
    unsigned char *x = cx_malloc(p + 1, err);
    if (rc == CX_OK && !x)
        rc = CX_ENOMEM;
    int fixed_x = rc == CX_OK && exo_variables(e, x);
    if (rc == CX_OK)
        rc = sem_est_numeric_hessian(e, ds, dm, einv, err);
    if (rc == CX_OK)
        rc = invert(einv, q, err);
    if (rc == CX_OK)
        memset(b0, 0, sizeof(double) * q * q);
    for (size_t g = 0; rc == CX_OK && g < G; g++) {
        score_coefficients(e, g, ds, dm, alpha, v, work);
        first_order_group(e, g, alpha, v, b0g, work);
        double tr = 0.0;
        for (size_t k = 0; k < q * q; k++) {
            b0[k] += e->w[g] * b0g[k];
            tr += b0g[k] * einv[k]; /* tr(B0_g E^-1'), E^-1 symmetric */
        }
        rob->trace_h0 += e->w[g] * tr;
        double h1 = 0.0, base = 0.0;
        double ndat = (double)(p * (p + 1) / 2) + (e->pt->meanstructure ? (double)p : 0.0);
        rc = h1_traces(e, g, fixed_x ? x : NULL, &h1, &base, err);
        if (rc == CX_OK && fixed_x)
            rc = h1_trace_fixed_x(e, g, x, &h1, &ndat, err);
        rob->trace_h1 += h1;
        rob->trace_h0_base += base;
        rob->ndat += ndat;
    }
    /* lavaan's scaling.factor.h0 divides by nx.free: free rows, each row
     * of an equality set counted (not the q merged parameters) */
    for (size_t r = 0; r < e->pt->n_rows; r++)
        rob->nx_free += e->row_par[r] >= 0;
    if (rc == CX_OK)
        sandwich(e, einv, b0, vcov, tmp);
    free(ds);
    free(dm);
    free(einv);
    free(work);
    free(x);
    return rc;
}
