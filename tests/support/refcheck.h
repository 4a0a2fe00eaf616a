/*
 * refcheck.h — comparing cxfit output with reference values, for tests.
 *
 * Two parts:
 *  - a mismatch report: check many values against references with a
 *    relative tolerance (absolute near zero), collecting one readable line
 *    per mismatch so a test can show all of a case's mismatches at once
 *    before failing, e.g.
 *      hs_cfa_ml: estimates[visual =~ x2].se = 0.0996 vs lavaan 0.0997
 *      (rel err 1e-3 > 1e-6)
 *  - a reader for cxfit results files (shared/DESIGN.md §5): each job is a
 *    group /<job>, each table a group /<job>/<table> of 1-D columns
 *    (numbers float64 or int64, strings variable-length UTF-8), and the
 *    job's status/message/nobs are attributes of /<job>.
 */
#ifndef CX_TEST_REFCHECK_H
#define CX_TEST_REFCHECK_H

#include <stddef.h>

#include "cx_error.h"

/* ---- comparisons ---------------------------------------------------- */

/* 1 when got agrees with want: |got - want| <= max(rtol * |want|, atol).
 * Two NaNs agree (both "undefined"); NaN against a number does not. */
int ref_close(double got, double want, double rtol, double atol);

typedef struct ref_report {
    char case_name[128]; /* prefix of every line, e.g. "hs_cfa_ml"     */
    char oracle[32];     /* who made the reference, e.g. "lavaan"      */
    char *text;          /* mismatch lines, '\n'-separated (owned)      */
    size_t len, cap;
    int n_checked;
    int n_failed;
} ref_report;

void ref_report_init(ref_report *r, const char *case_name, const char *oracle);
void ref_report_free(ref_report *r);
/* Compare one value; `what` names it ("estimates[visual =~ x2].se").
 * Returns 1 when it agrees, 0 after recording a mismatch line. */
int ref_report_check(ref_report *r, const char *what, double got, double want, double rtol,
                     double atol);
/* Record a mismatch that is not a number (missing row, wrong status...). */
void ref_report_fail(ref_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The collected lines ("" when none). */
const char *ref_report_text(const ref_report *r);

/* ---- results files -------------------------------------------------- */

typedef struct ref_results ref_results;

ref_results *ref_results_open(const char *path, cx_error *err);
void ref_results_close(ref_results *r);

/* 1 when /<job>/<table> exists (table NULL: the job group /<job>). */
int ref_results_has(ref_results *r, const char *job, const char *table);
/* Column as doubles (any numeric type is converted); *n gets the length.
 * Returns a malloc'd array (free()) or NULL with err set. An empty column
 * returns a valid 1-element allocation with *n = 0. */
double *ref_results_column_double(ref_results *r, const char *job, const char *table,
                                  const char *column, size_t *n, cx_error *err);
/* Column of strings (variable- or fixed-length); free with ref_strings_free. */
char **ref_results_column_strings(ref_results *r, const char *job, const char *table,
                                  const char *column, size_t *n, cx_error *err);
void ref_strings_free(char **s, size_t n);

/* Job attributes: a string (malloc'd, free()) such as `status` or
 * `message`, or a number such as `nobs`. */
char *ref_results_attr_string(ref_results *r, const char *job, const char *name, cx_error *err);
int ref_results_attr_double(ref_results *r, const char *job, const char *name, double *out,
                            cx_error *err);

#endif
