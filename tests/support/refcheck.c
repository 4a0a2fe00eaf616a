/*
 * refcheck.c — tolerance checks with readable mismatch reports, and a
 * small reader for cxfit results files (see refcheck.h).
 *
 * The reader is deliberately independent of engine/results.c: a test that
 * reads the file back with its own code catches writer bugs that a shared
 * implementation would hide.
 */
#include "refcheck.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- comparisons ---------------------------------------------------- */

int ref_close(double got, double want, double rtol, double atol)
{
    if (isnan(want) || isnan(got))
        return 0; /* undefined values agree only through ref_report_check_json */
    if (isinf(want) || isinf(got))
        return got == want;
    double tol = fmax(rtol * fabs(want), atol);
    return fabs(got - want) <= tol;
}

void ref_report_init(ref_report *r, const char *case_name, const char *oracle)
{
    memset(r, 0, sizeof *r);
    snprintf(r->case_name, sizeof r->case_name, "%s", case_name ? case_name : "");
    snprintf(r->oracle, sizeof r->oracle, "%s", oracle ? oracle : "reference");
}

void ref_report_free(ref_report *r)
{
    free(r->text);
    r->text = NULL;
    r->len = r->cap = 0;
}

/* Append one line; on allocation failure the line is dropped but the
 * failure count still makes the test fail. */
static void append_line(ref_report *r, const char *line)
{
    size_t n = strlen(line);
    if (r->len + n + 2 > r->cap) {
        size_t cap = (r->cap ? r->cap * 2 : 1024) + n + 2;
        char *t = realloc(r->text, cap);
        if (!t)
            return;
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, line, n);
    r->len += n;
    r->text[r->len++] = '\n';
    r->text[r->len] = '\0';
}

void ref_report_fail(ref_report *r, const char *fmt, ...)
{
    char body[768], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s: %s", r->case_name, body);
    r->n_failed++;
    append_line(r, line);
}

int ref_report_check(ref_report *r, const char *what, double got, double want, double rtol,
                     double atol)
{
    r->n_checked++;
    if (ref_close(got, want, rtol, atol))
        return 1;
    /* Say which tolerance was the binding one, so a reader knows whether
     * the value is near zero (absolute) or not (relative). */
    double diff = fabs(got - want);
    if (isfinite(diff) && rtol * fabs(want) >= atol)
        ref_report_fail(r, "%s = %.10g vs %s %.10g (rel err %.2g > %.2g)", what, got, r->oracle,
                        want, diff / fabs(want), rtol);
    else if (isfinite(diff))
        ref_report_fail(r, "%s = %.10g vs %s %.10g (abs err %.2g > %.2g)", what, got, r->oracle,
                        want, diff, atol);
    else if (isnan(want))
        ref_report_fail(r,
                        "%s = %.10g vs %s NaN (a reference value must be a number, or "
                        "JSON null read with ref_report_check_json)",
                        what, got, r->oracle);
    else
        ref_report_fail(r, "%s = %.10g vs %s %.10g", what, got, r->oracle, want);
    return 0;
}

int ref_report_check_json(ref_report *r, const char *what, double got, const json_value *want,
                          double rtol, double atol)
{
    if (!want) {
        r->n_checked++;
        ref_report_fail(r, "%s: missing from the %s reference (field absent or renamed)", what,
                        r->oracle);
        return 0;
    }
    if (json_type_of(want) == JSON_NULL) {
        r->n_checked++;
        if (isnan(got))
            return 1;
        ref_report_fail(r, "%s = %.10g vs %s NA (null)", what, got, r->oracle);
        return 0;
    }
    if (json_type_of(want) != JSON_NUMBER) {
        r->n_checked++;
        ref_report_fail(r, "%s: the %s reference is not a number", what, r->oracle);
        return 0;
    }
    return ref_report_check(r, what, got, json_number(want), rtol, atol);
}

int ref_report_check_field(ref_report *r, const char *what, double got, const json_value *obj,
                           const char *key, double rtol, double atol)
{
    return ref_report_check_json(r, what, got, json_get(obj, key), rtol, atol);
}

double ref_json_number(ref_report *r, const json_value *obj, const char *key)
{
    const json_value *v = json_get(obj, key);
    if (json_type_of(v) == JSON_NUMBER)
        return json_number(v);
    ref_report_fail(r, "reference field '%s' %s", key,
                    v ? "is not a number" : "is missing (absent or renamed)");
    return NAN;
}

const char *ref_json_string(ref_report *r, const json_value *obj, const char *key)
{
    const char *s = json_string(json_get(obj, key));
    if (s)
        return s;
    ref_report_fail(r, "reference field '%s' %s", key,
                    json_get(obj, key) ? "is not a string" : "is missing (absent or renamed)");
    return "";
}

int ref_report_require(ref_report *r, int min_checked)
{
    if (min_checked < 1)
        min_checked = 1;
    if (r->n_checked >= min_checked)
        return 1;
    ref_report_fail(r, "compared %d values, expected at least %d from the reference", r->n_checked,
                    min_checked);
    return 0;
}

const char *ref_report_text(const ref_report *r)
{
    return r->text ? r->text : "";
}

int ref_report_finish(ref_report *r)
{
    int failed = r->n_failed != 0;
    if (failed)
        fputs(ref_report_text(r), stderr);
    ref_report_free(r);
    return failed;
}

/* ---- results files -------------------------------------------------- */

struct ref_results {
    hid_t file;
    char path[512];
};

ref_results *ref_results_open(const char *path, cx_error *err)
{
    ref_results *r = cx_calloc(1, sizeof *r, err);
    if (!r)
        return NULL;
    snprintf(r->path, sizeof r->path, "%s", path);
    /* Silence HDF5's own stderr dump: the error travels through err. */
    H5E_BEGIN_TRY
    {
        r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (r->file < 0) {
        cx_error_set(err, CX_EIO, "%s: cannot open as HDF5", path);
        free(r);
        return NULL;
    }
    return r;
}

void ref_results_close(ref_results *r)
{
    if (!r)
        return;
    H5Fclose(r->file);
    free(r);
}

/* Does the link `path` exist?  Checked one component at a time because
 * H5Lexists fails (rather than answering 0) when a parent is missing. */
static int link_exists(hid_t file, const char *job, const char *table, const char *column)
{
    const char *parts[3] = {job, table, column};
    char path[1024] = "";
    for (int i = 0; i < 3 && parts[i]; i++) {
        size_t used = strlen(path);
        snprintf(path + used, sizeof path - used, "/%s", parts[i]);
        htri_t ok;
        H5E_BEGIN_TRY
        {
            ok = H5Lexists(file, path, H5P_DEFAULT);
        }
        H5E_END_TRY;
        if (ok <= 0)
            return 0;
    }
    return 1;
}

int ref_results_has(ref_results *r, const char *job, const char *table)
{
    return link_exists(r->file, job, table, NULL);
}

/* Open /job/table/column and return its length, or a negative id. */
static hid_t open_column(ref_results *r, const char *job, const char *table, const char *column,
                         size_t *n, cx_error *err)
{
    if (!link_exists(r->file, job, table, column)) {
        cx_error_set(err, CX_EIO, "%s: no column /%s/%s/%s", r->path, job, table, column);
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof path, "/%s/%s/%s", job, table, column);
    hid_t ds = H5Dopen2(r->file, path, H5P_DEFAULT);
    hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dims[1] = {0};
    int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
             H5Sget_simple_extent_dims(space, dims, NULL) == 1;
    if (space >= 0)
        H5Sclose(space);
    if (!ok) {
        if (ds >= 0)
            H5Dclose(ds);
        cx_error_set(err, CX_EIO, "%s: %s is not a 1-D dataset", r->path, path);
        return -1;
    }
    *n = (size_t)dims[0];
    return ds;
}

double *ref_results_column_double(ref_results *r, const char *job, const char *table,
                                  const char *column, size_t *n, cx_error *err)
{
    hid_t ds = open_column(r, job, table, column, n, err);
    if (ds < 0)
        return NULL;
    hid_t ftype = H5Dget_type(ds);
    int numeric = H5Tget_class(ftype) == H5T_FLOAT || H5Tget_class(ftype) == H5T_INTEGER;
    H5Tclose(ftype);
    double *v = numeric ? cx_malloc((*n ? *n : 1) * sizeof *v, err) : NULL;
    if (!numeric)
        cx_error_set(err, CX_EIO, "%s: /%s/%s/%s is not numeric", r->path, job, table, column);
    /* HDF5 converts integer columns to double while reading into the
     * contiguous buffer. */
    if (v && *n && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        cx_error_set(err, CX_EIO, "%s: cannot read /%s/%s/%s", r->path, job, table, column);
        free(v);
        v = NULL;
    }
    H5Dclose(ds);
    return v;
}

void ref_strings_free(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Copy n variable-length strings read by HDF5 into malloc'd copies. */
static char **copy_vlen(char **raw, size_t n, cx_error *err)
{
    char **out = cx_calloc(n ? n : 1, sizeof *out, err);
    for (size_t i = 0; out && i < n; i++) {
        out[i] = cx_strdup(raw[i] ? raw[i] : "", err);
        if (!out[i]) {
            ref_strings_free(out, i);
            return NULL;
        }
    }
    return out;
}

/* Split a fixed-length string buffer (n slots of `size` bytes, maybe not
 * NUL-terminated) into malloc'd strings. */
static char **copy_fixed(const char *buf, size_t size, size_t n, cx_error *err)
{
    char **out = cx_calloc(n ? n : 1, sizeof *out, err);
    for (size_t i = 0; out && i < n; i++) {
        out[i] = cx_calloc(size + 1, 1, err);
        if (!out[i]) {
            ref_strings_free(out, i);
            return NULL;
        }
        memcpy(out[i], buf + i * size, size);
    }
    return out;
}

/* Read n strings from a dataset (is_attr = 0) or attribute (is_attr = 1)
 * whose file type is ftype, in either string flavour. */
static char **read_strings(hid_t obj, int is_attr, hid_t ftype, hid_t space, size_t n,
                           cx_error *err)
{
    char **out = NULL;
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    if (H5Tis_variable_str(ftype) > 0) {
        H5Tset_size(mtype, H5T_VARIABLE);
        char **raw = cx_calloc(n ? n : 1, sizeof *raw, err);
        herr_t rc = !raw      ? -1
                    : is_attr ? H5Aread(obj, mtype, raw)
                              : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
        if (rc >= 0) {
            out = copy_vlen(raw, n, err);
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
        }
        free(raw);
    } else {
        size_t size = H5Tget_size(ftype);
        H5Tset_size(mtype, size);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        char *buf = cx_calloc(n ? n * size : 1, 1, err);
        herr_t rc = !buf      ? -1
                    : is_attr ? H5Aread(obj, mtype, buf)
                              : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        if (rc >= 0)
            out = copy_fixed(buf, size, n, err);
        free(buf);
    }
    H5Tclose(mtype);
    return out;
}

char **ref_results_column_strings(ref_results *r, const char *job, const char *table,
                                  const char *column, size_t *n, cx_error *err)
{
    hid_t ds = open_column(r, job, table, column, n, err);
    if (ds < 0)
        return NULL;
    hid_t ftype = H5Dget_type(ds);
    hid_t space = H5Dget_space(ds);
    char **out = NULL;
    if (H5Tget_class(ftype) != H5T_STRING)
        cx_error_set(err, CX_EIO, "%s: /%s/%s/%s is not a string column", r->path, job, table,
                     column);
    else if (!(out = read_strings(ds, 0, ftype, space, *n, err)) && err && err->code == CX_OK)
        cx_error_set(err, CX_EIO, "%s: cannot read /%s/%s/%s", r->path, job, table, column);
    H5Sclose(space);
    H5Tclose(ftype);
    H5Dclose(ds);
    return out;
}

/* Open attribute `name` of /job, or fail with a message naming both. */
static hid_t open_attr(ref_results *r, const char *job, const char *name, cx_error *err)
{
    char path[512];
    snprintf(path, sizeof path, "/%s", job);
    htri_t ok = 0;
    if (link_exists(r->file, job, NULL, NULL)) {
        H5E_BEGIN_TRY
        {
            ok = H5Aexists_by_name(r->file, path, name, H5P_DEFAULT);
        }
        H5E_END_TRY;
    }
    if (ok <= 0) {
        cx_error_set(err, CX_EIO, "%s: no attribute %s on /%s", r->path, name, job);
        return -1;
    }
    return H5Aopen_by_name(r->file, path, name, H5P_DEFAULT, H5P_DEFAULT);
}

char *ref_results_attr_string(ref_results *r, const char *job, const char *name, cx_error *err)
{
    hid_t a = open_attr(r, job, name, err);
    if (a < 0)
        return NULL;
    hid_t ftype = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    char *s = NULL;
    if (H5Tget_class(ftype) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
        char **one = read_strings(a, 1, ftype, space, 1, err);
        if (one) {
            s = one[0];
            free(one);
        }
    }
    if (!s && err && err->code == CX_OK)
        cx_error_set(err, CX_EIO, "%s: attribute %s of /%s is not one string", r->path, name, job);
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(a);
    return s;
}

int ref_results_attr_double(ref_results *r, const char *job, const char *name, double *out,
                            cx_error *err)
{
    hid_t a = open_attr(r, job, name, err);
    if (a < 0)
        return CX_EIO;
    hid_t ftype = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    H5T_class_t cls = H5Tget_class(ftype);
    int rc = CX_OK;
    if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Sget_simple_extent_npoints(space) != 1 ||
        H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0)
        rc = cx_error_set(err, CX_EIO, "%s: attribute %s of /%s is not one number", r->path, name,
                          job);
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(a);
    return rc;
}
