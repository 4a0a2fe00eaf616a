/*
 * importance.h — key-driver importance measures from a correlation matrix
 * (importance.c): standardized betas, Johnson's relative weights and exact
 * LMG / Shapley shares of R^2.
 */
#ifndef CX_IMPORTANCE_H
#define CX_IMPORTANCE_H

#include <stddef.h>

#include "cx_error.h"

/* 2^20 subsets at most: exact LMG stays under a second. */
#define IMP_MAX_DRIVERS 20

typedef struct imp_result {
    double r2;
    double std_beta[IMP_MAX_DRIVERS];
    double johnson[IMP_MAX_DRIVERS]; /* sum to r2 */
    double lmg[IMP_MAX_DRIVERS];     /* sum to r2 */
} imp_result;

/* r: the (k+1) x (k+1) correlation matrix of [x_1..x_k, y], column-major. */
int imp_compute(const double *r, size_t k, imp_result *out, cx_error *err);

/* Correlations of [x_1..x_k y] (r, (k+1)^2, k = p - 1) from the weighted
 * cross-products c ((p+1) x (p+1), upper triangle) of [1 x_1..x_k y];
 * CX_EFAIL when a variable is constant. */
int imp_correlation(const double *c, size_t p, double *r);

#endif
