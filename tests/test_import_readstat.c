/*
 * test_import_readstat.c — `cxfit import` of SPSS and Stata files
 * (engine/import_readstat.c).
 *
 * Fixtures are written here with ReadStat's own writer (so no R is
 * needed): value labels on a nominal and on a scale variable, user-missing
 * codes and ranges, a string, a date; the import must give the numbers,
 * missing values, categories, value-label attributes and units the rule of
 * docs/DECISIONS.md ("Import") says.  The bundled example written by R's
 * haven (datasets/survey_example.sav/.dta) is compared with what haven
 * reads back (tests/reference/survey_example.json, from
 * scripts/make_sav_example.R).  Bad files — truncated, a .dta named .sav,
 * labels that do not fit the values — fail with one line and leave no
 * file and no table behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <math.h>
#include <readstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "json.h"
#include "table.h"
#include "table_write.h"
#include "tabletest.h"

#define DIR CX_BINARY_DIR "/test_import_rs_"

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void remove_outputs(const char *h5)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    unlink(h5);
    unlink(tmp);
}

static const cx_column_info *info(cx_table *t, const char *name)
{
    int j = cx_table_find(t, name);
    if (j < 0)
        fail_msg("no column '%s'", name);
    return cx_table_column(t, (size_t)j);
}

/* ---------- fixtures through ReadStat's writer ---------- */

static ssize_t write_bytes(const void *data, size_t len, void *ctx)
{
    return (ssize_t)fwrite(data, 1, len, (FILE *)ctx);
}

#define FIX_ROWS 7
/* sat: 1-5 scale with labels, 9 user-missing; seg: nominal 1-3; grp text;
 * score: range 90-99 missing; day: a date; w: decimals. */
static const double fix_sat[FIX_ROWS] = {1, 5, 9, 3, NAN, 2, 4};
static const double fix_seg[FIX_ROWS] = {2, 1, 3, 3, 2, NAN, 1};
static const char *const fix_grp[FIX_ROWS] = {"b", "a ", "", "b", "c", "a", "Zed"};
static const double fix_score[FIX_ROWS] = {10, 95, 0, 99, 90, 89, 100};
static const double fix_w[FIX_ROWS] = {0.5, 1.25, 2, NAN, 1, 1, 3.75};

/* 2024-03-01 is day 19783 since 1970; SPSS counts seconds since 1582-10-14. */
#define DAY0 19783.0
#define SPSS_SECONDS(days) (((days) + 141428.0) * 86400.0)

static void write_sav_fixture(const char *path, double unlabelled_seg, int duplicate_label)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_bytes);
    readstat_label_set_t *sat_labels = readstat_add_label_set(w, READSTAT_TYPE_DOUBLE, "agree");
    readstat_label_double_value(sat_labels, 1, "Very bad");
    readstat_label_double_value(sat_labels, 5, "Very good");
    readstat_label_double_value(sat_labels, 9, "Don't know");
    readstat_label_set_t *seg_labels = readstat_add_label_set(w, READSTAT_TYPE_DOUBLE, "segs");
    readstat_label_double_value(seg_labels, 3, "Gamma");
    readstat_label_double_value(seg_labels, 1, "Alpha");
    readstat_label_double_value(seg_labels, 2, duplicate_label ? "Alpha" : "Beta");

    readstat_variable_t *sat = readstat_add_variable(w, "sat", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_set_label(sat, "How satisfied are you?");
    readstat_variable_set_label_set(sat, sat_labels);
    readstat_variable_set_measure(sat, READSTAT_MEASURE_SCALE);
    readstat_variable_add_missing_double_value(sat, 9);
    readstat_variable_t *seg = readstat_add_variable(w, "seg", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_set_label_set(seg, seg_labels);
    readstat_variable_set_measure(seg, READSTAT_MEASURE_NOMINAL);
    readstat_variable_t *grp = readstat_add_variable(w, "grp", READSTAT_TYPE_STRING, 8);
    readstat_variable_t *score = readstat_add_variable(w, "score", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_add_missing_double_range(score, 90, 99);
    readstat_variable_t *day = readstat_add_variable(w, "day", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_set_format(day, "DATE11");
    readstat_variable_t *wt = readstat_add_variable(w, "w", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_set_format(wt, "F8.2");

    assert_int_equal(readstat_begin_writing_sav(w, f, FIX_ROWS), READSTAT_OK);
    for (int i = 0; i < FIX_ROWS; i++) {
        readstat_begin_row(w);
        double segv = i == 3 && !isnan(unlabelled_seg) ? unlabelled_seg : fix_seg[i];
        const double nums[] = {fix_sat[i], segv};
        readstat_variable_t *numvars[] = {sat, seg};
        for (int k = 0; k < 2; k++)
            if (isnan(nums[k]))
                readstat_insert_missing_value(w, numvars[k]);
            else
                readstat_insert_double_value(w, numvars[k], nums[k]);
        readstat_insert_string_value(w, grp, fix_grp[i]);
        readstat_insert_double_value(w, score, fix_score[i]);
        if (i == 2)
            readstat_insert_missing_value(w, day);
        else
            readstat_insert_double_value(w, day, SPSS_SECONDS(DAY0 + i));
        if (isnan(fix_w[i]))
            readstat_insert_missing_value(w, wt);
        else
            readstat_insert_double_value(w, wt, fix_w[i]);
        readstat_end_row(w);
    }
    assert_int_equal(readstat_end_writing(w), READSTAT_OK);
    readstat_writer_free(w);
    fclose(f);
}

/* Stata: typed integers, labels stored after the data, tagged missing .a,
 * a %td date (days since 1960). */
static void write_dta_fixture(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_bytes);
    readstat_label_set_t *labels = readstat_add_label_set(w, READSTAT_TYPE_INT32, "yesno");
    readstat_label_int32_value(labels, 0, "No");
    readstat_label_int32_value(labels, 1, "Yes");
    readstat_label_tagged_value(labels, 'a', "Refused");
    readstat_variable_t *yes = readstat_add_variable(w, "yes", READSTAT_TYPE_INT8, 0);
    readstat_variable_set_label(yes, "Would you recommend us?");
    readstat_variable_set_label_set(yes, labels);
    readstat_variable_t *n = readstat_add_variable(w, "n", READSTAT_TYPE_INT16, 0);
    readstat_variable_t *day = readstat_add_variable(w, "day", READSTAT_TYPE_INT32, 0);
    readstat_variable_set_format(day, "%td");
    readstat_variable_t *x = readstat_add_variable(w, "x", READSTAT_TYPE_DOUBLE, 0);
    readstat_writer_set_file_format_version(w, 118);
    assert_int_equal(readstat_begin_writing_dta(w, f, 4), READSTAT_OK);
    for (int i = 0; i < 4; i++) {
        readstat_begin_row(w);
        if (i == 2)
            readstat_insert_tagged_missing_value(w, yes, 'a');
        else
            readstat_insert_int8_value(w, yes, (int8_t)(i % 2));
        readstat_insert_int16_value(w, n, (int16_t)(-300 + 200 * i));
        readstat_insert_int32_value(w, day, (int32_t)(DAY0 + 3653 + i));
        readstat_insert_double_value(w, x, 0.25 * i);
        readstat_end_row(w);
    }
    assert_int_equal(readstat_end_writing(w), READSTAT_OK);
    readstat_writer_free(w);
    fclose(f);
}

/* ---------- reading attributes back ---------- */

static char *read_text_attr(const char *h5, const char *dset, const char *attr)
{
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    char *out = NULL;
    if (H5Aexists(d, attr) > 0) {
        hid_t a = H5Aopen(d, attr, H5P_DEFAULT), t = H5Aget_type(a);
        char *s = NULL;
        assert_true(H5Aread(a, t, &s) >= 0);
        out = strdup(s);
        H5free_memory(s);
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Dclose(d);
    H5Fclose(f);
    return out;
}

/* value_labels / value_label_values of `dset`: returns n, fills up to cap. */
static size_t read_value_labels(const char *h5, const char *dset, double *values, char **labels,
                                size_t cap)
{
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    size_t n = 0;
    if (H5Aexists(d, "value_labels") > 0) {
        hid_t a = H5Aopen(d, "value_labels", H5P_DEFAULT), t = H5Aget_type(a);
        hid_t s = H5Aget_space(a);
        n = (size_t)H5Sget_simple_extent_npoints(s);
        assert_true(n <= cap);
        char *raw[64];
        assert_true(H5Aread(a, t, raw) >= 0);
        for (size_t i = 0; i < n; i++)
            labels[i] = strdup(raw[i]);
        H5Dvlen_reclaim(t, s, H5P_DEFAULT, raw);
        H5Sclose(s);
        H5Tclose(t);
        H5Aclose(a);
        a = H5Aopen(d, "value_label_values", H5P_DEFAULT);
        assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, values) >= 0);
        H5Aclose(a);
    }
    H5Dclose(d);
    H5Fclose(f);
    return n;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
}

/* ---------- the rule, on the SPSS fixture ---------- */

static void test_sav_roundtrip(void **state)
{
    (void)state;
    const char *sav = DIR "fix.sav", *h5 = DIR "fix.h5";
    write_sav_fixture(sav, NAN, 0);
    remove_outputs(h5);
    cx_error err = {0};
    cx_import_summary sum = {0};
    assert_int_equal(cx_import(sav, h5, NULL, &sum, &err), CX_OK);
    assert_int_equal(sum.nrows, FIX_ROWS);
    assert_int_equal(sum.ncols, 6);
    assert_int_equal(sum.format, CX_IMPORT_SAV);

    cx_table *t = tt_open_table(h5, "/data");
    assert_int_equal(cx_table_nrows(t), FIX_ROWS);

    /* scale + labels: stays a number (uint8), 9 (user-missing) and
     * system missing are missing, the labels an attribute without 9 */
    const cx_column_info *c = info(t, "sat");
    assert_int_equal(c->kind, CX_COL_INT);
    assert_int_equal(c->bytes, 1);
    assert_string_equal(c->label, "How satisfied are you?");
    double *x = tt_read_column(t, "sat");
    for (int i = 0; i < FIX_ROWS; i++)
        if (fix_sat[i] == 9 || isnan(fix_sat[i]))
            assert_true(isnan(x[i]));
        else
            assert_true(x[i] == fix_sat[i]);
    free(x);
    double values[8];
    char *labels[8];
    size_t n = read_value_labels(h5, "/data/sat", values, labels, 8);
    assert_int_equal(n, 2);
    assert_true(values[0] == 1 && values[1] == 5);
    assert_string_equal(labels[0], "Very bad");
    assert_string_equal(labels[1], "Very good");
    free_strings(labels, n);

    /* nominal + labels: categorical, categories in value order */
    c = info(t, "seg");
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_int_equal(c->n_categories, 3);
    assert_string_equal(c->categories[0], "Alpha");
    assert_string_equal(c->categories[1], "Beta");
    assert_string_equal(c->categories[2], "Gamma");
    assert_null(c->label);
    x = tt_read_column(t, "seg");
    for (int i = 0; i < FIX_ROWS; i++)
        if (isnan(fix_seg[i]))
            assert_true(isnan(x[i]));
        else
            assert_true(x[i] == fix_seg[i] - 1);
    free(x);

    /* text: categorical, trailing blanks dropped, empty missing, byte order */
    c = info(t, "grp");
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_int_equal(c->n_categories, 4);
    const char *want[] = {"Zed", "a", "b", "c"};
    for (int k = 0; k < 4; k++)
        assert_string_equal(c->categories[k], want[k]);
    x = tt_read_column(t, "grp");
    assert_true(x[0] == 2 && x[1] == 1 && isnan(x[2]) && x[3] == 2 && x[4] == 3 && x[5] == 1 &&
                x[6] == 0);
    free(x);

    /* missing range 90..99: 95, 99, 90 missing; 89 and 100 kept */
    c = info(t, "score");
    assert_int_equal(c->kind, CX_COL_INT);
    x = tt_read_column(t, "score");
    for (int i = 0; i < FIX_ROWS; i++)
        if (fix_score[i] >= 90 && fix_score[i] <= 99)
            assert_true(isnan(x[i]));
        else
            assert_true(x[i] == fix_score[i]);
    free(x);

    /* date: float64 days since 1970 */
    c = info(t, "day");
    assert_int_equal(c->kind, CX_COL_FLOAT);
    char *units = read_text_attr(h5, "/data/day", "units");
    assert_string_equal(units, "days since 1970-01-01");
    free(units);
    x = tt_read_column(t, "day");
    for (int i = 0; i < FIX_ROWS; i++)
        assert_true(i == 2 ? isnan(x[i]) : x[i] == DAY0 + i);
    free(x);

    c = info(t, "w");
    assert_int_equal(c->kind, CX_COL_FLOAT);
    x = tt_read_column(t, "w");
    for (int i = 0; i < FIX_ROWS; i++)
        assert_true(isnan(fix_w[i]) ? isnan(x[i]) : x[i] == fix_w[i]);
    free(x);
    cx_table_close(t);
}

/* --categorical and --numeric turn the rule around per column; an
 * unlabelled value in a categorical column is an error naming the row. */
static void test_overrides_and_fit(void **state)
{
    (void)state;
    const char *sav = DIR "fit.sav", *h5 = DIR "fit.h5";
    write_sav_fixture(sav, NAN, 0);
    cx_error err = {0};

    /* sat holds 3, 2, 4: no labels -> forcing it categorical cannot fit */
    remove_outputs(h5);
    cx_import_options cat_sat = {.categorical = "sat"};
    assert_int_equal(cx_import(sav, h5, &cat_sat, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "column 'sat', row 4: value 3 has no value label"));
    assert_non_null(strstr(err.msg, "--numeric sat"));
    assert_null(strchr(err.msg, '\n'));
    assert_false(file_exists(h5));

    /* seg forced numeric: codes kept as numbers, labels as attributes */
    remove_outputs(h5);
    cx_import_options num_seg = {.numeric = "seg"};
    assert_int_equal(cx_import(sav, h5, &num_seg, NULL, &err), CX_OK);
    cx_table *t = tt_open_table(h5, "/data");
    assert_int_equal(info(t, "seg")->kind, CX_COL_INT);
    double *x = tt_read_column(t, "seg");
    assert_true(x[0] == 2 && x[2] == 3 && isnan(x[5]));
    free(x);
    cx_table_close(t);
    double values[8];
    char *labels[8];
    size_t n = read_value_labels(h5, "/data/seg", values, labels, 8);
    assert_int_equal(n, 3);
    assert_true(values[0] == 3 && values[2] == 2); /* file order */
    free_strings(labels, n);

    /* misuse of the options */
    remove_outputs(h5);
    cx_import_options bad = {.categorical = "nope"};
    assert_int_equal(cx_import(sav, h5, &bad, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "no column 'nope'"));
    cx_import_options text_numeric = {.numeric = "grp"};
    assert_int_equal(cx_import(sav, h5, &text_numeric, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "holds text"));
    cx_import_options nolabels = {.categorical = "w"};
    assert_int_equal(cx_import(sav, h5, &nolabels, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "no value labels"));
    cx_import_options both = {.categorical = "seg", .numeric = "seg"};
    assert_int_equal(cx_import(sav, h5, &both, NULL, &err), CX_EUSAGE);
    cx_import_options csv_only = {.no_header = 1};
    assert_int_equal(cx_import(sav, h5, &csv_only, NULL, &err), CX_EUSAGE);
    assert_false(file_exists(h5));
}

/* Labels that do not fit the values: a nominal value without a label, two
 * values with one label. */
static void test_label_set_misfit(void **state)
{
    (void)state;
    const char *sav = DIR "misfit.sav", *h5 = DIR "misfit.h5";
    cx_error err = {0};
    write_sav_fixture(sav, 7, 0);
    remove_outputs(h5);
    assert_int_equal(cx_import(sav, h5, NULL, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "misfit.sav: column 'seg', row 4: value 7 has no value label"));
    assert_non_null(strstr(err.msg, "3 labels, values 1 to 3"));
    assert_false(file_exists(h5));
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    assert_false(file_exists(tmp));

    write_sav_fixture(sav, NAN, 1);
    assert_int_equal(cx_import(sav, h5, NULL, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "value labels 1 and 2 are both 'Alpha'"));
    assert_false(file_exists(h5));
}

static void test_dta(void **state)
{
    (void)state;
    const char *dta = DIR "fix.dta", *h5 = DIR "dta.h5";
    write_dta_fixture(dta);
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import(dta, h5, NULL, NULL, &err), CX_OK);
    cx_table *t = tt_open_table(h5, "/data");
    /* Stata has no measure: labelled numbers stay numbers; .a is missing */
    const cx_column_info *c = info(t, "yes");
    assert_int_equal(c->kind, CX_COL_INT);
    assert_string_equal(c->label, "Would you recommend us?");
    double *x = tt_read_column(t, "yes");
    assert_true(x[0] == 0 && x[1] == 1 && isnan(x[2]) && x[3] == 1);
    free(x);
    double values[8];
    char *labels[8];
    size_t n = read_value_labels(h5, "/data/yes", values, labels, 8);
    assert_int_equal(n, 2); /* the label of .a is not kept */
    assert_string_equal(labels[1], "Yes");
    free_strings(labels, n);
    c = info(t, "n");
    assert_int_equal(c->kind, CX_COL_INT);
    assert_false(c->is_unsigned);
    x = tt_read_column(t, "n");
    assert_true(x[0] == -300 && x[3] == 300);
    free(x);
    x = tt_read_column(t, "day");
    assert_true(x[0] == DAY0 && x[3] == DAY0 + 3);
    free(x);
    x = tt_read_column(t, "x");
    assert_true(x[1] == 0.25 && x[3] == 0.75);
    free(x);
    cx_table_close(t);

    /* labelled Stata values become categories when asked */
    remove_outputs(h5);
    cx_import_options opt = {.categorical = "yes", .table = "/t"};
    assert_int_equal(cx_import(dta, h5, &opt, NULL, &err), CX_OK);
    t = tt_open_table(h5, "/t");
    c = info(t, "yes");
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_string_equal(c->categories[0], "No");
    cx_table_close(t);
}

/* SPSS portable and the SAS formats: numbers, strings, and dates counted
 * from 1582 (SPSS) or 1960 (SAS) arrive as days since 1970. */
static void write_small(const char *path, cx_import_format format)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_bytes);
    int spss = format == CX_IMPORT_POR;
    readstat_variable_t *x = readstat_add_variable(w, "X", READSTAT_TYPE_DOUBLE, 8);
    readstat_variable_t *d = readstat_add_variable(w, "D", READSTAT_TYPE_DOUBLE, 8);
    readstat_variable_set_format(d, spss ? "DATE11" : "DATE9");
    readstat_variable_t *t = readstat_add_variable(w, "T", READSTAT_TYPE_STRING, 4);
    readstat_error_t rc = format == CX_IMPORT_POR        ? readstat_begin_writing_por(w, f, 3)
                          : format == CX_IMPORT_SAS7BDAT ? readstat_begin_writing_sas7bdat(w, f, 3)
                                                         : readstat_begin_writing_xport(w, f, 3);
    assert_int_equal(rc, READSTAT_OK);
    for (int i = 0; i < 3; i++) {
        readstat_begin_row(w);
        readstat_insert_double_value(w, x, 1.5 * i);
        readstat_insert_double_value(w, d, spss ? SPSS_SECONDS(DAY0 + i) : DAY0 + 3653 + i);
        readstat_insert_string_value(w, t, i == 1 ? "yes" : "no");
        readstat_end_row(w);
    }
    assert_int_equal(readstat_end_writing(w), READSTAT_OK);
    readstat_writer_free(w);
    fclose(f);
}

static void test_other_formats(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        cx_import_format format;
    } cases[] = {{DIR "small.por", CX_IMPORT_POR},
                 {DIR "small.sas7bdat", CX_IMPORT_SAS7BDAT},
                 {DIR "small.xpt", CX_IMPORT_XPORT}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *h5 = DIR "small.h5";
        write_small(cases[k].file, cases[k].format);
        remove_outputs(h5);
        cx_error err = {0};
        cx_import_summary sum = {0};
        if (cx_import(cases[k].file, h5, NULL, &sum, &err) != CX_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(sum.format, cases[k].format);
        cx_table *t = tt_open_table(h5, "/data");
        assert_int_equal(cx_table_nrows(t), 3);
        double *x = tt_read_column(t, "X"), *d = tt_read_column(t, "D"),
               *s = tt_read_column(t, "T");
        for (int i = 0; i < 3; i++)
            if (x[i] != 1.5 * i || d[i] != DAY0 + i || s[i] != (i == 1))
                fail_msg("%s row %d: %g %g %g", cases[k].file, i + 1, x[i], d[i], s[i]);
        free(x);
        free(d);
        free(s);
        cx_table_close(t);
    }
}

/* ---------- bad files: one line, exit-3 class, nothing left ---------- */

static void copy_prefix(const char *from, const char *to, long bytes)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    int c;
    for (long i = 0; (bytes < 0 || i < bytes) && (c = getc(in)) != EOF; i++)
        putc(c, out);
    fclose(in);
    fclose(out);
}

static void expect_bad_file(const char *path, int code, const char *want)
{
    const char *h5 = DIR "bad.h5";
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import(path, h5, NULL, NULL, &err), code);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_false(file_exists(h5));
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    assert_false(file_exists(tmp));
}

static void test_bad_files(void **state)
{
    (void)state;
    const char *sav = DIR "good.sav", *dta = DIR "good.dta";
    write_sav_fixture(sav, NAN, 0);
    write_dta_fixture(dta);
    copy_prefix(sav, DIR "trunc.sav", 600);
    expect_bad_file(DIR "trunc.sav", CX_EIO, "trunc.sav: not a readable SPSS .sav file");
    expect_bad_file(DIR "trunc.sav", CX_EIO, "the file is truncated or damaged");
    /* cut inside the data: the dictionary reads, the rows do not */
    FILE *f = fopen(sav, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    copy_prefix(sav, DIR "trunc2.sav", size - 20);
    expect_bad_file(DIR "trunc2.sav", CX_EIO, "trunc2.sav");
    copy_prefix(dta, DIR "renamed.sav", -1);
    expect_bad_file(DIR "renamed.sav", CX_EIO, "its format is Stata .dta: give it that extension");
    copy_prefix(sav, DIR "renamed.dta", -1);
    expect_bad_file(DIR "renamed.dta", CX_EIO, "its format is SPSS .sav");
    expect_bad_file(DIR "absent.sav", CX_EIO, "absent.sav: cannot open");

    /* into an existing file: the failed table is not added, others stay */
    const char *h5 = DIR "keep.h5";
    remove_outputs(h5);
    cx_error err = {0};
    cx_import_options first = {.table = "/first"}, second = {.table = "/second"};
    assert_int_equal(cx_import(sav, h5, &first, NULL, &err), CX_OK);
    assert_int_equal(cx_import(DIR "trunc2.sav", h5, &second, NULL, &err), CX_EIO);
    assert_false(cx_h5_path_exists(h5, "/second"));
    cx_table *t = tt_open_table(h5, "/first");
    assert_int_equal(cx_table_nrows(t), FIX_ROWS);
    cx_table_close(t);
}

/* ---------- many rows: several blocks, bounded buffers ---------- */

static void test_many_rows(void **state)
{
    (void)state;
    const char *sav = DIR "big.zsav", *h5 = DIR "big.h5";
    const long rows = 200003;
    FILE *f = fopen(sav, "wb");
    assert_non_null(f);
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_bytes);
    readstat_writer_set_compression(w, READSTAT_COMPRESS_BINARY);
    readstat_variable_t *i_var = readstat_add_variable(w, "i", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_t *s_var = readstat_add_variable(w, "s", READSTAT_TYPE_STRING, 4);
    assert_int_equal(readstat_begin_writing_sav(w, f, rows), READSTAT_OK);
    for (long r = 0; r < rows; r++) {
        readstat_begin_row(w);
        readstat_insert_double_value(w, i_var, (double)r);
        readstat_insert_string_value(w, s_var, r % 3 ? "b" : "a");
        readstat_end_row(w);
    }
    assert_int_equal(readstat_end_writing(w), READSTAT_OK);
    readstat_writer_free(w);
    fclose(f);

    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import(sav, h5, NULL, NULL, &err), CX_OK);
    cx_table *t = tt_open_table(h5, "/data");
    assert_int_equal(cx_table_nrows(t), rows);
    assert_int_equal(info(t, "i")->bytes, 4);
    double *x = tt_read_column(t, "i"), *s = tt_read_column(t, "s");
    for (long r = 0; r < rows; r++)
        if (x[r] != (double)r || s[r] != (r % 3 ? 1 : 0))
            fail_msg("row %ld differs", r);
    free(x);
    free(s);
    cx_table_close(t);
    unlink(sav);
    unlink(h5);
}

/* ---------- the bundled example written by R's haven ---------- */

static void check_against_reference(const char *file, const json_value *ref)
{
    const char *h5 = DIR "example.h5";
    remove_outputs(h5);
    cx_error err = {0};
    if (cx_import(file, h5, NULL, NULL, &err) != CX_OK)
        fail_msg("%s", err.msg);
    cx_table *t = tt_open_table(h5, "/data");
    size_t nrows = (size_t)json_number(json_get(ref, "nrows"));
    assert_int_equal(cx_table_nrows(t), nrows);
    const json_value *cols = json_get(ref, "columns");
    assert_int_equal(cx_table_ncols(t), json_array_len(cols));
    for (size_t j = 0; j < json_array_len(cols); j++) {
        const json_value *col = json_array_at(cols, j);
        const char *name = json_string(json_get(col, "name"));
        const char *kind = json_string(json_get(col, "kind"));
        const char *label = json_string(json_get(col, "label"));
        const cx_column_info *c = info(t, name);
        if (*label ? !c->label || strcmp(c->label, label) != 0 : c->label != NULL)
            fail_msg("%s: label '%s', want '%s'", name, c->label ? c->label : "(none)", label);
        double *x = tt_read_column(t, name);
        const json_value *values = json_get(col, "values");
        if (strcmp(kind, "categorical") == 0) {
            assert_int_equal(c->kind, CX_COL_CATEGORICAL);
            const json_value *cats = json_get(col, "categories");
            assert_int_equal(c->n_categories, json_array_len(cats));
            for (size_t k = 0; k < c->n_categories; k++)
                assert_string_equal(c->categories[k], json_string(json_array_at(cats, k)));
            for (size_t i = 0; i < nrows; i++) {
                const char *want = json_string(json_array_at(values, i));
                if (!want)
                    assert_true(isnan(x[i]));
                else if (isnan(x[i]) || strcmp(c->categories[(size_t)x[i]], want) != 0)
                    fail_msg("%s row %zu: want '%s'", name, i + 1, want);
            }
        } else {
            assert_int_not_equal(c->kind, CX_COL_CATEGORICAL);
            for (size_t i = 0; i < nrows; i++) {
                double want = json_number(json_array_at(values, i));
                if (isnan(want) ? !isnan(x[i]) : x[i] != want)
                    fail_msg("%s row %zu: %.17g, want %.17g", name, i + 1, x[i], want);
            }
            const json_value *vl = json_get(col, "value_labels");
            double values_got[16];
            char *labels_got[16];
            char path[256];
            snprintf(path, sizeof path, "/data/%s", name);
            size_t n = read_value_labels(h5, path, values_got, labels_got, 16);
            const json_value *want_v = json_get(vl, "values"), *want_l = json_get(vl, "labels");
            assert_int_equal(n, json_array_len(want_v));
            for (size_t k = 0; k < n; k++) {
                assert_true(values_got[k] == json_number(json_array_at(want_v, k)));
                assert_string_equal(labels_got[k], json_string(json_array_at(want_l, k)));
            }
            free_strings(labels_got, n);
        }
        free(x);
    }
    cx_table_close(t);
}

static void test_bundled_example(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/survey_example.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    check_against_reference(CX_SOURCE_DIR "/datasets/survey_example.sav", json_get(ref, "sav"));
    check_against_reference(CX_SOURCE_DIR "/datasets/survey_example.dta", json_get(ref, "dta"));
    json_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sav_roundtrip),    cmocka_unit_test(test_overrides_and_fit),
        cmocka_unit_test(test_label_set_misfit), cmocka_unit_test(test_dta),
        cmocka_unit_test(test_bad_files),        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_bundled_example),  cmocka_unit_test(test_other_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
