/*
 * readback.h — reading a stored job back for people (show, report).
 *
 * A results file is untrusted input: a column may be missing or have
 * another type than the writer gives it, a string may be anything.  These
 * helpers look columns up by name AND type, so the printers never index a
 * column they have not checked, and they recover what the writer keeps
 * only in the job's spec (the `by` columns).
 */
#ifndef CX_READBACK_H
#define CX_READBACK_H

#include <stddef.h>

#include "result.h"

#define CX_RB_MAX_BY 8

/* Column `name` of `t` when it exists with type `type`; NULL otherwise
 * (t may be NULL). */
const cx_rcolumn *cx_rb_column(const cx_rtable *t, const char *name, cx_rcol_type type);
/* A number column read as doubles: CX_RCOL_DOUBLE or CX_RCOL_INT. */
double cx_rb_number(const cx_rcolumn *c, size_t row);
int cx_rb_is_number(const cx_rcolumn *c);
/* Cell text of a string column ("" for NULL). */
const char *cx_rb_string(const cx_rcolumn *c, size_t row);

/* A job attribute: the string (NULL when absent or not a string), the
 * number (NaN when absent or not a number). */
const char *cx_rb_attr_string(const cx_result *r, const char *name);
double cx_rb_attr_double(const cx_result *r, const char *name);
/* fitMeasures() value `measure` of table `table` ("fit" ...), NaN when absent. */
double cx_rb_fit(const cx_result *r, const char *table, const char *measure);

/* The job's `by` columns as its spec names them ("by=firm wave" line);
 * only names that are columns of `t` (when t is not NULL) are kept.
 * Returns the count; names point into `buf`. */
typedef struct cx_rb_by {
    size_t n;
    const char *names[CX_RB_MAX_BY];
    char buf[512];
} cx_rb_by;
size_t cx_rb_by_columns(const char *spec, cx_rb_by *by);
/* The value of key `key` in a job's spec ("" when absent), copied into buf. */
const char *cx_rb_spec_value(const char *spec, const char *key, char *buf, size_t size);

/* "firm=firm01, wave=3": row `row`'s values of the by columns of `t`. */
void cx_rb_level_label(const cx_rtable *t, const cx_rb_by *by, size_t row, char *buf, size_t size);
/* Rows i and j of `t` are in the same `by` level. */
int cx_rb_same_level(const cx_rtable *t, const cx_rb_by *by, size_t i, size_t j);

/* The label of group g (1-based) from the job's `groups` table, or NULL. */
const char *cx_rb_group_label(const cx_result *r, long long g);
/* The `group` column of a table as a number (int or double), or NULL. */
const cx_rcolumn *cx_rb_group_column(const cx_rtable *t);



/* lavaan's summary() sections of an estimates row, in its order:
 * Latent Variables, Regressions, Covariances, Intercepts, Thresholds,
 * Variances, Defined Parameters; -1 for an operator of none of them. */
#define CX_RB_N_SECTIONS 7
int cx_rb_section(const char *lhs, const char *op, const char *rhs);
const char *cx_rb_section_title(int section);

/* Fit measures shown by default (lavaan's summary(fit.measures = TRUE)
 * headline, with the scaled/robust versions an MLR fit adds). */
int cx_rb_headline_measure(const char *name);

/* What the job header says: estimator, standard errors and test (lavaan's
 * words), from the job's spec and attributes; "" when not a SEM job. */
typedef struct cx_rb_method {
    char estimator[64];
    char se[32];
    char test[32];
} cx_rb_method;
void cx_rb_job_method(const char *model, const char *spec, const cx_result *r, cx_rb_method *m);
#endif
