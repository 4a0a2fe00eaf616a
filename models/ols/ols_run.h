/*
 * ols_run.h — the passes and fits of an `ols` job (ols_run.c) and the
 * tables they are written to (ols_tables.c).
 */
#ifndef CX_OLS_RUN_H
#define CX_OLS_RUN_H

#include "ols_setup.h"

/* Everything a job's passes give, per `by` level. */
typedef struct ols_run {
    size_t n_levels, n_slots;
    cx_split_kind split;
    ols_xp *xp;                    /* n_levels x n_slots, pass 1              */
    ols_xp *total;                 /* n_levels: every slot merged             */
    ols_fit *fits;                 /* n_levels                                */
    char (*why)[CX_ERROR_MSG_MAX]; /* n_levels: "" when fitted       */
    ols_fit *train;                /* n_levels x n_slots (validation)          */
    int *train_ok;                 /* n_levels x n_slots                       */
    ols_scores scores;             /* pass 2 (robust meat, out-of-sample sums) */
    int have_scores;
} ols_run;

/* Pass 1, the fits, the training fits and (when needed) pass 2. */
int ols_run_job(const cx_job *job, const ols_setup *s, ols_run *r, cx_error *err);
void ols_run_clear(ols_run *r);

/* The variance of level l's kept coefficients (q x q) for s->se; NaN
 * where undefined. */
void ols_vcov(const ols_setup *s, const ols_run *r, size_t l, double *v);

/* Tables of level l into res (estimates, fit, vif, validation). */
int ols_write_level(const cx_job *job, const ols_setup *s, const ols_run *r, size_t l,
                    cx_result *res, cx_error *err);

#endif
