/*
 * validate.h — `validate = kfold(K)` / `holdout(EXPR)` for cfa/sem/growth
 * (internal to models/sem): a model fitted to the training rows' moments
 * is scored on the held-out rows' moments.  The metrics are defined in
 * docs/models/cfa.md ("Validation") and computed by sem_validation_metrics.
 */
#ifndef CX_SEM_VALIDATE_H
#define CX_SEM_VALIDATE_H

#include "../../engine/model.h"
#include "estimate.h"

/* The out-of-sample metrics of one split. */
typedef struct sem_oos {
    double n_train, n_test;
    double loglik_per_row; /* held-out log-likelihood / N_test              */
    double chisq;          /* N_test * F_ML(held-out S, m; training Sigma, mu) */
    double rmsea;
    double srmr;
    double cfi;
} sem_oos;

/* The metrics of the fitted `pt` (estimates in its rows; `df` and
 * `baseline_df` the training fit's) against held-out samples `test`
 * (n_groups of them); `train` gives the means when the model has no mean
 * structure and the independence model's variances.  CX_EFAIL when an
 * implied matrix is not positive definite. */
int sem_validation_metrics(const sem_partable *pt, double df, double baseline_df,
                           const sem_sample *train, const sem_sample *test, sem_oos *out,
                           cx_error *err);

typedef struct sem_validation sem_validation;

sem_validation *sem_validation_alloc(const cx_job *job, size_t n_levels, size_t n_splits,
                                     cx_error *err);
void sem_validation_free(sem_validation *v);
/* Score split k of level l (thread-safe across different (l, k)). */
int sem_validation_score(sem_validation *v, size_t l, size_t k, const sem_partable *pt,
                         const sem_fit *fit, const sem_sample *train, const sem_sample *test,
                         cx_error *err);
void sem_validation_fail(sem_validation *v, size_t l, size_t k, const char *why);
/* Split k of level l's scores (or why it failed) as bytes and back, for
 * MPI ranks that fitted different splits (dist.h). */
size_t sem_validation_pack(const sem_validation *v, size_t l, size_t k, void *buf);
int sem_validation_unpack(sem_validation *v, size_t l, size_t k, const void *buf, size_t size,
                          cx_error *err);
/* Level l's `validation` table (split, metric, value). */
int sem_validation_write(const sem_validation *v, size_t l, cx_result *res, cx_error *err);

#endif
