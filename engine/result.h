/*
 * result.h — what a job produces, held in memory until the run writes it.
 *
 * A result is the job's status plus a list of named tables (estimates,
 * fit, validation and model-specific ones) and a few attributes.  Tables
 * are built column by column or row by row; results.c writes them as HDF5
 * groups of 1-D columns (shared/DESIGN.md §5).  Models only ever talk to
 * this API, never to HDF5.
 */
#ifndef CX_RESULT_H
#define CX_RESULT_H

#include <stddef.h>

#include "cx_error.h"

typedef enum cx_rcol_type { CX_RCOL_DOUBLE = 0, CX_RCOL_INT = 1, CX_RCOL_STRING = 2 } cx_rcol_type;

typedef struct cx_rcolumn {
    char *name;
    cx_rcol_type type;
    double *d;    /* CX_RCOL_DOUBLE */
    long long *i; /* CX_RCOL_INT    */
    char **s;     /* CX_RCOL_STRING (owned copies) */
} cx_rcolumn;

typedef struct cx_rtable {
    char *name;
    size_t nrows, capacity;
    size_t ncols;
    cx_rcolumn *cols;
} cx_rtable;

typedef struct cx_rattr {
    char *name;
    int is_string;
    double d;
    char *s;
} cx_rattr;

/* A job's status; the results file stores its contract name ("ok",
 * "not_converged", "failed").  Ordered by severity: a result keeps the
 * worst status it was given. */
typedef enum cx_job_status {
    CX_STATUS_OK = 0,
    CX_STATUS_NOT_CONVERGED = 1,
    CX_STATUS_FAILED = 2
} cx_job_status;

const char *cx_status_name(cx_job_status s);
/* The status named `name`; -1 when it is none of the contract's names. */
int cx_status_parse(const char *name, cx_job_status *out);

typedef struct cx_result {
    cx_job_status status;
    char *message;   /* why, when not ok; warnings (Heywood ...) too  */
    double nobs;
    double level; /* confidence level used for estimate CIs        */
    cx_rtable **tables;
    size_t n_tables;
    cx_rattr *attrs; /* extra job attributes (iterations, ...)        */
    size_t n_attrs;
} cx_result;

cx_result *cx_result_alloc(double level, cx_error *err);
void cx_result_free(cx_result *r);

/* Status: set "not_converged"/"failed" with a message, or append a warning
 * to the message while keeping the status (e.g. a Heywood case). */
void cx_result_set_status(cx_result *r, cx_job_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cx_result_add_warning(cx_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int cx_result_set_attr_double(cx_result *r, const char *name, double value, cx_error *err);
int cx_result_set_attr_string(cx_result *r, const char *name, const char *value, cx_error *err);

/* Tables.  cx_result_table returns the table `name`, creating it empty. */
cx_rtable *cx_result_table(cx_result *r, const char *name, cx_error *err);
cx_rtable *cx_result_find_table(const cx_result *r, const char *name);

/* Define a column (all columns are defined before rows are added). */
int cx_rtable_add_column(cx_rtable *t, const char *name, cx_rcol_type type, cx_error *err);
int cx_rtable_find_column(const cx_rtable *t, const char *name);
/* Column `name` only when it has type `type` (NULL / -1 otherwise): a table
 * read back from a file may hold any type under a standard name, so readers
 * (show) look columns up with the type they are about to use. */
const cx_rcolumn *cx_rtable_column_typed(const cx_rtable *t, const char *name, cx_rcol_type type);
int cx_rtable_find_column_typed(const cx_rtable *t, const char *name, cx_rcol_type type);
/* Append an empty row (NaN / 0 / ""); returns its index or -1. */
long cx_rtable_add_row(cx_rtable *t, cx_error *err);
void cx_rtable_set_double(cx_rtable *t, size_t row, const char *col, double v);
void cx_rtable_set_int(cx_rtable *t, size_t row, const char *col, long long v);
int cx_rtable_set_string(cx_rtable *t, size_t row, const char *col, const char *v, cx_error *err);

/* Copy row `i` of `src` into row `row` of `dst`, column by column by name
 * (dst has every column of src, maybe more). */
int cx_rtable_copy_cells(cx_rtable *dst, size_t row, const cx_rtable *src, size_t i, cx_error *err);

/* The three tables every model writes, in the contract's column layout.
 * add_estimate computes z, pvalue and the CI (normal, r->level) from est
 * and se; pass se = NAN for fixed parameters without an SE and
 * std_all = NAN where undefined.  Returns the row index or -1. */
/* The `estimates` table with the contract's columns (created when absent),
 * for a model that adds columns of its own (e.g. std_lv) before rows. */
cx_rtable *cx_result_estimates_table(cx_result *r, cx_error *err);
long cx_result_add_estimate(cx_result *r, const char *lhs, const char *op, const char *rhs,
                            long long group, double est, double se, double std_all, cx_error *err);
int cx_result_add_fit(cx_result *r, const char *measure, double value, cx_error *err);
int cx_result_add_validation(cx_result *r, const char *split, const char *metric, double value,
                             cx_error *err);

/* MPI (engine/dist.h, result_pack.c): the whole result as flat bytes
 * (buf NULL: the bytes needed), and those bytes back into r, replacing
 * what r held (r stays the caller's pointer); CX_EFAIL when malformed. */
size_t cx_result_pack(const cx_result *r, void *buf);
int cx_result_unpack(cx_result *r, const void *buf, size_t size, cx_error *err);

#endif
