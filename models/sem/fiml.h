/*
 * fiml.h — full-information maximum likelihood (`missing = fiml`, lavaan's
 * missing = "ml") for cfa/sem/growth from per-missing-pattern sufficient
 * statistics (internal to models/sem).
 *
 * Data side (fiml_data.c): one reducer gathers, per pass level (cell), the
 * rows of every missing pattern: their count, the mean and the
 * cross-products (about the pattern mean) of the observed variables, so
 * 10M rows with 30 patterns are 30 small summaries after one pass.  Rows
 * with no observed variable are dropped (lavaan removes empty cases).
 * From the patterns: the saturated (h1) moments by EM, the h1 and
 * independence (baseline) loglikelihoods, and lavaan's coverage matrix.
 *
 * Estimator side (fiml.c): the casewise -2 loglikelihood over N,
 *   F_g = (1/N_g) sum_patterns n [log|Sigma_oo| + tr(Sigma_oo^-1 (S + r r'))],
 * r = ybar - mu_o (no 2 pi), lavaan's estimator.FIML; fmin = sum_g w_g
 * (F_g - h1_g) / 2.  Its gradient has the complete-data shape with a
 * p x p weight matrix and a mean vector summed over patterns; the
 * optimizer's curvature is the expected information summed over patterns;
 * standard errors use the observed information (the Hessian of fmin by
 * lav_model_hessian's differences of the analytic gradient), lavaan's
 * default for missing = "ml".
 */
#ifndef CX_SEM_FIML_H
#define CX_SEM_FIML_H

#include <stddef.h>
#include <stdint.h>

#include "../../engine/cx_error.h"
#include "../../engine/reducer.h"

/* One missing pattern of one group: the rows observing exactly idx[]. */
typedef struct sem_pattern {
    size_t po;    /* observed variables                          */
    size_t *idx;  /* po indices into the model's observed vars   */
    double n;     /* rows                                        */
    double *mean; /* po: mean of the observed values             */
    double *cov;  /* po x po: cross-products / n (divisor n)     */
    /* estimator mlr only (NULL otherwise): M = (1/n) sum z z', z = [d ;
     * vech(d d')], d = x_o - mean, ps_o x ps_o (sem_pattern_vech order) */
    double *fourth;
} sem_pattern;

/* Position of d_u d_v in z = [d ; vech(d d')] of a pattern's po
 * variables (the order of sem_vech_index). */
static inline size_t sem_pattern_vech(size_t po, size_t u, size_t v)
{
    if (u > v) {
        size_t t = u;
        u = v;
        v = t;
    }
    return po + u * po - u * (u - 1) / 2 + (v - u);
}

/* Every pattern of one group, and what the saturated model makes of them. */
typedef struct sem_patterns {
    size_t p, n_pat;
    sem_pattern *pat; /* n_pat, in order of first appearance        */
    double n;         /* rows with at least one observed value      */
    double n_values;  /* observed cells: sum n po (the 2 pi terms)  */
    double *em_mean;  /* p: saturated-model means (EM)              */
    double *em_cov;   /* p x p: saturated-model covariance (EM)     */
    int em_iter;
    int em_converged;
    double h1_f;                  /* -2 logl_h1 / N without 2 pi terms         */
    double base_f;                /* the same for the independence model       */
    double *base_mean, *base_var; /* p each: the independence model's ML */
    double *base_term;            /* p: n_j (log var_j + 1), the -2 logl terms */
    double *coverage;             /* p x p: share of rows observing both        */
} sem_patterns;

void sem_patterns_free(sem_patterns *s);

/* ---- the pass ---------------------------------------------------------- */

typedef struct sem_fiml_params {
    size_t p;        /* variables: block columns 0 .. p-1 (NaN = missing) */
    size_t n_levels; /* pass levels (cells)                                */
    /* p flags or NULL: a row missing a flagged variable is dropped (the
     * fixed.x covariates: lavaan's missing = "ml" deletes those rows) */
    const unsigned char *required;
    /* `bootstrap = B` (n_replicates > 0): instead of the rows themselves,
     * B replicates of every level, each row counted cx_boot_count(seed,
     * r, key) times (the Poisson(1) counts of the engine's bootstrap, so
     * the same draws as the moments' replicates); key = the row, or the
     * unit in block column cluster_at (>= 0) with `bootstrap_cluster`. */
    size_t n_replicates;
    uint64_t seed;
    long cluster_at;
    /* `validate`: kfold(K) (n_folds = K: a row's slot is cx_fold_of(seed,
     * row, K)) or holdout (holdout set: slot 1 = the rows the filter
     * matches, its columns from block column holdout_at, slot 0 the
     * others); level l's slot s is then level l * n_slots + s. */
    size_t n_folds;
    const struct cx_filter *holdout;
    size_t holdout_at;
} sem_fiml_params;

extern const cx_reducer_type sem_reducer_patterns;

/* The patterns of pass level l with the EM saturated moments (NULL with
 * err set on failure; a level without rows gives n_pat = 0).  With
 * replicates, level l's replicate r is level l * n_replicates + r. */
sem_patterns *sem_patterns_result(const void *acc, size_t level, cx_error *err);
/* kfold training rows: the patterns of pass level `cell` over every fold
 * but `except`, merged (params with n_folds). */
sem_patterns *sem_patterns_result_merged(const void *acc, size_t cell, size_t except,
                                         cx_error *err);

/* MLR's second pass: every pattern's fourth moments about its mean.
 * cells[l] are pass level l's patterns (from the first pass). */
typedef struct sem_fiml_fourth_params sem_fiml_fourth_params;
sem_fiml_fourth_params *sem_fiml_fourth_params_alloc(size_t p, size_t n_levels,
                                                     const sem_patterns *const *cells,
                                                     const unsigned char *required, cx_error *err);
void sem_fiml_fourth_params_free(sem_fiml_fourth_params *par);
extern const cx_reducer_type sem_reducer_pattern_fourth;
/* Level l's fourth moments into s->pat[k].fourth. */
int sem_fiml_fourth_result(const void *acc, size_t level, sem_patterns *s, cx_error *err);

/* -2 logl / N (no 2 pi terms) of the patterns at (mu, sigma); work holds
 * 3 p^2 + p doubles.  CX_EFAIL when a Sigma_oo is not positive definite. */
int sem_patterns_f(const sem_patterns *s, const double *sigma, const double *mu, double *work,
                   double *f);

/* ---- the estimator (fiml.c; sem_est is est_internal.h's) -------------- */

struct sem_est;
typedef struct sem_fiml_ws sem_fiml_ws;

/* Workspace for e's groups (e->smp[g].patterns all set); NULL on ENOMEM. */
sem_fiml_ws *sem_fiml_ws_alloc(const struct sem_est *e, cx_error *err);
void sem_fiml_ws_free(sem_fiml_ws *w);

/* F_g - h1_g of group g at the implied moments of e->mod; CX_EFAIL when
 * a pattern's Sigma_oo is not positive definite. */
int sem_fiml_discrepancy(struct sem_est *e, size_t g, double *f, cx_error *err);
/* The gradient's ingredients of group g: wm (p x p) and sr (p) with
 * d fmin / d theta = sum_g w_g / 2 [tr(wm dSigma) - 2 sr' dmu], as the
 * complete-data W = Sigma^-1 - Sigma^-1 (S + r r') Sigma^-1, sr = Sigma^-1 r. */
void sem_fiml_gradient_parts(struct sem_est *e, size_t g, double *wm, double *sr);
/* The expected information (n_slots^2) summed over patterns. */
void sem_fiml_information(struct sem_est *e, const double *ds, const double *dm, size_t n_slots,
                          double *info);
/* Observed-information vcov (q x q) = (N H)^-1, H the Hessian of fmin. */
int sem_fiml_observed_vcov(struct sem_est *e, double *vcov, cx_error *err);
/* Fit-measure ingredients: baseline chisq and df, and the loglikelihoods
 * of the model and the saturated model (with the 2 pi terms). */
/* The independence model's -2 logl / N of group g minus h1 (no 2 pi):
 * every variable but the fixed.x covariates (exo[i] != 0) on its own;
 * the caller adds the covariates' joint term log|S_xx| + nx. */
double sem_fiml_baseline_f(const struct sem_est *e, size_t g, const char *exo);
void sem_fiml_logl(const struct sem_est *e, double *logl, double *logl_h1);
/* Estimator MLR with missing = fiml (lavaan's MLR + missing = "ml"):
 * vcov = E^-1 B0 E^-1 / N (q x q) with E the observed information and B0
 * the first-order information of the casewise scores at the implied
 * moments, and the traces of the Yuan-Bentler (Mplus) scaled test with
 * lavaan's unstructured h1 informations (observed A1 and first-order B1
 * at the EM moments).  rob is est_internal.h's sem_robust. */
struct sem_robust;
int sem_fiml_robust(struct sem_est *e, double *vcov, struct sem_robust *rob, cx_error *err);

#endif
