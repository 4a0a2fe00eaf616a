/*
 * ordinal.h — cfa/sem jobs with ordinal items (`ordered`, estimator
 * wlsmv): the two passes of polychoric.h, the WLSMV fit of wls.h and the
 * job's tables (internal to models/sem).
 */
#ifndef CX_SEM_ORDINAL_H
#define CX_SEM_ORDINAL_H

#include "../../engine/model.h"
#include "partable.h"

/* What the job's keys say; `build` makes the parameter table for a
 * number of groups (no mean structure: thresholds are added by the fit). */
typedef struct sem_ordinal_spec {
    const char *ordered;  /* "all" or item names                        */
    const char *group;    /* group column or NULL                       */
    unsigned group_equal; /* SEM_EQ_* bits                              */
    int max_iter;
    sem_partable *(*build)(void *ctx, size_t n_groups, cx_error *err);
    void *ctx;
} sem_ordinal_spec;

/* Fit the job's model to its rows, every observed variable being one of
 * `ordered`, and write results[l] for every `by` level l (groups
 * numbered by first appearance within a level, as lavaan). */
int sem_ordinal_fit(const cx_job *job, const sem_ordinal_spec *spec, cx_result **results,
                    cx_error *err);

/* `ordered` must name every observed variable of pt (or be "all"). */
int sem_ordinal_check(const cx_job *job, const sem_partable *pt, const char *ordered,
                      cx_error *err);

#endif
