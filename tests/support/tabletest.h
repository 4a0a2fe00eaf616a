/*
 * tabletest.h — reading cxfit tables in tests: open one, fetch a whole
 * column as doubles.  Both fail the running cmocka test (with the reader's
 * message) instead of returning errors, so tests stay short.
 */
#ifndef CX_TABLETEST_H
#define CX_TABLETEST_H

#include "refcheck.h"
#include "table.h"

/* Open table `group` of HDF5 file `h5`. */
cx_table *tt_open_table(const char *h5, const char *group);
/* Column `name` of `t`, every row, missing values as NaN (caller frees). */
double *tt_read_column(cx_table *t, const char *name);

/* The value of row (lhs, op, rhs) of a /truth table (categorical lhs,
 * op, rhs as `cxfit simulate` writes them); fails the test when absent. */
double tt_truth_value(cx_table *truth, const char *lhs, const char *op, const char *rhs);
/* The same, opening /truth of file `h5`. */
double tt_truth_value_in(const char *h5, const char *lhs, const char *op, const char *rhs);

/* Run config `ini` (2 threads, quiet) into a results file in a fresh
 * directory made from the mkdtemp template `dir`; its path goes to
 * `out` (outlen bytes).  Returns the opened results file. */
ref_results *tt_run_config(const char *ini, char *dir, char *out, size_t outlen);

#endif
