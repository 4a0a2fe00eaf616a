/*
 * est_internal.h — state shared by the parts of the ML estimator
 * (estimate.c, fitmeasures.c, standardize.c, modindices.c).
 * Not part of the public interface.
 */
#ifndef CX_SEM_EST_INTERNAL_H
#define CX_SEM_EST_INTERNAL_H

#include <stddef.h>

#include "estimate.h"
#include "matrices.h"

/* One contribution of a parameter slot to a model-matrix element. */
typedef struct sem_entry {
    int slot;
    sem_target t;
} sem_entry;

/* Ingredients of the robust (MLR) test, lavaan's lav_test_yuan_bentler()
 * with test = "yuan.bentler.mplus"; filled by sem_robust_vcov(). */
typedef struct sem_robust {
    double trace_h1;      /* sum_g tr(A1_g^-1 B1_g), unstructured h1     */
    double trace_h0;      /* sum_g w_g tr(B0_g E^-1)                     */
    double ndat;          /* sum_g h1 moments (means when meanstructure) */
    double trace_h0_base; /* trace_h0 of the independence model          */
    double nx_free;       /* free rows (lavaan's nx.free)                */
} sem_robust;

typedef struct sem_est {
    sem_partable *pt;
    const sem_sample *smp;
    sem_model mod;
    size_t n_groups, p, q; /* groups, observed variables, free parameters */
    double n_total;
    double *w;          /* N_g / N                                     */
    sem_target *row_t;  /* per row: where it lives (SEM_MAT_NONE: none) */
    int *row_par;       /* per row: 0-based parameter or -1 (fixed)    */
    double *row_fixed;  /* per row: value when fixed                   */
    sem_entry *entries; /* the free rows as (parameter, target)        */
    size_t n_entries;
    double *x; /* q current parameter values                  */
    /* per group, at the current x */
    double *sinv;     /* G * p*p: Sigma^-1                           */
    double *f_g;      /* G: F_ML of the group (log|Sigma| - log|S| + ...) */
    double *logdet_s; /* G: log|S|                                   */
    double *work;     /* p*p scratch                                 */
    sem_robust *rob;  /* MLR: the robust test's traces; NULL for ML    */
    double *scratch;  /* gradient/information work, grown on demand    */
    struct sem_fiml_ws *fiml; /* missing = fiml (fiml.c); NULL otherwise */
    size_t scratch_len;
} sem_est;

/* ---- estimate.c ---------------------------------------------------- */
/* Put x into the matrices and compute the implied moments and F_ML of
 * every group; *fmin gets lavaan's fmin = sum_g w_g F_g / 2.  CX_EFAIL
 * when an implied Sigma is not positive definite. */
int sem_est_evaluate(sem_est *e, const double *x, double *fmin, cx_error *err);
/* Derivatives of Sigma_g and mu_g for n_slots slots, from `entries`:
 * ds (G * n_slots * p*p) and dm (G * n_slots * p), zeroed first. */
void sem_est_delta(const sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                   double *ds, double *dm);
/* Gradient of fmin (n_slots) and the expected information per
 * observation (n_slots^2, the expected Hessian of fmin) from ds/dm. */
void sem_est_gradient(sem_est *e, const double *ds, const double *dm, size_t n_slots, double *grad);
void sem_est_information(sem_est *e, const double *ds, const double *dm, size_t n_slots,
                         double *info);
/* The same gradient (n_slots) and information (n_slots^2; NULL: none)
 * of complete data (not FIML) from the rank-two structure of the
 * derivatives, without dense dSigma (info_sparse.c), at the implied moments
 * of the last sem_est_evaluate().  CX_ENOMEM when out of memory. */
int sem_est_ml_derivatives(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                           double *grad, double *info);
/* The same gradient and the exact Hessian of fmin (n_slots^2) of complete
 * data; CX_EUSAGE for FIML. */
int sem_est_ml_hessian(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                       double *grad, double *hess);
/* For tests: e set up for pt and samples at lavaan's start values (in
 * e->x), as sem_estimate() does before optimizing; sem_est_close frees it. */
int sem_est_open(sem_est *e, sem_partable *pt, const sem_sample *samples, cx_error *err);
void sem_est_close(sem_est *e);
/* e->scratch grown (never shrunk) to len doubles; NULL when out of memory. */
double *sem_est_scratch(sem_est *e, size_t len);
/* log|A| of a symmetric positive-definite p x p matrix (A is overwritten
 * by its Cholesky factor); CX_EFAIL when not positive definite. */
int sem_log_det_spd(double *a, size_t p, double *logdet);
/* Name of a parameter (first row using it) as "lhs op rhs". */
void sem_est_param_name(const sem_est *e, int par, char *buf, size_t len);
/* Append a line to fit->warnings. */
void sem_fit_warn(sem_fit *fit, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sem_op_text(sem_op op);

/* ---- robust.c ------------------------------------------------------ */
/* MLR at the estimate e->x: the sandwich vcov = E^-1 B0 E^-1 / N (q x q,
 * written to vcov) with E the observed information (numerical Hessian of
 * fmin, as lav_model_hessian) and B0 the first-order information from
 * the samples' fourth moments, and the traces of the scaled test. */
int sem_robust_vcov(sem_est *e, double *vcov, sem_robust *rob, cx_error *err);

/* The Hessian of fmin (q x q) by lav_model_hessian's four-point
 * differences of the analytic gradient; ds/dm (sem_est_delta's sizes)
 * are left at the estimate. */
int sem_est_numeric_hessian(sem_est *e, double *ds, double *dm, double *hess, cx_error *err);

/* ---- start.c ------------------------------------------------------ */
/* Refine the first-guess start values of every row (row_start, partable
 * order) as lav_start() does: FABIN 3 loadings (not for growth models),
 * OLS regressions in models without latent variables. */
void sem_start_refine(const sem_est *e, int growth, double *row_start);

/* ---- standardize.c ------------------------------------------------- */
/* std_lv and std_all for every row of `values` (n_rows, est-like values in
 * partable order) at the current implied moments; cov_std as lavaan. */
void sem_standardize(const sem_est *e, const sem_param *rows, size_t n_rows, const double *values,
                     double *std_lv, double *std_all);
int sem_rsquare(const sem_est *e, sem_fit *fit, cx_error *err);

/* ---- fitmeasures.c ------------------------------------------------- */
int sem_fit_measures(sem_est *e, double fmin, sem_fit *fit, cx_error *err);
/* R's pchisq(x, df, ncp) (lower tail). */
double sem_pnchisq(double x, double df, double ncp);

/* ---- modindices.c -------------------------------------------------- */
int sem_modindices(sem_est *e, sem_fit *fit, cx_error *err);

#endif
