/*
 * ordinal.h — cfa/sem jobs with ordinal items (`ordered`, estimator
 * wlsmv): the two passes of polychoric.h, the WLSMV fit of wls.h and the
 * job's tables (internal to models/sem).
 */
#ifndef CX_SEM_ORDINAL_H
#define CX_SEM_ORDINAL_H

#include "../../engine/model.h"
#include "partable.h"

/* Fit `pt` (built with one group and no mean structure) to the job's
 * rows, every observed variable being one of `ordered` ("all" or item
 * names), and write `res`. */
int sem_ordinal_fit(const cx_job *job, const sem_partable *pt, const char *ordered, int max_iter,
                    cx_result *res, cx_error *err);

/* `ordered` must name every observed variable of pt (or be "all"). */
int sem_ordinal_check(const cx_job *job, const sem_partable *pt, const char *ordered,
                      cx_error *err);

#endif
