/*
 * test_import.c — `cxfit import` (engine/import.c) and the table writer it
 * uses (engine/table_write.c): CSVs round-trip through cx_table_open with
 * the inferred types, missing values and sorted categorical labels; bad
 * CSVs fail with one line naming file, line and column and leave no file
 * (or no group) behind.  Nothing is guessed silently: the delimiter is
 * detected (`,` `;` tab) or given, a header that looks like data and NUL
 * bytes are refused, --no-header names columns V1..Vn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "table.h"
#include "table_write.h"
#include "tabletest.h"

#define DIR CX_BINARY_DIR "/test_import_"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_outputs(const char *h5)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    unlink(h5);
    unlink(tmp);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static const cx_column_info *info(cx_table *t, const char *name)
{
    int j = cx_table_find(t, name);
    assert_true(j >= 0);
    return cx_table_column(t, (size_t)j);
}

/* ---------- round trip ---------- */

/* BOM, CRLF, quotes with commas, "" escapes and a newline inside quotes,
 * every missing spelling, a blank line. */
static const char roundtrip_csv[] = "\xEF\xBB\xBF"
                                    "id,\"q1\",score,seg,neg,note,empty\r\n"
                                    "1,7,1.5,zeta,-3,\"a, b\",\r\n"
                                    "2,NA,2,alpha,4,\"say \"\"hi\"\"\",NA\r\n"
                                    "3,1,NaN,\"mid\",.,\"two\nlines\",\r\n"
                                    "\r\n"
                                    "4,,-0.25e1,alpha,-127, plain ,.\r\n"
                                    "5,4,.,,100,\"a, b\",\r\n";

static void test_roundtrip_types(void **state)
{
    (void)state;
    const char *csv = DIR "rt.csv", *h5 = DIR "rt.h5";
    write_text(csv, roundtrip_csv);
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_OK);
    assert_true(file_exists(h5));
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    assert_false(file_exists(tmp));

    cx_table *t = tt_open_table(h5, "/data");
    assert_int_equal(cx_table_nrows(t), 5);
    assert_int_equal(cx_table_ncols(t), 7);
    /* columns come back in header order */
    assert_string_equal(cx_table_column(t, 0)->name, "id");
    assert_string_equal(cx_table_column(t, 6)->name, "empty");

    const cx_column_info *c = info(t, "id");
    assert_int_equal(c->kind, CX_COL_INT);
    assert_int_equal(c->bytes, 1);
    assert_true(c->is_unsigned);
    assert_false(c->has_missing_value);

    c = info(t, "q1"); /* Likert with missing: uint8, missing_value 255 */
    assert_int_equal(c->kind, CX_COL_INT);
    assert_int_equal(c->bytes, 1);
    assert_true(c->is_unsigned);
    assert_true(c->has_missing_value);
    assert_true(c->missing_value == 255.0);
    double *x = tt_read_column(t, "q1");
    assert_true(x[0] == 7 && isnan(x[1]) && x[2] == 1 && isnan(x[3]) && x[4] == 4);
    free(x);

    c = info(t, "score");
    assert_int_equal(c->kind, CX_COL_FLOAT);
    assert_int_equal(c->bytes, 8);
    x = tt_read_column(t, "score");
    assert_true(x[0] == 1.5 && x[1] == 2.0 && isnan(x[2]) && x[3] == -2.5 && isnan(x[4]));
    free(x);

    c = info(t, "seg"); /* labels sorted as R's factor() does; empty = missing */
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_int_equal(c->n_categories, 3);
    assert_string_equal(c->categories[0], "alpha");
    assert_string_equal(c->categories[1], "mid");
    assert_string_equal(c->categories[2], "zeta");
    x = tt_read_column(t, "seg");
    assert_true(x[0] == 2 && x[1] == 0 && x[2] == 1 && x[3] == 0 && isnan(x[4]));
    free(x);

    c = info(t, "neg"); /* -127..100 with a missing cell: int8, -128 missing */
    assert_int_equal(c->kind, CX_COL_INT);
    assert_int_equal(c->bytes, 1);
    assert_false(c->is_unsigned);
    assert_true(c->missing_value == -128.0);
    x = tt_read_column(t, "neg");
    assert_true(x[0] == -3 && x[1] == 4 && isnan(x[2]) && x[3] == -127 && x[4] == 100);
    free(x);

    c = info(t, "note"); /* quoted text: commas, quotes, newline, trimmed plain */
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_int_equal(c->n_categories, 4);
    assert_string_equal(c->categories[0], "a, b");
    assert_string_equal(c->categories[1], "plain");
    assert_string_equal(c->categories[2], "say \"hi\"");
    assert_string_equal(c->categories[3], "two\nlines");

    c = info(t, "empty"); /* nothing but missing cells: float64, all NaN */
    assert_int_equal(c->kind, CX_COL_FLOAT);
    x = tt_read_column(t, "empty");
    for (int i = 0; i < 5; i++)
        assert_true(isnan(x[i]));
    free(x);
    cx_table_close(t);
}

/* The smallest type that fits, with room for the missing value. */
static void test_integer_widths(void **state)
{
    (void)state;
    const char *csv = DIR "w.csv", *h5 = DIR "w.h5";
    write_text(csv, "u8,u8m,u16,i16,u32,i64,big\n"
                    "0,0,0,-200,0,-3000000000,1\n"
                    "255,254,256,200,70000,1,99999999999999999999\n"
                    "1,NA,3,4,5,6,7\n");
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/t/nested", &err), CX_OK);
    cx_table *t = tt_open_table(h5, "/t/nested");
    struct {
        const char *name;
        int bytes, is_unsigned, kind;
    } want[] = {{"u8", 1, 1, CX_COL_INT},   {"u8m", 1, 1, CX_COL_INT}, {"u16", 2, 1, CX_COL_INT},
                {"i16", 2, 0, CX_COL_INT},  {"u32", 4, 1, CX_COL_INT}, {"i64", 8, 0, CX_COL_INT},
                {"big", 8, 0, CX_COL_FLOAT}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const cx_column_info *c = info(t, want[k].name);
        assert_int_equal(c->kind, want[k].kind);
        assert_int_equal(c->bytes, want[k].bytes);
        if (c->kind == CX_COL_INT)
            assert_int_equal(c->is_unsigned, want[k].is_unsigned);
    }
    double *x = tt_read_column(t, "i64");
    assert_true(x[0] == -3e9 && x[2] == 6);
    free(x);
    cx_table_close(t);
}

/* A block-sized table: several chunks and write blocks per column. */
static void test_many_rows(void **state)
{
    (void)state;
    const char *csv = DIR "big.csv", *h5 = DIR "big.h5";
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "i,x,g\n");
    const size_t n = 150001;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%.17g,%s\n", i, 0.5 * (double)i, i % 3 == 0 ? "a" : "b");
    fclose(f);
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_OK);
    cx_table *t = tt_open_table(h5, "/data");
    assert_int_equal(cx_table_nrows(t), n);
    assert_int_equal(info(t, "i")->bytes, 4);
    double *i = tt_read_column(t, "i"), *x = tt_read_column(t, "x"), *g = tt_read_column(t, "g");
    for (size_t r = 0; r < n; r++)
        if (i[r] != (double)r || x[r] != 0.5 * (double)r || g[r] != (r % 3 == 0 ? 0 : 1))
            fail_msg("row %zu differs", r);
    free(i);
    free(x);
    free(g);
    cx_table_close(t);
    unlink(csv);
    unlink(h5);
}

/* ---------- errors: one line naming file, line, column; nothing left ---------- */

static void expect_import_error(const char *text, const char *want1, const char *want2)
{
    const char *csv = DIR "bad.csv", *h5 = DIR "bad.h5";
    write_text(csv, text);
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_EUSAGE);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
    assert_null(strchr(err.msg, '\n'));
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    assert_false(file_exists(h5));
    assert_false(file_exists(tmp));
}

static void test_errors(void **state)
{
    (void)state;
    expect_import_error("a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5,6\n"
                        "1,2,3,4,5,6\n1,2,3,4,5\n",
                        "bad.csv line 7: 5 fields, expected 6 (header has 6 columns)", NULL);
    /* a quoted newline: the record starts on line 2, the bad one on line 4 */
    expect_import_error("a,b\n\"x\ny\",1\n1,2,3\n", "line 4: 3 fields, expected 2", NULL);
    expect_import_error("a,b,a\n1,2,3\n", "line 1, column 3: duplicate column name 'a'",
                        "column 1");
    expect_import_error("\"\",b\n1,2\n", "line 1, column 1: empty column name", NULL);
    expect_import_error("a,,b\n1,2,3\n", "line 1, column 2: empty column name", NULL);
    expect_import_error("", "bad.csv: the file is empty", NULL);
    expect_import_error("a,b\n1,\"open\n2,3\n", "line 2, column 2: quoted field never closed",
                        NULL);
    expect_import_error("a/b,c\n1,2\n", "column 1", "no '/'");
}

static void test_missing_input(void **state)
{
    (void)state;
    cx_error err = {0};
    assert_int_equal(cx_import_csv(DIR "nope.csv", DIR "nope.h5", "/data", &err), CX_EIO);
    assert_non_null(strstr(err.msg, "nope.csv"));
    assert_false(file_exists(DIR "nope.h5"));
}

/* Importing into an existing file adds a group; a clash or a failure
 * leaves the file's other tables as they were. */
static void test_existing_file(void **state)
{
    (void)state;
    const char *h5 = DIR "multi.h5", *good = DIR "good.csv", *bad = DIR "ragged.csv";
    write_text(good, "x,y\n1,a\n2,b\n");
    write_text(bad, "x,y\n1,a\n2\n");
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(good, h5, "/one", &err), CX_OK);
    assert_int_equal(cx_import_csv(good, h5, "/two/deep", &err), CX_OK);
    assert_int_equal(cx_import_csv(good, h5, "/one", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "multi.h5"));
    assert_non_null(strstr(err.msg, "'/one' already exists"));
    assert_int_equal(cx_import_csv(bad, h5, "/three", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "ragged.csv line 3"));
    assert_false(cx_h5_path_exists(h5, "/three"));
    assert_true(cx_h5_path_exists(h5, "/two/deep"));
    cx_table *t = tt_open_table(h5, "/one");
    assert_int_equal(cx_table_nrows(t), 2);
    cx_table_close(t);

    /* not an HDF5 file: refused, not touched */
    write_text(DIR "text.h5", "hello");
    assert_int_equal(cx_import_csv(good, DIR "text.h5", "/data", &err), CX_EIO);
    assert_non_null(strstr(err.msg, "not an HDF5 file"));
}

/* ---------- delimiter, header, NUL bytes, type overrides ---------- */

static void import_ok(const char *text, const cx_import_options *opt, cx_import_summary *sum)
{
    const char *csv = DIR "opt.csv", *h5 = DIR "opt.h5";
    write_text(csv, text);
    remove_outputs(h5);
    cx_error err = {0};
    if (cx_import(csv, h5, opt, sum, &err) != CX_OK)
        fail_msg("%s", err.msg);
}

static void test_delimiters(void **state)
{
    (void)state;
    cx_import_summary sum;
    /* ';' (European spreadsheets: decimal commas stay inside fields) */
    import_ok("a;b;c\n1;\"x;y\";2,5\n3;z;4\n", NULL, &sum);
    assert_int_equal(sum.ncols, 3);
    assert_int_equal(sum.delimiter, ';');
    cx_table *t = tt_open_table(DIR "opt.h5", "/data");
    assert_string_equal(info(t, "b")->categories[0], "x;y");
    assert_int_equal(info(t, "c")->kind, CX_COL_CATEGORICAL); /* "2,5" is text */
    cx_table_close(t);
    /* tab */
    import_ok("a\tb\n1\t2\n", NULL, &sum);
    assert_int_equal(sum.delimiter, '\t');
    assert_int_equal(sum.ncols, 2);
    /* commas inside quotes do not count; one column stays one column */
    import_ok("\"a,b\";c\n1;2\n", NULL, &sum);
    assert_int_equal(sum.delimiter, ';');
    import_ok("only\n1\n", NULL, &sum);
    assert_int_equal(sum.delimiter, ',');
    assert_int_equal(sum.ncols, 1);
    /* given: not detected */
    cx_import_options comma = {.delimiter = ','};
    import_ok("a;b\n1;2\n", &comma, &sum);
    assert_int_equal(sum.ncols, 1);
    t = tt_open_table(DIR "opt.h5", "/data");
    assert_string_equal(cx_table_column(t, 0)->name, "a;b");
    cx_table_close(t);
}

static void test_header(void **state)
{
    (void)state;
    const char *csv = DIR "nohead.csv", *h5 = DIR "nohead.h5";
    write_text(csv, "1,2.5,3\n4,5,6\n");
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "nohead.csv line 1: the first row looks like data"));
    assert_non_null(strstr(err.msg, "--no-header"));
    assert_false(file_exists(h5));

    cx_import_options opt = {.no_header = 1};
    cx_import_summary sum;
    assert_int_equal(cx_import(csv, h5, &opt, &sum, &err), CX_OK);
    assert_int_equal(sum.nrows, 2);
    cx_table *t = tt_open_table(h5, "/data");
    assert_string_equal(cx_table_column(t, 0)->name, "V1");
    assert_string_equal(cx_table_column(t, 2)->name, "V3");
    double *x = tt_read_column(t, "V2");
    assert_true(x[0] == 2.5 && x[1] == 5);
    free(x);
    cx_table_close(t);
    /* a header with one name is a header */
    import_ok("id,1,2\n1,2,3\n", NULL, NULL);
}

/* NUL bytes would cut fields ("x\0y" and "x\0z" both "x"): refused. */
static void test_nul_bytes(void **state)
{
    (void)state;
    const char *csv = DIR "nul.csv", *h5 = DIR "nul.h5";
    static const char text[] = "a,b\n1,x\0y\n2,x\0z\n";
    FILE *f = fopen(csv, "wb");
    assert_non_null(f);
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    remove_outputs(h5);
    cx_error err = {0};
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "nul.csv line 2, column 2: NUL byte"));
    assert_null(strchr(err.msg, '\n'));
    assert_false(file_exists(h5));
    /* in a header too, and inside quotes */
    static const char quoted[] = "a,\"b\0\"\n1,2\n";
    f = fopen(csv, "wb");
    fwrite(quoted, 1, sizeof quoted - 1, f);
    fclose(f);
    assert_int_equal(cx_import_csv(csv, h5, "/data", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "line 1, column 2: NUL byte"));
}

static void test_csv_overrides(void **state)
{
    (void)state;
    cx_import_options opt = {.categorical = "code"};
    import_ok("code,x\n2,a\n10,b\nNA,c\n", &opt, NULL);
    cx_table *t = tt_open_table(DIR "opt.h5", "/data");
    const cx_column_info *c = info(t, "code");
    assert_int_equal(c->kind, CX_COL_CATEGORICAL);
    assert_string_equal(c->categories[0], "10"); /* text order */
    assert_string_equal(c->categories[1], "2");
    cx_table_close(t);

    const char *csv = DIR "opt.csv", *h5 = DIR "opt.h5";
    remove_outputs(h5);
    cx_error err = {0};
    cx_import_options numeric = {.numeric = "x"};
    assert_int_equal(cx_import(csv, h5, &numeric, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "line 2, column 'x': text in a column given to --numeric"));
    cx_import_options unknown = {.categorical = "code,nope"};
    assert_int_equal(cx_import(csv, h5, &unknown, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "no column 'nope'"));
    cx_import_options empty = {.categorical = "code,"};
    assert_int_equal(cx_import(csv, h5, &empty, NULL, &err), CX_EUSAGE);
    assert_false(file_exists(h5));
}

/* The writer rejects what would make an unreadable table. */
static void test_writer_checks(void **state)
{
    (void)state;
    const char *h5 = DIR "writer.h5";
    remove_outputs(h5);
    cx_error err = {0};
    cx_table_writer *w = cx_table_writer_alloc(h5, "/g", 3, &err);
    assert_non_null(w);
    cx_column_spec u8 = {.name = "u",
                         .kind = CX_COL_INT,
                         .bytes = 1,
                         .is_unsigned = 1,
                         .has_missing_value = 1,
                         .missing_value = 255};
    size_t col;
    assert_int_equal(cx_table_writer_add(w, &u8, &col, &err), CX_OK);
    assert_int_equal(cx_table_writer_add(w, &u8, NULL, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "duplicate column 'u'"));
    double bad[3] = {1, 256, 3}, frac[3] = {1, 2.5, 3}, ok[3] = {1, NAN, 7};
    assert_int_equal(cx_table_writer_write(w, col, 0, 3, bad, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "row 2"));
    assert_int_equal(cx_table_writer_write(w, col, 0, 3, frac, &err), CX_EUSAGE);
    assert_int_equal(cx_table_writer_write(w, col, 1, 3, ok, &err), CX_EUSAGE);
    assert_int_equal(cx_table_writer_write(w, col, 0, 3, ok, &err), CX_OK);
    char *labels[2] = {"no", "yes"};
    cx_column_spec cat = {
        .name = "c", .kind = CX_COL_CATEGORICAL, .categories = labels, .n_categories = 2};
    assert_int_equal(cx_table_writer_add(w, &cat, &col, &err), CX_OK);
    double codes[3] = {1, -1, 0}, badcode[3] = {0, 2, 0};
    assert_int_equal(cx_table_writer_write(w, col, 0, 3, badcode, &err), CX_EUSAGE);
    assert_int_equal(cx_table_writer_write(w, col, 0, 3, codes, &err), CX_OK);
    assert_int_equal(cx_table_writer_close(w, &err), CX_OK);

    cx_table *t = tt_open_table(h5, "/g");
    double *u = tt_read_column(t, "u"), *c = tt_read_column(t, "c");
    assert_true(u[0] == 1 && isnan(u[1]) && u[2] == 7);
    assert_true(c[0] == 1 && isnan(c[1]) && c[2] == 0);
    assert_string_equal(info(t, "c")->categories[1], "yes");
    free(u);
    free(c);
    cx_table_close(t);

    /* abort removes the group and the parents it made */
    w = cx_table_writer_alloc(h5, "/p/q", 1, &err);
    assert_non_null(w);
    cx_table_writer_abort(w);
    assert_false(cx_h5_path_exists(h5, "/p"));
    assert_true(cx_h5_path_exists(h5, "/g"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_types), cmocka_unit_test(test_integer_widths),
        cmocka_unit_test(test_many_rows),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_input),   cmocka_unit_test(test_existing_file),
        cmocka_unit_test(test_writer_checks),   cmocka_unit_test(test_delimiters),
        cmocka_unit_test(test_header),          cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_csv_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
