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

#endif
