/*
 * ordinal.h — cfa/sem jobs with ordinal items (`ordered`, estimator
 * wlsmv): the two passes of polychoric.h, the WLSMV fit of wls.h and the
 * job's tables (internal to models/sem).
 */
#ifndef CX_SEM_ORDINAL_H
#define CX_SEM_ORDINAL_H

#include "../../engine/model.h"
#include "invariance.h"
#include "partable.h"

/* What the job's keys say; `build` makes the parameter table for a
 * number of groups and group_equal (no mean structure: thresholds are
 * added by the fit). */
typedef struct sem_ordinal_spec {
    const char *ordered;        /* "all" or item names                        */
    const char *group;          /* group column or NULL                       */
    unsigned group_equal;       /* SEM_EQ_* bits                              */
    const sem_invariance *inv;  /* `invariance` steps (n_steps 0: none)       */
    int theta;                  /* parameterization = theta (else delta)      */
    int max_iter;
    sem_partable *(*build)(void *ctx, size_t n_groups, unsigned group_equal, cx_error *err);
    void *ctx;
} sem_ordinal_spec;

/* Fit the job's model to its rows, every observed variable being one of
 * `ordered`, and write results[l] for every `by` level l (groups
 * numbered by first appearance within a level, as lavaan). */
int sem_ordinal_fit(const cx_job *job, const sem_ordinal_spec *spec, cx_result **results,
                    cx_error *err);

/* group_equal with ordered items, as lavaan's group.equal for them
 * (delta parameterization): loadings, thresholds (scale factors and latent
 * means then free in groups 2..G), means (with thresholds: latent means
 * equal, i.e. 0), intercepts (with thresholds only; an ordered item's
 * intercept is fixed at 0, so the word adds nothing and is dropped from
 * *eq); theta only: residuals (with thresholds: the residual variances
 * of groups 2..G equal group 1's 1); lv.variances, lv.covariances,
 * regressions and residual.covariances as for continuous items.
 * residuals with delta is refused, naming the key. */
int sem_ordinal_group_equal(const cx_job *job, unsigned *eq, int theta, cx_error *err);

/* `ordered` must name every observed variable of pt (or be "all"). */
int sem_ordinal_check(const cx_job *job, const sem_partable *pt, const char *ordered,
                      cx_error *err);

#endif
