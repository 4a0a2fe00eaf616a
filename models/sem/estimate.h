/*
 * estimate.h — maximum-likelihood estimation of a structural equation model
 * from sample moments (the contract between the estimator and the model
 * glue).
 *
 * Input: a parameter table (partable.h) and, per group, the sample
 * covariance matrix with lavaan's ML convention (divisor N, not N-1), the
 * sample means and N, with variables in the order of pt->ov_names.
 * Starting values: a row's `start` when finite, otherwise lavaan's
 * "simple" rule (loadings 1, residual variances half the sample variance,
 * latent variances 0.05, intercepts the sample means, the rest 0).
 * Defined parameters (:=) are evaluated from the row's rhs text (lavaan's
 * partable convention: rhs holds the expression, e.g. "a*b"); `expr` is
 * not used.
 * Output: est, se, std_lv, std_all written into pt->rows (defined
 * parameters too), and a sem_fit with convergence information, lavaan's
 * fitMeasures(), R² and modification indices.
 */
#ifndef CX_SEM_ESTIMATE_H
#define CX_SEM_ESTIMATE_H

#include "partable.h"

typedef struct sem_sample {
    size_t p;           /* number of observed variables (== pt->n_ov)        */
    double n;           /* N of this group                                   */
    const double *cov;  /* p x p, divisor N                              */
    const double *mean; /* p                                             */
    /* estimator MLR only (NULL otherwise): the casewise fourth-moment
     * matrix M = (1/N) sum_i z_i z_i' of z_i = [d_i ; vech(d_i d_i')],
     * d_i = x_i - mean, pstar x pstar with pstar = p + p(p+1)/2 and the
     * vech order of sem_vech_index().  With row weights (sampling: w_i
     * normalized as lavaan does, the w_i^2 of its weighted scores;
     * frequency: w_i) M = (1/N) sum_i w_i^k z_i z_i', and: */
    const double *fourth;
    const double *fourth_first; /* (1/N) sum w_i^k z_i (pstar); NULL = unweighted:
                                   [0 ; vech(cov)]                        */
    double fourth_w2;           /* (1/N) sum w_i^k; 0 = unweighted: 1     */
    /* missing = fiml only (NULL otherwise): the group's missing patterns
     * (fiml.h); cov and mean are then the saturated model's EM moments. */
    const struct sem_patterns *patterns;
} sem_sample;

/* Position of d_a d_b (a <= b or a >= b) in z = [d ; vech(d d')]: the p
 * entries of d first, then the pairs (a, b), a <= b, row by row. */
static inline size_t sem_vech_index(size_t p, size_t a, size_t b)
{
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
    }
    /* row a of the pairs starts after sum_{k<a} (p - k) = a p - a (a - 1) / 2 */
    return p + a * p - a * (a - 1) / 2 + (b - a);
}
static inline size_t sem_pstar(size_t p)
{
    return p + p * (p + 1) / 2;
}

typedef enum sem_estimator { SEM_ML = 0, SEM_MLR, SEM_WLSMV } sem_estimator;

typedef struct sem_fit_options {
    sem_estimator estimator;
    int max_iter; /* default 10000 when 0                           */
    double tol;   /* relative tolerance on the objective; 0 = default */
    int want_modindices;
    double level;      /* CI level for estimates (0.95)                  */
    int evaluate_only; /* 1: no optimization; evaluate everything at the rows'
                          start values (e.g. a reference solution)         */
    int growth;        /* growth(): lavaan keeps free loadings' start at 1 */
    int estimates_only; /* 1: est (and := values) only: no SEs' extras,
                           standardized solution, R², fit measures or
                           modification indices (bootstrap replicates)   */
} sem_fit_options;

#define SEM_MEASURE_NAME_MAX 32

typedef struct sem_measure {
    char name[SEM_MEASURE_NAME_MAX]; /* lavaan fitMeasures() name */
    double value;
} sem_measure;

typedef struct sem_modindex {
    char lhs[SEM_NAME_MAX], rhs[SEM_NAME_MAX];
    sem_op op;
    int group;
    double mi, epc, sepc_lv, sepc_all;
} sem_modindex;

typedef struct sem_fit {
    int converged;
    int iterations;
    double fmin;           /* lavaan's fmin (F_ML / 2)                 */
    sem_measure *measures; /* chisq, df, pvalue, cfi, ... in lavaan order */
    size_t n_measures;
    /* R² per endogenous variable and group */
    char (*r2_names)[SEM_NAME_MAX];
    int *r2_group;
    double *r2;
    size_t n_r2;
    sem_modindex *modindices;
    size_t n_modindices;
    /* Problems found (Heywood case, non-positive-definite matrix,
     * unidentified parameter ...), one line each, '\n'-separated; "" if none. */
    char warnings[2048];
} sem_fit;

sem_fit *sem_fit_alloc(void);
void sem_fit_free(sem_fit *f);

/* Fit `pt` to the samples of its n_groups groups.  Returns CX_OK when an
 * estimate was produced (check fit->converged), or an error code with
 * `err` set when the model cannot be fitted at all (e.g. an unidentified
 * model: "parameter 'f =~ x3' is not identified"). */
int sem_estimate(sem_partable *pt, const sem_sample *samples, const sem_fit_options *opt,
                 sem_fit *fit, cx_error *err);

/* Look up a measure by name: NaN when absent. */
double sem_fit_measure(const sem_fit *f, const char *name);

#endif
