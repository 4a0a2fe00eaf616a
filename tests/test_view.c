/*
 * test_view.c — `where` filters, groups, level restriction, block reads
 * and whole-view loading, on in-memory tables (the HDF5 backend is
 * covered by test_table.c and reads through the same interface).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* A table of n rows: id = 0..n-1, wave = id % 4 + 1 (missing every 10th
 * row), seg = categorical a/b/c by id % 3, x = id / 2.0. */
static cx_table *make_table(size_t n)
{
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/t", n, &err);
    double *id = malloc(n * sizeof *id), *wave = malloc(n * sizeof *wave);
    double *seg = malloc(n * sizeof *seg), *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        id[i] = (double)i;
        wave[i] = i % 10 == 9 ? NAN : (double)(i % 4 + 1);
        seg[i] = (double)(i % 3);
        x[i] = (double)i / 2.0;
    }
    char *labels[] = {"a", "b", "c"};
    assert_int_equal(cx_table_memory_add_column(t, "id", CX_COL_INT, id, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "wave", CX_COL_INT, wave, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "seg", CX_COL_CATEGORICAL, seg, labels, 3, &err),
                     CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    free(id);
    free(wave);
    free(seg);
    free(x);
    return t;
}

/* Load column `name` of the view; returns the row count. */
static size_t load_column(const cx_view *v, const char *name, double **out, size_t **levels)
{
    cx_error err = {0};
    int col = cx_table_find(v->table, name);
    assert_true(col >= 0);
    size_t n;
    assert_int_equal(cx_view_load(v, &col, 1, out, &n, levels, &err), CX_OK);
    return n;
}

static void expect_rows(cx_table *t, const char *where, int (*keep)(size_t i), size_t nrows)
{
    cx_error err = {0};
    cx_filter *f = cx_filter_parse(where, t, &err);
    if (!f)
        fail_msg("'%s' did not parse: %s", where, err.msg);
    cx_view v;
    cx_view_init(&v, t, f);
    double *ids;
    size_t n = load_column(&v, "id", &ids, NULL);
    size_t expect = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (!keep(i))
            continue;
        assert_true(expect < n);
        assert_int_equal((size_t)ids[expect], i);
        expect++;
    }
    assert_int_equal(n, expect);
    free(ids);
    cx_view_free(&v);
    cx_filter_free(f);
}

static int keep_wave_ge3(size_t i)
{
    return i % 10 != 9 && i % 4 + 1 >= 3;
}
static int keep_seg_b_or_x(size_t i)
{
    return i % 3 == 1 || (double)i / 2.0 < 5;
}
static int keep_not_wave2(size_t i)
{
    return i % 10 != 9 && !(i % 4 + 1 == 2);
}
static int keep_and_or(size_t i)
{
    int wave_ok = i % 10 != 9;
    return wave_ok && (i % 4 + 1 == 1 || i % 4 + 1 == 4) && i % 3 != 0;
}

static void test_filters_select_rows(void **state)
{
    (void)state;
    /* More than one block, so block boundaries are crossed. */
    size_t n = CX_BLOCK_ROWS + 1234;
    cx_table *t = make_table(n);
    expect_rows(t, "wave >= 3", keep_wave_ge3, n);
    expect_rows(t, "3 <= wave", keep_wave_ge3, n);
    expect_rows(t, "seg == 'b' or x < 5", keep_seg_b_or_x, n);
    expect_rows(t, "wave != 2", keep_not_wave2, n);
    expect_rows(t, "(wave == 1 | wave == 4) & seg != \"a\"", keep_and_or, n);
    cx_table_close(t);
}

static void expect_parse_error(cx_table *t, const char *where, const char *fragment)
{
    cx_error err = {0};
    cx_filter *f = cx_filter_parse(where, t, &err);
    assert_null(f);
    assert_int_equal(err.code, CX_EUSAGE);
    if (!strstr(err.msg, fragment))
        fail_msg("error for '%s' was '%s', expected it to contain '%s'", where, err.msg, fragment);
}

static void test_filter_errors_are_clear(void **state)
{
    (void)state;
    cx_table *t = make_table(10);
    expect_parse_error(t, "wav >= 3", "did you mean 'wave'");
    expect_parse_error(t, "wave >= ", "expected a number or a quoted category label");
    expect_parse_error(t, "wave 3", "expected a comparison");
    expect_parse_error(t, "(wave == 3", "expected ')'");
    expect_parse_error(t, "wave == 3 x", "'and', 'or'");
    expect_parse_error(t, "seg == 'z'", "no category 'z'");
    expect_parse_error(t, "seg < 'b'", "only be compared with == or !=");
    expect_parse_error(t, "x == 'a'", "numeric");
    expect_parse_error(t, "", "found nothing");
    cx_table_close(t);
}

static void test_groups_and_levels(void **state)
{
    (void)state;
    cx_error err = {0};
    size_t n = 1000;
    cx_table *t = make_table(n);
    cx_view v;
    cx_view_init(&v, t, NULL);
    int cols[2] = {cx_table_find(t, "wave"), cx_table_find(t, "seg")};
    assert_int_equal(cx_view_set_groups(&v, cols, 2, &err), CX_OK);
    assert_int_equal(v.n_levels, 12); /* 4 waves x 3 segments; missing waves dropped */
    /* sorted: (1,a) (1,b) (1,c) (2,a) ... */
    assert_true(v.level_values[0] == 1 && v.level_values[1] == 0);
    assert_true(v.level_values[2 * 3] == 2 && v.level_values[2 * 3 + 1] == 0);

    double *ids;
    size_t *levels;
    size_t rows = load_column(&v, "id", &ids, &levels);
    assert_int_equal(rows, n - n / 10);
    for (size_t r = 0; r < rows; r++) {
        size_t i = (size_t)ids[r];
        assert_int_equal(levels[r], (i % 4) * 3 + i % 3);
    }
    free(ids);
    free(levels);

    /* A view restricted to level (3, c) sees only those rows, as level 0,
     * and can be grouped again by another column. */
    cx_view r = cx_view_restrict_level(&v, 2 * 3 + 2);
    assert_int_equal(r.n_levels, 1);
    rows = load_column(&r, "id", &ids, &levels);
    assert_true(rows > 0);
    for (size_t k = 0; k < rows; k++) {
        size_t i = (size_t)ids[k];
        assert_int_equal(i % 4 + 1, 3);
        assert_int_equal(i % 3, 2);
        assert_int_equal(levels[k], 0);
    }
    free(ids);
    free(levels);
    int x_col = cx_table_find(t, "id");
    cx_view g = r;
    assert_int_equal(cx_view_set_groups(&g, &x_col, 1, &err), CX_OK);
    assert_int_equal(g.n_levels, rows);
    cx_view_free(&g);
    cx_view_free(&v);
    cx_table_close(t);
}

static void test_block_reads_match_iteration(void **state)
{
    (void)state;
    cx_error err = {0};
    size_t n = 2 * CX_BLOCK_ROWS + 17;
    cx_table *t = make_table(n);
    cx_filter *f = cx_filter_parse("seg != 'a'", t, &err);
    cx_view v;
    cx_view_init(&v, t, f);
    int cols[2] = {cx_table_find(t, "x"), cx_table_find(t, "id")};
    assert_int_equal(cx_view_n_blocks(&v), 3);
    double *out = malloc(2 * CX_BLOCK_ROWS * sizeof *out);
    double *scratch = malloc(CX_BLOCK_ROWS * cx_view_scratch_cols(&v, 2) * sizeof *scratch);
    size_t total = 0;
    for (size_t b = 0; b < 3; b++) {
        long got = cx_view_read_block(&v, b, cols, 2, out, NULL, scratch, &err);
        assert_true(got > 0);
        for (long i = 0; i < got; i++) {
            double id = out[CX_BLOCK_ROWS + (size_t)i];
            assert_true(fmod(id, 3) != 0);
            assert_true(out[i] == id / 2.0);
        }
        total += (size_t)got;
    }
    assert_int_equal(cx_view_read_block(&v, 3, cols, 2, out, NULL, scratch, &err), 0);
    assert_int_equal(total, n - (n + 2) / 3);
    free(out);
    free(scratch);
    cx_view_free(&v);
    cx_filter_free(f);
    cx_table_close(t);
}

static void test_column_names(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_table *t = make_table(5);
    cx_view v;
    cx_view_init(&v, t, NULL);
    char *names[] = {"x", "seg"};
    int cols[2];
    assert_int_equal(cx_view_columns(&v, names, 2, cols, &err), CX_OK);
    assert_int_equal(cols[0], 3);
    assert_int_equal(cols[1], 2);
    char *bad[] = {"idd"};
    assert_int_equal(cx_view_columns(&v, bad, 1, cols, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "no column 'idd'"));
    assert_non_null(strstr(err.msg, "did you mean 'id'"));
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_select_rows),
        cmocka_unit_test(test_filter_errors_are_clear),
        cmocka_unit_test(test_groups_and_levels),
        cmocka_unit_test(test_block_reads_match_iteration),
        cmocka_unit_test(test_column_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
