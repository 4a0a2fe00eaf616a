/*
 * tabletest.h — reading cxfit tables in tests: open one, fetch a whole
 * column as doubles.  Both fail the running cmocka test (with the reader's
 * message) instead of returning errors, so tests stay short.
 */
#ifndef CX_TABLETEST_H
#define CX_TABLETEST_H

#include <stdio.h>

#include "json.h"
#include "refcheck.h"
#include "table.h"

/* Open table `group` of HDF5 file `h5`. */
cx_table *tt_open_table(const char *h5, const char *group);
/* Column `name` of `t`, every row, missing values as NaN (caller frees). */
double *tt_read_column(cx_table *t, const char *name);

/* A /truth table (categorical lhs, op, rhs as `cxfit simulate` writes
 * them) read once, for tests that look many rows up. */
typedef struct tt_truth {
    cx_table *t;
    size_t n;
    double *code[3], *value;
} tt_truth;

/* Read /truth of file `h5` into `tr` (release with tt_truth_close). */
void tt_truth_open(tt_truth *tr, const char *h5);
void tt_truth_close(tt_truth *tr);
/* The value of row (lhs, op, rhs); fails the test when absent. */
double tt_truth_find(const tt_truth *tr, const char *lhs, const char *op, const char *rhs);

/* The value of row (lhs, op, rhs) of the open /truth table `truth`;
 * fails the test when absent. */
double tt_truth_value(cx_table *truth, const char *lhs, const char *op, const char *rhs);
/* The same, opening /truth of file `h5`. */
double tt_truth_value_in(const char *h5, const char *lhs, const char *op, const char *rhs);

/* `cxfit simulate`'s measurement model, 4 factors PEX OUT MOT POM of 5
 * items each (pex1..pex5, out1..out5, ...), written as the value of a
 * config's `syntax =` key: one factor a line, continuation lines indented. */
void tt_write_sim_syntax(FILE *fp);

/* Run config `ini` (2 threads, quiet) into a results file in a fresh
 * directory made from the mkdtemp template `dir`; its path goes to
 * `out` (outlen bytes).  Returns the opened results file. */
ref_results *tt_run_config(const char *ini, char *dir, char *out, size_t outlen);
/* Run config `ini` (2 threads, quiet) into results file `out` and open
 * it; fails the test when the run or the open fails. */
ref_results *tt_run_to(const char *ini, const char *out);
/* Fail the test, naming the job's message, unless job `job` of `res` has
 * status "ok". */
void tt_expect_ok(ref_results *res, const char *job);

/* Copy the shipped config `src` to `ini`, with its line starting
 * `data_line` (the [data] file) replaced by `file  = h5` and any
 * `file = ../results/` line dropped; fails the test when `data_line`
 * is not there. */
void tt_config_with_data(const char *src, const char *data_line, const char *h5,
                         const char *ini);

/* `source_dir`/tests/reference/`name`.json parsed (caller json_free()s);
 * fails the test when it cannot be read.  Tests call tt_reference_json:
 * CX_SOURCE_DIR is defined for test executables, not this library. */
json_value *tt_reference_json_in(const char *source_dir, const char *name);
#define tt_reference_json(name) tt_reference_json_in(CX_SOURCE_DIR, (name))

#endif
