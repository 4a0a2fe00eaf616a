/*
 * wls.h — WLSMV for a model of ordinal items (lavaan's estimator =
 * "WLSMV" with ordered items, delta or theta parameterization):
 * (one or more groups) DWLS estimates, robust (sandwich) standard errors
 * and the mean-and-
 * variance adjusted ("scaled.shifted") test, with the fit measures lavaan
 * reports for it.
 *
 * The model's moments are the thresholds (free, one parameter each) and
 * the off-diagonal of Sigma* = D (Lambda V Lambda' + Theta) D, D = diag(delta)
 * (scale factors, 1 in group 1), whose diagonal is 1: the residual
 * variance of an ordinal item is not a parameter but
 * 1 / delta_i^2 - (Lambda V Lambda')_ii (lavaan's delta parameterization);
 * model thresholds are delta_i (tau_ik - mu_i), mu = Lambda B alpha.
 * Sample side: polychoric.h.  Over groups g (f_g = N_g / N):
 *
 *   F(theta) = sum_g f_g 1/2 (N_g - 1)/N_g sum_k (s_gk - m_gk)^2 / Gamma_g,kk
 *   vcov     = E^-1 (sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g) E^-1 / (N - G),
 *              E = sum_g f_g Delta_g' W_g Delta_g
 *   T        = 2 N F;  scaled.shifted: a T + df - a tr(U Gamma),
 *              a = sqrt(df / tr((U Gamma)^2)),  U = V - V Delta E^-1 Delta' V,
 *              V = bdiag(f_g W_g), Gamma = bdiag(Gamma_g / f_g)
 * (lav_model_objective, lav_model_nvcov_robust_sem, lav_test_satorra_bentler).
 */
#ifndef CX_SEM_WLS_H
#define CX_SEM_WLS_H

#include "estimate.h"
#include "partable.h"
#include "polychoric.h"

/* One written row of the estimates (partable rows, thresholds and
 * lavaan's fixed ~*~ and ~1 rows of ordinal models). */
typedef struct sem_wls_row {
    char lhs[SEM_NAME_MAX], op[4], rhs[SEM_NAME_MAX];
    int group; /* 0-based */
    double est, se, std_lv, std_all;
} sem_wls_row;

typedef struct sem_wls_result {
    sem_wls_row *rows;
    size_t n_rows;
    sem_fit *fit; /* converged, iterations, measures, r2, warnings */
    /* what a difference test between nested fits needs (sem_wls_diff_test) */
    size_t q, n_moments; /* parameters; moments of all groups, stacked   */
    double *delta;       /* n_moments x q: Delta at the estimates          */
    double *info;        /* q x q: sum_g f_g Delta_g' W_g Delta_g            */
    double chisq, df;    /* the standard (unscaled) test                   */
} sem_wls_result;

/* Fit pt (all observed variables ordinal, in pt->ov_names order = the
 * statistics' item order) to the statistics of its pt->n_groups groups.
 * With SEM_EQ_THRESHOLDS in group_equal the thresholds are shared and
 * groups 2..G get free scale factors (~*~; theta: free residual variances
 * of the items unless SEM_EQ_RESIDUALS) and latent means (unless
 * SEM_EQ_MEANS), as lavaan frees them.
 *
 * theta: lavaan's parameterization = "theta".  The residual variances of
 * y* are the parameters (1 where not free) and the scale factors follow:
 * delta_i = 1 / sqrt(Sigma_ii), Sigma = Lambda V Lambda' + Theta
 * (setDeltaElements); the moments are as above, so Delta gains the terms
 * of d delta_i = -1/2 delta_i^3 d Sigma_ii. */
int sem_wls_fit(const sem_partable *pt, const sem_ord_stats *const *s, unsigned group_equal,
                int theta, int max_iter, sem_wls_result *out, cx_error *err);
void sem_wls_result_clear(sem_wls_result *r);

/* lavTestLRT()'s scaled difference test of two nested WLSMV fits to the
 * same statistics s (its default for them: lav_test_diff_Satorra2000
 * with A.method = "delta" and scaled.shifted = TRUE).  m1 is the less
 * constrained fit (fewer df), m0 the more constrained one:
 *
 *   H = Delta_1^+ Delta_0,  A' = an orthonormal basis of the orthogonal
 *   complement of H's columns (the result does not depend on the basis),
 *   M = P^-1 A' (A P^-1 A')^-1 A P^-1,  P = m1's info,
 *   U = V Delta_1 M Delta_1' V,  V = bdiag(W_g),  Gamma_f = bdiag(f_g Gamma_g),
 *   m = df_0 - df_1,  a = sqrt(m / tr((U Gamma_f)^2)),  b = m - a tr(U Gamma_f),
 *   stat = a (T_0 - T_1) + b  on m df.
 *
 * With m = 0 the statistic is T_0 - T_1 and pvalue, a and b are NaN. */
typedef struct sem_wls_diff {
    double stat, df, pvalue, a, b;
} sem_wls_diff;

int sem_wls_diff_test(const sem_ord_stats *const *s, size_t n_groups, const sem_wls_result *m1,
                      const sem_wls_result *m0, sem_wls_diff *out, cx_error *err);

#endif
