/*
 * test_report.c — the report's writers on hostile and malformed results:
 * every string is escaped (markup, quotes, control bytes, invalid UTF-8),
 * the page stays well-formed (a tag-balance parser), columns of the wrong
 * type are skipped instead of read, charts never write NaN coordinates and
 * draw nothing when there is nothing to draw; `show` and `report` on a
 * results file whose tables have the wrong column types.
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

#include "report.h"
#include "report_charts.h"
#include "results_io.h"
#include "show.h"
#include "svg.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct membuf {
    char *data;
    size_t len;
    FILE *f;
} membuf;

static void mem_open(membuf *m)
{
    m->data = NULL;
    m->len = 0;
    m->f = open_memstream(&m->data, &m->len);
    assert_non_null(m->f);
}

static char *mem_close(membuf *m)
{
    fclose(m->f);
    return m->data;
}

/* Tags open and close in order (self-closing and <!...> ignored), and no
 * '<' or '&' starts anything but a tag or one of the XML entities. */
static int well_formed(const char *s)
{
    const char *stack[256];
    size_t lens[256], depth = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&') {
            if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
                strncmp(p, "&quot;", 6) && strncmp(p, "&#", 2))
                return 0;
            continue;
        }
        if (*p != '<')
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            return 0;
        if (p[1] == '!') {
            p = end;
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strcspn(name, " />\n");
        if (len == 0)
            return 0;
        if (closing) {
            if (depth == 0 || lens[depth - 1] != len || strncmp(stack[depth - 1], name, len))
                return 0;
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 256)
                return 0;
            stack[depth] = name;
            lens[depth++] = len;
        }
        p = end;
    }
    return depth == 0;
}

static const char *const evil = "<script>alert('x')</script> & \"q\" \x01\xff\xc3\xa9";

static void add_est(cx_result *r, const char *lhs, const char *op, const char *rhs, long long g,
                    double est, double std_all)
{
    cx_error err = {0};
    assert_true(cx_result_add_estimate(r, lhs, op, rhs, g, est, 0.1, std_all, &err) >= 0);
}

/* A two-group CFA result whose every string is hostile. */
static cx_result *hostile_result(void)
{
    cx_error err = {0};
    cx_result *r = cx_result_alloc(0.95, &err);
    assert_non_null(r);
    cx_result_set_status(r, CX_STATUS_OK, "%s", "");
    cx_result_add_warning(r, "%s", evil);
    for (long long g = 1; g <= 2; g++) {
        add_est(r, evil, "=~", "x1", g, 1, 0.7);
        add_est(r, evil, "=~", "<x2>", g, 0.8, 0.6);
        add_est(r, "F2", "=~", "x3&", g, 1, 0.5);
        add_est(r, "F2", "~", evil, g, 0.3, 0.2);
        add_est(r, evil, "~~", "F2", g, 0.1, 0.3);
        add_est(r, "x1", "~~", "x1", g, 0.5, 0.4);
    }
    assert_int_equal(cx_result_add_fit(r, "cfi", 0.95, &err), CX_OK);
    assert_int_equal(cx_result_add_fit(r, evil, NAN, &err), CX_OK);
    cx_rtable *groups = cx_result_table(r, "groups", &err);
    assert_int_equal(cx_rtable_add_column(groups, "group", CX_RCOL_INT, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(groups, "label", CX_RCOL_STRING, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(groups, "nobs", CX_RCOL_DOUBLE, &err), CX_OK);
    for (long long g = 1; g <= 2; g++) {
        long row = cx_rtable_add_row(groups, &err);
        cx_rtable_set_int(groups, (size_t)row, "group", g);
        assert_int_equal(cx_rtable_set_string(groups, (size_t)row, "label", evil, &err), CX_OK);
        cx_rtable_set_double(groups, (size_t)row, "nobs", 10.0 * (double)g);
    }
    return r;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_escape(void **state)
{
    (void)state;
    membuf m;
    mem_open(&m);
    cx_xml_text(m.f, evil);
    char *s = mem_close(&m);
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; "
                           "&#xFFFD;&#xFFFD;\xc3\xa9");
    free(s);
}

static void test_hostile_section_is_escaped_and_well_formed(void **state)
{
    (void)state;
    cx_result *r = hostile_result();
    cx_report_job job = {evil, "cfa", "by=\nestimator=mlr\n", "ok", r};
    membuf m;
    mem_open(&m);
    cx_report_begin(m.f, evil, evil, &job, 1);
    cx_report_job_section(m.f, 0, &job);
    cx_report_end(m.f);
    char *page = mem_close(&m);
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "<x2>"));
    assert_null(strstr(page, "\xff"));
    assert_non_null(strstr(page, "&lt;script&gt;"));
    assert_non_null(strstr(page, "Group 2 [&lt;script&gt;"));   /* group labels */
    assert_non_null(strstr(page, "aria-label=\"Path diagram"));  /* charts were drawn */
    assert_non_null(strstr(page, "aria-label=\"Standardized loadings"));
    assert_non_null(strstr(page, "aria-label=\"Regression coefficients"));
    assert_non_null(strstr(page, "<dd>MLR</dd>"));
    assert_null(strstr(page, "nan"));
    assert_true(well_formed(page));
    free(page);
    cx_result_free(r);
}

/* The checker itself rejects what it must. */
static void test_well_formed_checker(void **state)
{
    (void)state;
    assert_true(well_formed("<a><b/>x &amp; y</a>"));
    assert_false(well_formed("<a><b></a>"));
    assert_false(well_formed("<a>x & y</a>"));
    assert_false(well_formed("<a>"));
}

/* Columns with the wrong type are skipped, never read as another type. */
static void test_wrong_column_types(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_result *r = cx_result_alloc(0.95, &err);
    cx_rtable *t = cx_result_table(r, "estimates", &err);
    assert_int_equal(cx_rtable_add_column(t, "lhs", CX_RCOL_DOUBLE, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "op", CX_RCOL_STRING, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "rhs", CX_RCOL_INT, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "est", CX_RCOL_STRING, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "group", CX_RCOL_STRING, &err), CX_OK);
    long row = cx_rtable_add_row(t, &err);
    assert_int_equal(cx_rtable_set_string(t, (size_t)row, "op", "=~", &err), CX_OK);
    cx_rtable *fit = cx_result_table(r, "fit", &err);
    assert_int_equal(cx_rtable_add_column(fit, "measure", CX_RCOL_DOUBLE, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(fit, "value", CX_RCOL_STRING, &err), CX_OK);
    assert_true(cx_rtable_add_row(fit, &err) >= 0);
    cx_rtable *nps = cx_result_table(r, "nps", &err);
    assert_int_equal(cx_rtable_add_column(nps, "nps", CX_RCOL_STRING, &err), CX_OK);
    assert_true(cx_rtable_add_row(nps, &err) >= 0);
    const char *models[] = {"cfa", "nps", "describe", "efa", "drivers", "ols", "unknown"};
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        cx_report_job job = {"j", models[k], "by=wave\n", "ok", r};
        membuf m;
        mem_open(&m);
        cx_report_job_section(m.f, 0, &job);
        char *s = mem_close(&m);
        assert_null(strstr(s, "<svg")); /* nothing to draw from these columns */
        assert_non_null(strstr(s, "<section"));
        assert_true(well_formed(s));
        free(s);
    }
    cx_result_free(r);
}

static void test_charts_skip_nan_and_empty(void **state)
{
    (void)state;
    const char *labels[] = {"a", "b", "c"};
    double est[] = {1, NAN, -2}, lo[] = {0.5, NAN, NAN}, hi[] = {1.5, NAN, INFINITY};
    membuf m;
    mem_open(&m);
    assert_int_equal(chart_coefs(m.f, "t", labels, est, lo, hi, 3), 2);
    double none[] = {NAN, NAN};
    assert_int_equal(chart_coefs(m.f, "t", labels, none, NULL, NULL, 2), 0);
    double x[] = {1, 2, 3}, y[] = {10, NAN, 30};
    assert_int_equal(chart_line_ci(m.f, "t", "wave", x, y, lo, hi, 3, -100, 100), 2);
    double eig[] = {3.1, 1.2, 0.6, 0.4}, par[] = {1.3, 1.1, 1.0, 0.9};
    assert_int_equal(chart_scree(m.f, eig, par, 4), 4); /* ready for the efa family */
    double imp[] = {0.4, 0.1, NAN};
    assert_int_equal(chart_bars(m.f, "t", labels, imp, 3), 2);
    double cells[] = {0.9, NAN, -0.4, 0.2};
    assert_int_equal(chart_heatmap(m.f, "t", labels, 2, labels, 2, cells), 3);
    char *s = mem_close(&m);
    assert_null(strstr(s, "nan"));
    assert_null(strstr(s, "inf"));
    assert_true(well_formed(s));
    free(s);
}

/* show and report read a results file with wrongly typed columns. */
static void test_show_and_report_on_bad_types(void **state)
{
    (void)state;
    char path[256], html[300];
    snprintf(path, sizeof path, "%s/test_report_bad.h5", CX_BINARY_DIR);
    snprintf(html, sizeof html, "%s/test_report_bad.html", CX_BINARY_DIR);
    cx_error err = {0};
    cx_provenance prov = {.config_text = "[job j]\n", .threads = 1, .ranks = 1};
    cx_results_file *f = cx_results_create(path, &prov, &err);
    assert_non_null(f);
    cx_result *good = hostile_result();
    assert_int_equal(cx_results_write_job(f, "good", "cfa", "estimator=ml\n", 0.1, 1, good, &err),
                     CX_OK);
    cx_result *bad = cx_result_alloc(0.95, &err);
    cx_rtable *t = cx_result_table(bad, "estimates", &err);
    assert_int_equal(cx_rtable_add_column(t, "lhs", CX_RCOL_INT, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "op", CX_RCOL_DOUBLE, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "rhs", CX_RCOL_STRING, &err), CX_OK);
    assert_true(cx_rtable_add_row(t, &err) >= 0);
    assert_int_equal(cx_results_write_job(f, "bad", "sem", "by=nothing\n", 0.1, 1, bad, &err),
                     CX_OK);
    assert_int_equal(cx_results_close(f, &err), CX_OK);
    membuf m;
    mem_open(&m);
    assert_int_equal(cx_show(path, NULL, 1, m.f, &err), CX_OK);
    assert_int_equal(cx_show(path, "bad", 0, m.f, &err), CX_OK);
    char *s = mem_close(&m);
    assert_non_null(strstr(s, "== job bad (sem)"));
    assert_non_null(strstr(s, "Group 2 ["));
    free(s);
    assert_int_equal(cx_report(path, html, &err), CX_OK);
    FILE *in = fopen(html, "r");
    assert_non_null(in);
    char *page = calloc(1, 1 << 20);
    size_t n = fread(page, 1, (1 << 20) - 1, in);
    fclose(in);
    assert_true(n > 0);
    assert_non_null(strstr(page, "id=\"job-2\""));
    assert_true(well_formed(page));
    free(page);
    /* an unknown job prints nothing */
    mem_open(&m);
    assert_int_equal(cx_show(path, "nojob", 0, m.f, &err), CX_EUSAGE);
    s = mem_close(&m);
    assert_int_equal(strlen(s), 0);
    free(s);
    remove(path);
    remove(html);
    cx_result_free(good);
    cx_result_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_well_formed_checker),
        cmocka_unit_test(test_hostile_section_is_escaped_and_well_formed),
        cmocka_unit_test(test_wrong_column_types),
        cmocka_unit_test(test_charts_skip_nan_and_empty),
        cmocka_unit_test(test_show_and_report_on_bad_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
