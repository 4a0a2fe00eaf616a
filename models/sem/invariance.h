/*
 * invariance.h — the `invariance` key of cfa/sem/growth (internal to
 * models/sem).
 *
 * `invariance = configural metric scalar strict` fits one multi-group
 * model per step, each with more parameters held equal across groups
 * (lavaan's group.equal), from the same sample moments, and compares each
 * step with the one before it by a chi-square difference test and the
 * change in CFI and RMSEA: the sequence semTools users run by hand with
 * cfa(..., group.equal = ...) and lavTestLRT().
 *
 * This module knows the steps and writes the tables; the model glue
 * (sem_model.c) supplies the fit of one step through a callback, so the
 * two stay independent.
 */
#ifndef CX_SEM_INVARIANCE_H
#define CX_SEM_INVARIANCE_H

#include <stddef.h>

#include "../../engine/model.h"

#define SEM_INV_MAX_STEPS 5

typedef struct sem_invariance {
    size_t n_steps;                          /* 0: no `invariance` key        */
    int step[SEM_INV_MAX_STEPS];             /* step ids, least constrained first */
    unsigned group_equal[SEM_INV_MAX_STEPS]; /* SEM_EQ_* bits of each step    */
} sem_invariance;

/* Read the `invariance` key (absent: inv->n_steps = 0).  Errors, located
 * at the key: no `group`, `group_equal` also given, an unknown step (with
 * a did-you-mean hint), a step repeated or out of order, fewer than two
 * steps. */
int sem_invariance_read(const cx_job *job, int has_group, sem_invariance *inv, cx_error *err);

/* The step's name ("configural", "metric", ...). */
const char *sem_invariance_step_name(int step);

/* Fit the job's model with `group_equal` into `res`: the contract tables
 * (estimates, fit, r2, groups ...), status and warnings, as a job with
 * that group_equal would produce them. */
typedef int (*sem_inv_fit_fn)(void *ctx, unsigned group_equal, cx_result *res, cx_error *err);

/* Fit every step and write the job's tables: `estimates`, `fit`, `r2`
 * (and `groups`, `modindices`) of the first step; `invariance` (one row
 * per step); `estimates_<step>` and `fit_<step>` (and `modindices_<step>`)
 * of every step.  A step that does not converge marks the job
 * not_converged, naming the step; the other steps are still reported. */
int sem_invariance_run(const cx_job *job, const sem_invariance *inv, size_t n_groups,
                       sem_inv_fit_fn fit, void *ctx, cx_result *res, cx_error *err);

/* A robust difference test between step `prev` (less constrained) and
 * step `cur`, both fitted by the sem_inv_fit_fn with the same ctx (calls
 * numbered 0, 1, ... in step order): the statistic, its df and p-value,
 * and the scale (a) and shift (b) of a scaled-shifted statistic (NaN when
 * the test has none). */
typedef struct sem_inv_diff {
    double stat, df, pvalue, scale, shift;
} sem_inv_diff;
typedef int (*sem_inv_diff_fn)(void *ctx, size_t prev, size_t cur, sem_inv_diff *out,
                               cx_error *err);

/* sem_invariance_run with robust tests: chisq_diff, df_diff and
 * pvalue_diff come from `diff` (rmsea_d NaN, as lavTestLRT() for scaled
 * tests), and the table gains chisq_scaled, pvalue_scaled, cfi_scaled,
 * tli_scaled, rmsea_scaled per step and diff_scale, diff_shift,
 * delta_cfi_scaled, delta_rmsea_scaled per difference.  diff NULL: as
 * sem_invariance_run. */
int sem_invariance_run_scaled(const cx_job *job, const sem_invariance *inv, size_t n_groups,
                              sem_inv_fit_fn fit, sem_inv_diff_fn diff, void *ctx, cx_result *res,
                              cx_error *err);

/* The steps of ordered items (lavaan's group.equal for them): intercepts
 * become thresholds (an ordered item's intercept is fixed at 0); strict
 * needs the theta parameterization (refused otherwise, naming the key). */
int sem_invariance_ordinal(const cx_job *job, sem_invariance *inv, int theta, cx_error *err);

#endif
