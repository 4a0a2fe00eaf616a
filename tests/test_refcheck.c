/*
 * test_refcheck.c — tolerance checks, mismatch reports, and reading a
 * small results-like HDF5 file (written here with plain HDF5 calls in the
 * contract's layout) back through the refcheck reader.
 */
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "refcheck.h"

static void test_close(void **state)
{
    (void)state;
    assert_true(ref_close(1.0, 1.0, 1e-6, 1e-8));
    assert_true(ref_close(1.0 + 5e-7, 1.0, 1e-6, 1e-8));
    assert_false(ref_close(1.0 + 2e-6, 1.0, 1e-6, 1e-8));
    /* near zero the absolute tolerance rules */
    assert_true(ref_close(3e-9, 0.0, 1e-6, 1e-8));
    assert_false(ref_close(3e-8, 0.0, 1e-6, 1e-8));
    /* NaN agrees with nothing here, not even NaN: an undefined reference
     * value is matched only as an explicit JSON null (test_json_fields) */
    assert_false(ref_close(NAN, NAN, 1e-6, 1e-8));
    assert_false(ref_close(NAN, 0.0, 1e-6, 1e-8));
    assert_false(ref_close(0.0, NAN, 1e-6, 1e-8));
    assert_true(ref_close(INFINITY, INFINITY, 1e-6, 1e-8));
    assert_false(ref_close(INFINITY, 1e300, 1e-6, 1e-8));
}

static void test_report(void **state)
{
    (void)state;
    ref_report r;
    ref_report_init(&r, "hs_cfa_ml", "lavaan");
    assert_int_equal(
        ref_report_check(&r, "estimates[visual =~ x2].est", 0.5535, 0.5535, 1e-6, 1e-8), 1);
    assert_string_equal(ref_report_text(&r), "");
    assert_int_equal(ref_report_check(&r, "estimates[visual =~ x2].se", 0.0996, 0.0997, 1e-6, 1e-8),
                     0);
    assert_int_equal(ref_report_check(&r, "fit[srmr]", 1e-6, 0.0, 1e-6, 1e-8), 0);
    ref_report_fail(&r, "estimates[a ~ b] missing from cxfit");
    assert_int_equal(r.n_checked, 3);
    assert_int_equal(r.n_failed, 3);
    const char *t = ref_report_text(&r);
    assert_non_null(strstr(t, "hs_cfa_ml: estimates[visual =~ x2].se = 0.0996 vs lavaan 0.0997 "
                              "(rel err 0.001 > 1e-06)\n"));
    assert_non_null(
        strstr(t, "hs_cfa_ml: fit[srmr] = 1e-06 vs lavaan 0 (abs err 1e-06 > 1e-08)\n"));
    assert_non_null(strstr(t, "hs_cfa_ml: estimates[a ~ b] missing from cxfit\n"));
    ref_report_free(&r);
}

/* ref_report_finish counts a case with a mismatch as failed, one without
 * as passed (and frees both). */
static void test_report_finish(void **state)
{
    (void)state;
    ref_report r;
    ref_report_init(&r, "pass", "R");
    ref_report_check(&r, "x", 1.0, 1.0, 1e-6, 0);
    assert_int_equal(ref_report_finish(&r), 0);
    ref_report_init(&r, "fail", "R");
    ref_report_check(&r, "x", 1.0, 1.0, 1e-6, 0);
    ref_report_check(&r, "y", 1.0, 2.0, 1e-6, 0);
    assert_int_equal(ref_report_finish(&r), 1);
}

/* ---- reference fields: absent, null, number ---------------------------- */

static void test_json_fields(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *row =
        json_parse_string("{\"est\": 0.5, \"z\": null, \"lhs\": \"f\", \"n\": \"3\"}", &err);
    assert_non_null(row);
    ref_report r;
    ref_report_init(&r, "case", "lavaan");
    assert_int_equal(ref_report_check_field(&r, "est", 0.5, row, "est", 1e-6, 0), 1);
    /* null agrees with NaN, and only with NaN */
    assert_int_equal(ref_report_check_field(&r, "z", NAN, row, "z", 1e-6, 0), 1);
    assert_int_equal(r.n_failed, 0);
    assert_int_equal(ref_report_check_field(&r, "z", 1.0, row, "z", 1e-6, 0), 0);
    /* NaN against a number */
    assert_int_equal(ref_report_check_field(&r, "est", NAN, row, "est", 1e-6, 0), 0);
    /* a renamed field ("se" is not there): a mismatch, not a NaN */
    assert_int_equal(ref_report_check_field(&r, "se", NAN, row, "se", 1e-6, 0), 0);
    /* a string where a number belongs */
    assert_int_equal(ref_report_check_field(&r, "n", 3, row, "n", 0, 0), 0);
    /* NaN handed to ref_report_check as a reference never agrees */
    assert_int_equal(ref_report_check(&r, "raw", NAN, NAN, 1e-6, 0), 0);
    assert_int_equal(r.n_checked, 7);
    assert_int_equal(r.n_failed, 5);
    const char *t = ref_report_text(&r);
    assert_non_null(strstr(t, "case: z = 1 vs lavaan NA (null)\n"));
    assert_non_null(strstr(t, "case: est = nan vs lavaan 0.5\n"));
    assert_non_null(
        strstr(t, "case: se: missing from the lavaan reference (field absent or renamed)"));
    /* structural fields */
    assert_string_equal(ref_json_string(&r, row, "lhs"), "f");
    assert_true(ref_json_number(&r, row, "est") == 0.5);
    assert_int_equal(r.n_failed, 5);
    assert_string_equal(ref_json_string(&r, row, "rhs"), "");
    assert_true(isnan(ref_json_number(&r, row, "group")));
    assert_true(isnan(ref_json_number(&r, row, "lhs")));
    assert_int_equal(r.n_failed, 8);
    assert_non_null(strstr(ref_report_text(&r), "reference field 'rhs' is missing"));
    ref_report_free(&r);
    json_free(row);
}

/* ---- a whole case in miniature ------------------------------------------
 * The pattern every reference test follows: rows matched by key, each
 * field compared with ref_report_check_field, and at the end
 * ref_report_require(rows x fields) from the reference. */

typedef struct mini_row {
    const char *name;
    double est, se;
} mini_row;

static int mini_case(const char *json, const mini_row *got, size_t n_got, char *text,
                     size_t text_size)
{
    cx_error err = {0};
    json_value *ref = json_parse_string(json, &err);
    assert_non_null(ref);
    ref_report r;
    ref_report_init(&r, "mini", "R");
    const json_value *rows = json_get(ref, "rows");
    for (size_t i = 0; i < json_array_len(rows); i++) {
        const json_value *want = json_array_at(rows, i);
        const char *name = ref_json_string(&r, want, "name");
        size_t k = 0;
        while (k < n_got && strcmp(got[k].name, name) != 0)
            k++;
        if (k == n_got) {
            ref_report_fail(&r, "rows[%s] missing from cxfit", name);
            continue;
        }
        ref_report_check_field(&r, "est", got[k].est, want, "est", 1e-6, 1e-12);
        ref_report_check_field(&r, "se", got[k].se, want, "se", 1e-6, 1e-12);
    }
    ref_report_require(&r, 2 * (int)json_array_len(rows));
    snprintf(text, text_size, "%s", ref_report_text(&r));
    int failed = r.n_failed;
    ref_report_free(&r);
    json_free(ref);
    return failed;
}

static void test_cannot_pass_by_accident(void **state)
{
    (void)state;
    const mini_row got[] = {{"a", 1.0, 0.1}, {"b", 2.0, NAN}};
    char text[2048];
    /* the honest case: 4 values compared, b's se NA on both sides */
    assert_int_equal(mini_case("{\"rows\": [{\"name\": \"a\", \"est\": 1, \"se\": 0.1},"
                               " {\"name\": \"b\", \"est\": 2, \"se\": null}]}",
                               got, 2, text, sizeof text),
                     0);
    /* a renamed field: "std_err" where "se" was */
    assert_int_equal(mini_case("{\"rows\": [{\"name\": \"a\", \"est\": 1, \"std_err\": 0.1},"
                               " {\"name\": \"b\", \"est\": 2, \"se\": null}]}",
                               got, 2, text, sizeof text),
                     1);
    assert_non_null(strstr(text, "se: missing from the R reference"));
    /* NaN in cxfit against a number in the reference */
    assert_int_equal(mini_case("{\"rows\": [{\"name\": \"a\", \"est\": 1, \"se\": 0.1},"
                               " {\"name\": \"b\", \"est\": 2, \"se\": 0.2}]}",
                               got, 2, text, sizeof text),
                     1);
    assert_non_null(strstr(text, "mini: se = nan vs R 0.2"));
    /* a row cxfit lacks: reported, and the count falls short */
    assert_int_equal(mini_case("{\"rows\": [{\"name\": \"a\", \"est\": 1, \"se\": 0.1},"
                               " {\"name\": \"c\", \"est\": 2, \"se\": 0.2}]}",
                               got, 2, text, sizeof text),
                     2);
    assert_non_null(strstr(text, "rows[c] missing from cxfit"));
    assert_non_null(strstr(text, "compared 2 values, expected at least 4"));
    /* zero comparisons: the rows were renamed away, nothing to compare */
    assert_int_equal(mini_case("{\"table\": []}", got, 2, text, sizeof text), 1);
    assert_non_null(strstr(text, "compared 0 values, expected at least 1"));
}

/* ---- a results-like file, written with raw HDF5 ---------------------- */

static void write_doubles(hid_t g, const char *name, const double *v, hsize_t n)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
}

static void write_int64(hid_t g, const char *name, const int64_t *v, hsize_t n)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(g, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
}

static hid_t vlen_utf8(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static void write_strings(hid_t g, const char *name, const char **v, hsize_t n)
{
    hid_t t = vlen_utf8();
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

/* A fixed-length string dataset, as h5py writes for numpy 'S' arrays. */
static void write_fixed_strings(hid_t g, const char *name, const char *buf, size_t size, hsize_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_string(hid_t g, const char *name, const char *value, int fixed)
{
    hid_t t = fixed ? H5Tcopy(H5T_C_S1) : vlen_utf8();
    if (fixed)
        H5Tset_size(t, strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, fixed ? (const void *)value : (const void *)&value);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_double(hid_t g, const char *name, double value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &value);
    H5Aclose(a);
    H5Sclose(sp);
}

#define RESULTS_PATH CX_BINARY_DIR "/test_refcheck_results.h5"

static void write_results_file(void)
{
    hid_t f = H5Fcreate(RESULTS_PATH, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t job = H5Gcreate2(f, "/hs_cfa", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_string(job, "status", "ok", 0);
    attr_string(job, "message", "fixed-length warning", 1);
    attr_double(job, "nobs", 301.0);
    hid_t est = H5Gcreate2(job, "estimates", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *lhs[] = {"visual", "visual", "x1"};
    const char *op[] = {"=~", "=~", "~1"};
    const char *rhs[] = {"x1", "x2", ""};
    const int64_t group[] = {0, 0, 2};
    const double e[] = {1.0, 0.5535002937636620, NAN};
    write_strings(est, "lhs", lhs, 3);
    write_strings(est, "op", op, 3);
    write_strings(est, "rhs", rhs, 3);
    write_int64(est, "group", group, 3);
    write_doubles(est, "est", e, 3);
    write_fixed_strings(est, "code", "abcdef", 3, 2);
    H5Gclose(est);
    H5Gclose(job);
    H5Fclose(f);
}

static void test_results_read(void **state)
{
    (void)state;
    write_results_file();
    cx_error err = {0};
    ref_results *r = ref_results_open(RESULTS_PATH, &err);
    assert_non_null(r);
    assert_true(ref_results_has(r, "hs_cfa", NULL));
    assert_true(ref_results_has(r, "hs_cfa", "estimates"));
    assert_false(ref_results_has(r, "hs_cfa", "fit"));
    assert_false(ref_results_has(r, "other", "estimates"));

    size_t n = 0;
    char **l = ref_results_column_strings(r, "hs_cfa", "estimates", "lhs", &n, &err);
    assert_non_null(l);
    assert_int_equal(n, 3);
    assert_string_equal(l[1], "visual");
    ref_strings_free(l, n);
    char **rh = ref_results_column_strings(r, "hs_cfa", "estimates", "rhs", &n, &err);
    assert_string_equal(rh[2], "");
    ref_strings_free(rh, n);
    char **code = ref_results_column_strings(r, "hs_cfa", "estimates", "code", &n, &err);
    assert_int_equal(n, 2);
    assert_string_equal(code[0], "abc");
    assert_string_equal(code[1], "def");
    ref_strings_free(code, n);

    double *g = ref_results_column_double(r, "hs_cfa", "estimates", "group", &n, &err);
    assert_non_null(g);
    assert_true(g[2] == 2.0);
    free(g);
    double *e = ref_results_column_double(r, "hs_cfa", "estimates", "est", &n, &err);
    assert_true(e[1] == 0.5535002937636620);
    assert_true(isnan(e[2]));
    free(e);
    ref_results_close(r);
}

static void test_results_attrs_and_errors(void **state)
{
    (void)state;
    write_results_file();
    cx_error err = {0};
    ref_results *r = ref_results_open(RESULTS_PATH, &err);
    assert_non_null(r);
    char *status = ref_results_attr_string(r, "hs_cfa", "status", &err);
    assert_string_equal(status, "ok");
    free(status);
    char *msg = ref_results_attr_string(r, "hs_cfa", "message", &err);
    assert_string_equal(msg, "fixed-length warning");
    free(msg);
    double nobs = 0;
    assert_int_equal(ref_results_attr_double(r, "hs_cfa", "nobs", &nobs, &err), CX_OK);
    assert_true(nobs == 301.0);

    size_t n = 0;
    assert_null(ref_results_column_double(r, "hs_cfa", "estimates", "se", &n, &err));
    assert_non_null(strstr(err.msg, "no column /hs_cfa/estimates/se"));
    assert_null(ref_results_column_double(r, "hs_cfa", "estimates", "lhs", &n, &err));
    assert_non_null(strstr(err.msg, "not numeric"));
    assert_null(ref_results_column_strings(r, "hs_cfa", "estimates", "est", &n, &err));
    assert_non_null(strstr(err.msg, "not a string column"));
    assert_null(ref_results_attr_string(r, "hs_cfa", "nobs", &err));
    assert_null(ref_results_attr_string(r, "nojob", "status", &err));
    assert_non_null(strstr(err.msg, "no attribute status on /nojob"));
    assert_int_equal(ref_results_attr_double(r, "hs_cfa", "status", &nobs, &err), CX_EIO);
    ref_results_close(r);

    assert_null(ref_results_open(CX_BINARY_DIR "/no_such_results.h5", &err));
    assert_int_equal(err.code, CX_EIO);
    remove(RESULTS_PATH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close),        cmocka_unit_test(test_report),
        cmocka_unit_test(test_report_finish),
        cmocka_unit_test(test_json_fields),  cmocka_unit_test(test_cannot_pass_by_accident),
        cmocka_unit_test(test_results_read), cmocka_unit_test(test_results_attrs_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
