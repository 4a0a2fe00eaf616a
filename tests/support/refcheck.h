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
#include "json.h"

/* ---- comparisons ---------------------------------------------------- *
 *
 * A reference test must not be able to pass by comparing nothing.  So:
 *  - a NaN never agrees with anything in ref_close/ref_report_check: a
 *    value the reference leaves undefined (R's NA, written as JSON null)
 *    is matched by ref_report_check_json, and only where the reference
 *    says null explicitly;
 *  - a reference field that is absent (renamed, misspelt, dropped by the
 *    script that wrote the JSON) is a mismatch, never a NaN;
 *  - every case ends with ref_report_require(r, min): the number of values
 *    it compared, with `min` derived from the reference (rows x columns),
 *    so a case that lost its rows fails. */

/* 1 when got agrees with want: |got - want| <= max(rtol * |want|, atol).
 * A NaN on either side does not agree (see above). */
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
/* Compare with a reference JSON value `want` (NULL: absent from the
 * reference, a mismatch).  JSON null agrees only with a NaN `got`; a
 * number as ref_report_check; anything else is a mismatch.  Every call
 * counts as one comparison. */
int ref_report_check_json(ref_report *r, const char *what, double got, const json_value *want,
                          double rtol, double atol);
/* The same for member `key` of reference object `obj`. */
int ref_report_check_field(ref_report *r, const char *what, double got, const json_value *obj,
                           const char *key, double rtol, double atol);
/* Structural reference fields (row keys such as lhs/op/group, counts):
 * member `key` of `obj`, which must be present and of the type asked for.
 * Otherwise a mismatch is recorded and NAN / "" returned, so a caller can
 * go on without crashing and the case still fails. */
double ref_json_number(ref_report *r, const json_value *obj, const char *key);
const char *ref_json_string(ref_report *r, const json_value *obj, const char *key);
/* The end of a case: at least `min_checked` (and at least one) values
 * were compared.  Records a mismatch naming both counts otherwise;
 * returns 1 when the requirement holds. */
int ref_report_require(ref_report *r, int min_checked);
/* Record a mismatch that is not a number (missing row, wrong status...). */
void ref_report_fail(ref_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The collected lines ("" when none). */
const char *ref_report_text(const ref_report *r);
/* Close a case: print its mismatches to stderr when there are any, then
 * free the report.  Returns 1 when the case failed, 0 when it passed. */
int ref_report_finish(ref_report *r);

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
