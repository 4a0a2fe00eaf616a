/*
 * reliability_factor.h — factor models for omega, composite reliability,
 * AVE and HTMT (models/reliability_factor.c).
 */
#ifndef CX_RELIABILITY_FACTOR_H
#define CX_RELIABILITY_FACTOR_H

#include <stddef.h>

#include "cx_error.h"

#define REL_NAME_MAX 64

/* Lambda (m x p, row f = factor f's loadings), Psi (m x m), Theta (p x p). */
typedef struct rel_fmodel {
    size_t p, m;
    char (*ov)[REL_NAME_MAX];
    char (*lv)[REL_NAME_MAX];
    double *lambda, *psi, *theta;
} rel_fmodel;

/* Sample moments by variable name: cov p x p with divisor N. */
typedef struct rel_fsample {
    size_t p;
    char (*names)[REL_NAME_MAX];
    const double *cov, *mean;
    double n;
} rel_fsample;

rel_fmodel *rel_fmodel_alloc(size_t p, size_t m, cx_error *err);
void rel_fmodel_free(rel_fmodel *fm);
long rel_fmodel_ov(const rel_fmodel *fm, const char *name);
long rel_fmodel_lv(const rel_fmodel *fm, const char *name);
int rel_fmodel_set(rel_fmodel *fm, const char *lhs, const char *op, const char *rhs, double est);
/* S (fm->p x fm->p) = the sample covariance in fm's variable order. */
int rel_fmodel_sample(const rel_fmodel *fm, const rel_fsample *smp, double *S, cx_error *err);

/* semTools::compRelSEM of factor f (obs_var as its argument); S in fm order. */
double rel_comp_rel(const rel_fmodel *fm, size_t f, const double *S, int obs_var);
/* semTools::AVE of factor f (obs.var = TRUE). */
double rel_ave(const rel_fmodel *fm, size_t f, const double *S);
/* semTools::htmt of factors f and g from S (geometric: htmt2 = TRUE). */
double rel_htmt(const rel_fmodel *fm, size_t f, size_t g, const double *S, int geometric);

/* Fit lavaan syntax by ML (cfa(), std.lv as given) to smp; the estimates
 * as a factor model.  *converged and the estimator's warnings are set. */
int rel_fit_cfa(const char *syntax, const rel_fsample *smp, int std_lv, rel_fmodel **out,
                int *converged, char *warnings, size_t warn_len, cx_error *err);

#endif
