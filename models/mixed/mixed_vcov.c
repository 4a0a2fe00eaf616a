/*
 * mixed_vcov.c — Wald standard errors of the variance components.
 *
 * phi = (theta, sigma); -2 logLik(phi) with beta profiled out is
 * mx_pls_minus2ll (REML: the REML log-likelihood).  Its Hessian H at the
 * optimum (central differences with steps 1e-2 and 5e-3 max(|phi_k|, 0.1),
 * Richardson-extrapolated) gives the
 * asymptotic covariance 2 H^-1 of phi-hat; mixed_tables.c turns it into
 * the SE of each variance, covariance and SD by the delta method.  lme4
 * itself offers profile or bootstrap intervals for these (confint), not
 * Wald ones; Wald intervals are poor for small variances and undefined at
 * the boundary (a singular fit: H is not positive definite and the SEs
 * are NaN).
 *
 * The same Hessian gives lmerTest's Satterthwaite degrees of freedom:
 * lmerTest (Kuznetsova, Brockhoff & Christensen 2017, JSS 82(13)) takes
 * A = 2 H^-1 in the variance parameters (theta, sigma) and the Jacobian of
 * Var(beta-hat) = sigma^2 (RX'RX)^-1 in them, both numerically (numDeriv);
 * here central differences with the steps above.
 */
#include <math.h>
#include <stdlib.h>

#include <lapacke.h>

#include "mixed.h"

typedef struct ll_ctx {
    mx_pls *w;
    size_t ntheta;
} ll_ctx;

static double ll_fn(void *ctx, const double *phi)
{
    ll_ctx *c = ctx;
    return mx_pls_minus2ll(c->w, phi, phi[c->ntheta]);
}

int mx_param_cov(mx_pls *w, const mx_problem *pr, const double *theta, double sigma, double *V,
                 cx_error *err)
{
    size_t n = pr->ntheta + 1;
    double *phi = cx_malloc((n * 3 + n * n) * sizeof *phi, err), *g = phi ? phi + n : NULL,
           *h = phi ? phi + 2 * n : NULL, *H2 = phi ? phi + 3 * n : NULL;
    if (!phi)
        return CX_ENOMEM;
    for (size_t i = 0; i + 1 < n; i++)
        phi[i] = theta[i];
    phi[n - 1] = sigma;
    /* Richardson: H = (4 H(h/2) - H(h)) / 3 cancels the h^2 error, so h
     * can be large enough (1e-2 relative) to keep the criterion's rounding
     * noise (~1e-12 relative, divided by h^2) out of the Hessian. */
    for (size_t i = 0; i < n; i++)
        h[i] = 1e-2 * fmax(fabs(phi[i]), 0.1);
    ll_ctx c = {w, pr->ntheta};
    double f0 = ll_fn(&c, phi);
    mx_hessian(ll_fn, &c, phi, n, h, f0, g, H2);
    for (size_t i = 0; i < n; i++)
        h[i] /= 2;
    mx_hessian(ll_fn, &c, phi, n, h, f0, g, V);
    for (size_t i = 0; i < n * n; i++)
        V[i] = (4 * V[i] - H2[i]) / 3;
    int ok = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, V, (lapack_int)n) == 0 &&
             LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (lapack_int)n, V, (lapack_int)n) == 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++) {
            double v = ok ? 2 * V[j * n + i] : NAN;
            V[j * n + i] = V[i * n + j] = v;
        }
    free(phi);
    return CX_OK;
}

int mx_satterthwaite(mx_pls *w, const mx_problem *pr, const double *theta, double sigma,
                     const double *V, double *df, cx_error *err)
{
    size_t n = pr->ntheta + 1, p = pr->p;
    double *phi = cx_malloc((n + n * p + 2 * p * p + 1) * sizeof *phi, err);
    if (!phi)
        return CX_ENOMEM;
    double *g = phi + n, *up = g + n * p, *down = up + p * p;
    for (size_t i = 0; i + 1 < n; i++)
        phi[i] = theta[i];
    phi[n - 1] = sigma;
    int ok = 1;
    for (size_t k = 0; k < n && ok; k++) {
        double h = 1e-4 * fmax(fabs(phi[k]), 0.1), x = phi[k];
        phi[k] = x + h;
        ok = mx_pls_beta_vcov(w, phi, phi[n - 1], up) == 0;
        phi[k] = x - h;
        ok = ok && mx_pls_beta_vcov(w, phi, phi[n - 1], down) == 0;
        phi[k] = x;
        for (size_t j = 0; j < p; j++)
            g[j * n + k] = (up[j * p + j] - down[j * p + j]) / (2 * h);
    }
    ok = ok && mx_pls_beta_vcov(w, phi, sigma, up) == 0;
    for (size_t j = 0; j < p; j++) {
        double q = 0;
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++)
                q += g[j * n + a] * V[b * n + a] * g[j * n + b];
        double c = up[j * p + j];
        df[j] = ok && q > 0 ? 2 * c * c / q : NAN;
    }
    free(phi);
    return CX_OK;
}
