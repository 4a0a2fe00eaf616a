/*
 * wls.h — WLSMV for a single-group model of ordinal items (lavaan's
 * estimator = "WLSMV" with ordered items, delta parameterization):
 * DWLS estimates, robust (sandwich) standard errors and the mean-and-
 * variance adjusted ("scaled.shifted") test, with the fit measures lavaan
 * reports for it.
 *
 * The model's moments are the thresholds (free, one parameter each) and
 * the off-diagonal of Sigma* = Lambda V Lambda' + Theta, whose diagonal is
 * 1: the residual variance of an ordinal item is not a parameter but
 * 1 - (Lambda V Lambda')_ii (lavaan's delta parameterization with the
 * scale factors fixed at 1).  Sample side: polychoric.h.
 *
 *   F(theta) = 1/2 (N - 1)/N sum_k (s_k - m_k(theta))^2 / Gamma_kk
 *   vcov     = E^-1 (Delta' W Gamma W Delta) E^-1 / (N - 1),  E = Delta' W Delta
 *   T        = 2 N F;  scaled.shifted: a T + df - a tr(U Gamma),
 *              a = sqrt(df / tr((U Gamma)^2)),  U = W - W Delta E^-1 Delta' W
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
    double est, se, std_lv, std_all;
} sem_wls_row;

typedef struct sem_wls_result {
    sem_wls_row *rows;
    size_t n_rows;
    sem_fit *fit; /* converged, iterations, measures, r2, warnings */
} sem_wls_result;

/* Fit pt (one group, all observed variables ordinal, in pt->ov_names
 * order = the statistics' item order) to s. */
int sem_wls_fit(const sem_partable *pt, const sem_ord_stats *s, int max_iter,
                sem_wls_result *out, cx_error *err);
void sem_wls_result_clear(sem_wls_result *r);

#endif
