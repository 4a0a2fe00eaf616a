/*
 * test_wide.c — the wide view of long data (`wide = ID TIME`,
 * engine/derived_wide.c):
 *   - a small long table, ids out of order, a gap, a filtered row, a
 *     categorical item, gives exactly the wide table written out by hand;
 *   - the panel members of datasets/panel.h5 made wide equal the wide table
 *     R built by hand (scripts/make_longit_refs.R): the same rows, column
 *     names in order, and per column the sum and count of non-missing
 *     values (tests/reference/longit_pex_cfa.json);
 *   - refusals: two rows for one id and time, a missing column, `wide`
 *     without two names.
 * test_reference_sem.c fits the longitudinal CFA on it against lavaan.
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

#include "config.h"
#include "derived.h"
#include "json.h"
#include "refcheck.h"
#include "tabletest.h"

/* The job section of a one-job config with `keys` (INI lines). */
static cx_config *config_with(const char *keys)
{
    char text[2048];
    snprintf(text, sizeof text, "[job w]\nmodel = describe\n%s\n", keys);
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(text, "wide_test.ini", &err);
    if (!c)
        fail_msg("%s", err.msg);
    return c;
}

/* id, wave, panel, x (numeric), seg (categorical: a, b) */
static cx_table *small_long_table(void)
{
    static const double id[] = {7, 3, 3, 7, 3, 5, 5};
    static const double wave[] = {1, 1, 2, 2, 3, 1, 3};
    static const double panel[] = {1, 1, 1, 1, 1, 0, 1};
    static const double x[] = {10, 20, 21, 11, NAN, 30, 31};
    static const double seg[] = {0, 1, 1, 0, 1, 0, 0};
    static char *const labels[] = {"a", "b"};
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("long", 7, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "id", CX_COL_INT, id, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "wave", CX_COL_INT, wave, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "panel", CX_COL_INT, panel, NULL, 0, &err),
                     CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    assert_int_equal(cx_table_memory_add_column(t, "seg", CX_COL_CATEGORICAL, seg, labels, 2, &err),
                     CX_OK);
    return t;
}

static void assert_column(cx_table *t, const char *name, const double *want, size_t n)
{
    double *got = tt_read_column(t, name);
    for (size_t i = 0; i < n; i++)
        if (!(got[i] == want[i] || (isnan(got[i]) && isnan(want[i]))))
            fail_msg("%s row %zu: %g, want %g", name, i + 1, got[i], want[i]);
    free(got);
}

static void test_small_by_hand(void **state)
{
    (void)state;
    cx_table *lt = small_long_table();
    /* row 6 (id 5, wave 1) is filtered out: id 5 has wave 3 only */
    cx_config *c = config_with("wide = id wave\nwhere = panel == 1");
    cx_error err = {0};
    cx_table *w = table_wide(c, &c->jobs[0], lt, &err);
    if (!w)
        fail_msg("%s", err.msg);
    /* By hand: ids ascending 3 5 7; columns id, then panel, x, seg at waves 1..3. */
    static const char *const names[] = {"id",   "panel_w1", "panel_w2", "panel_w3", "x_w1",
                                        "x_w2", "x_w3",     "seg_w1",   "seg_w2",   "seg_w3"};
    assert_int_equal(cx_table_nrows(w), 3);
    assert_int_equal(cx_table_ncols(w), 10);
    for (size_t j = 0; j < 10; j++)
        assert_string_equal(cx_table_column(w, j)->name, names[j]);
    const double idv[] = {3, 5, 7};
    const double x1[] = {20, NAN, 10}, x2[] = {21, NAN, 11}, x3[] = {NAN, 31, NAN};
    const double s1[] = {1, NAN, 0}, s3[] = {1, 0, NAN}, p2[] = {1, NAN, 1};
    assert_column(w, "id", idv, 3);
    assert_column(w, "x_w1", x1, 3);
    assert_column(w, "x_w2", x2, 3);
    assert_column(w, "x_w3", x3, 3); /* id 3's wave 3 x is missing in the long data */
    assert_column(w, "seg_w1", s1, 3);
    assert_column(w, "seg_w3", s3, 3);
    assert_column(w, "panel_w2", p2, 3);
    const cx_column_info *seg = cx_table_column(w, 8);
    assert_int_equal(seg->kind, CX_COL_CATEGORICAL); /* keeps its labels */
    assert_int_equal(seg->n_categories, 2);
    assert_string_equal(seg->categories[1], "b");
    cx_table_close(w);
    cx_config_free(c);

    /* wide_columns picks and orders the spread columns */
    c = config_with("wide = id wave\nwide_columns = x");
    w = table_wide(c, &c->jobs[0], lt, &err);
    assert_non_null(w);
    assert_int_equal(cx_table_ncols(w), 4);
    assert_string_equal(cx_table_column(w, 3)->name, "x_w3");
    const double x1all[] = {20, 30, 10};
    assert_column(w, "x_w1", x1all, 3); /* no filter: id 5 has wave 1 */
    cx_table_close(w);
    cx_config_free(c);
    cx_table_close(lt);
}

static void expect_refusal(cx_table *lt, const char *keys, const char *needle)
{
    cx_config *c = config_with(keys);
    cx_error err = {0};
    cx_table *w = table_wide(c, &c->jobs[0], lt, &err);
    if (w)
        fail_msg("'%s' was accepted", keys);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", keys, err.msg, needle);
    cx_config_free(c);
}

static void test_refusals(void **state)
{
    (void)state;
    cx_table *lt = small_long_table();
    expect_refusal(lt, "wide = panel wave", "more than one row"); /* panel 1 twice at wave 1 */
    expect_refusal(lt, "wide = id", "id column and the time column");
    expect_refusal(lt, "wide = id week", "no numeric column 'week'");
    expect_refusal(lt, "wide = id wave\nwide_columns = x nope", "no numeric column 'nope'");
    expect_refusal(lt, "wide = id wave\nwide_columns = wave", "id or time column");
    cx_table_close(lt);
}

/* The panel members of datasets/panel.h5, wide, against R's wide table. */
static void test_panel_matches_r(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/longit_pex_cfa.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    cx_table *lt = tt_open_table(CX_SOURCE_DIR "/datasets/panel.h5", "/responses");
    cx_config *c = config_with(
        "wide = respondent wave\nwhere = panel == 1\nwide_columns = pex1 pex2 pex3 pex4 pex5");
    cx_table *w = table_wide(c, &c->jobs[0], lt, &err);
    if (!w)
        fail_msg("%s", err.msg);
    ref_report rep;
    ref_report_init(&rep, "longit_pex_cfa wide table", "R merge()");
    ref_report_check(&rep, "rows", (double)cx_table_nrows(w),
                     ref_json_number(&rep, ref, "n_wide_rows"), 0, 0);
    const json_value *names = json_get(ref, "wide_columns");
    const json_value *sums = json_get(ref, "wide_column_sums");
    const json_value *counts = json_get(ref, "wide_column_nonmissing");
    ref_report_check(&rep, "columns", (double)cx_table_ncols(w), (double)json_array_len(names), 0,
                     0);
    /* R's merge() orders columns wave by wave, cxfit item by item (as
     * documented): columns are matched by name. */
    for (size_t j = 0; j < json_array_len(names); j++) {
        const char *name = json_string(json_array_at(names, j));
        if (cx_table_find(w, name) < 0) {
            ref_report_fail(&rep, "cxfit's wide table has no column '%s'", name);
            continue;
        }
        double *x = tt_read_column(w, name), s = 0, m = 0;
        for (size_t i = 0; i < cx_table_nrows(w); i++)
            if (!isnan(x[i]))
                s += x[i], m++;
        free(x);
        char what[128];
        snprintf(what, sizeof what, "sum(%s)", name);
        ref_report_check_field(&rep, what, s, sums, name, 1e-12, 0);
        snprintf(what, sizeof what, "count(%s)", name);
        ref_report_check_field(&rep, what, m, counts, name, 0, 0);
    }
    /* rows + columns + 16 columns x (sum, count) */
    int ok = ref_report_require(&rep, 2 + 16 * 2);
    if (rep.n_failed)
        fputs(ref_report_text(&rep), stderr);
    fprintf(stderr, "wide panel table: %d values checked against R\n", rep.n_checked);
    assert_true(ok && rep.n_failed == 0);
    ref_report_free(&rep);
    cx_table_close(w);
    cx_table_close(lt);
    cx_config_free(c);
    json_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_by_hand),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_panel_matches_r),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
