/*
 * mixed_vcov.c — Wald standard errors of the variance components.
 *
 * phi = (theta, sigma); -2 logLik(phi) with beta profiled out is
 * mx_pls_minus2ll (REML: the REML log-likelihood).  Its Hessian H at the
 * optimum (central differences, steps 1e-4 max(|phi_k|, 0.1)) gives the
 * asymptotic covariance 2 H^-1 of phi-hat; mixed_tables.c turns it into
 * the SE of each variance, covariance and SD by the delta method.  lme4
 * itself offers profile or bootstrap intervals for these (confint), not
 * Wald ones; Wald intervals are poor for small variances and undefined at
 * the boundary (a singular fit: H is not positive definite and the SEs
 * are NaN).
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
    double *phi = cx_malloc(n * 3 * sizeof *phi, err), *g = phi ? phi + n : NULL,
           *h = phi ? phi + 2 * n : NULL;
    if (!phi)
        return CX_ENOMEM;
    for (size_t i = 0; i + 1 < n; i++)
        phi[i] = theta[i];
    phi[n - 1] = sigma;
    for (size_t i = 0; i < n; i++)
        h[i] = 1e-4 * fmax(fabs(phi[i]), 0.1);
    ll_ctx c = {w, pr->ntheta};
    mx_hessian(ll_fn, &c, phi, n, h, ll_fn(&c, phi), g, V);
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
