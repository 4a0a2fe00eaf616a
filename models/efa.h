/*
 * efa.h — exploratory factor analysis from a correlation matrix, the
 * numerical core of `model = efa` (models/efa.c), as psych::fa computes it.
 *
 * efa_extract.c: extraction (minres, ml, iterated principal axis), psych's
 *   sign and order conventions and factor.stats' fit statistics;
 * efa_rotate.c: rotations (stats::varimax, psych's promax with Kaiser
 *   normalization, GPArotation's GPForth/GPFoblq for quartimax, oblimin,
 *   quartimin and geomin);
 * efa_parallel.c: Horn's parallel analysis (psych::fa.parallel).
 *
 * Matrices are column-major, p items x k factors (leading dimension p)
 * unless said otherwise.  Nothing here reads data or writes results.
 */
#ifndef CX_EFA_H
#define CX_EFA_H

#include <stddef.h>

#include "cx_error.h"

typedef enum efa_method { EFA_MINRES = 0, EFA_ML, EFA_PA } efa_method;

typedef enum efa_rotation {
    EFA_ROT_NONE = 0,
    EFA_ROT_VARIMAX,
    EFA_ROT_QUARTIMAX,
    EFA_ROT_PROMAX,
    EFA_ROT_OBLIMIN,
    EFA_ROT_QUARTIMIN,
    EFA_ROT_GEOMIN
} efa_rotation;

typedef enum efa_status {
    EFA_OK = 0,
    EFA_NOT_CONVERGED,     /* extraction did not converge                */
    EFA_ROTATION_NOT_CONVERGED,
    EFA_SINGULAR           /* correlation matrix not positive definite   */
} efa_status;

typedef struct efa_options {
    efa_method method;
    efa_rotation rotation;
    size_t factors;
    unsigned long seed;   /* geomin's random starts                    */
    int random_starts;    /* geomin: starts beyond the identity (>= 0)  */
} efa_options;

/* What psych::fa reports for one fit. */
typedef struct efa_fit {
    size_t p, k;
    double *loadings;      /* p x k, rotated, psych's order and signs    */
    double *phi;           /* k x k factor correlations (identity when
                              orthogonal)                                 */
    double *communality;   /* p: diag of the unrotated L L'              */
    double *uniqueness;    /* p: 1 - communality                         */
    double *complexity;    /* p: Hoffman's index                          */
    double *values;        /* p: eigenvalues of the full matrix           */
    double *reduced;       /* p: eigenvalues with communalities on the
                              diagonal (psych's $values)                  */
    double *ss_loadings;   /* k: variance accounted for (Phi-weighted)   */
    int iterations;        /* extraction steps                            */
    int rotation_iterations;
    efa_status status;
    int heywood;           /* items with communality >= 1 or psi at the
                              lower bound                                 */
    /* factor.stats */
    double objective, chisq, df, pvalue, null_chisq, null_df, tli, cfi;
    double rmsea, rmsea_lower, rmsea_upper, bic, sabic;
    double rms, crms, e_chisq, e_pvalue, e_bic, fit, fit_off;
} efa_fit;

efa_fit *efa_fit_alloc(size_t p, size_t k, cx_error *err);
void efa_fit_free(efa_fit *f);

/* Fit k factors to the p x p correlation matrix R from n observations.
 * Returns CX_OK (see f->status for convergence) or an error code. */
int efa_run(const double *R, size_t p, double n, const efa_options *opt, efa_fit *f,
            cx_error *err);

/* Eigenvalues (descending) and optionally eigenvectors (p x p, columns in
 * the same order) of the symmetric p x p matrix A (LAPACKE dsyevr). */
int efa_eigen(const double *A, size_t p, double *values, double *vectors, cx_error *err);

/* Rotate the p x k loadings L in place; phi (k x k) receives the factor
 * correlations.  Returns 1 when the rotation converged, 0 when not, or a
 * negative value on an allocation failure. */
int efa_rotate(double *L, size_t p, size_t k, efa_rotation rot, unsigned long seed,
               int random_starts, double *phi, int *iterations);

/* Squared multiple correlations 1 - 1 / diag(R^-1) (psych::smc). */
int efa_smc(const double *R, size_t p, double *smc, cx_error *err);

/* Reduced eigenvalues (psych's fa()$values) of a k-factor solution of R
 * without rotation or statistics: for parallel analysis. */
int efa_reduced_eigen(const double *R, size_t p, size_t k, efa_method method, double *reduced,
                      cx_error *err);

/* Horn's parallel analysis (efa_parallel.c): means over n_iter draws, each
 * array p long (NULL: not wanted).  Resampled results need the data X
 * (n x p, column-major, complete rows); with X NULL only the simulated
 * ones are computed. */
typedef struct efa_parallel_out {
    double *pc_sim, *pc_sim_sd, *fa_sim;
    double *pc_resampled, *fa_resampled;
    double *pc_resampled_q95, *fa_resampled_q95; /* R's quantile type 7 */
} efa_parallel_out;

int efa_parallel(const double *X, size_t n, size_t p, int n_iter, unsigned long seed,
                 int threads, efa_parallel_out *out, cx_error *err);

#endif
