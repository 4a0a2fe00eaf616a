/*
 * show.h — `cxfit show RESULTS.h5 [JOB] [--all]`: a readable summary of a
 * results file on stdout, laid out like lavaan's summary().
 */
#ifndef CX_SHOW_H
#define CX_SHOW_H

#include <stdio.h>

#include "cx_error.h"

/* `job` NULL: every job, long tables cut to their first rows.  `all`: every
 * fit measure (otherwise the headline ones).  Nothing is printed when `job`
 * is not in the file (the error says which jobs are). */
int cx_show(const char *path, const char *job, int all, FILE *out, cx_error *err);

#endif
