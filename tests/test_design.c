/*
 * test_design.c — formulas resolved against an HDF5 table give R's design
 * matrices: for every case in tests/reference/formula_design.json (written
 * by scripts/make_formula_refs.R from R's model.matrix on lm's model
 * frame) the column names, the matrix, the outcome, the weights and the
 * rows used must be R's.  Also: scale scores (reverse keying on the
 * observed range, the half rule), errors with did-you-mean, dropped-level
 * notes, random-effect and panel inputs, and the aliased-column helper.
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

#include "design.h"
#include "h5fixture.h"
#include "json.h"

#define FIXTURE CX_BINARY_DIR "/formula_design.h5"

static json_value *ref;
static cx_table *table;

static void column_values(const char *name, double *out, size_t n)
{
    const json_value *col = json_get(json_get(ref, "columns"), name);
    assert_int_equal(json_array_len(col), n);
    for (size_t i = 0; i < n; i++)
        out[i] = json_number(json_array_at(col, i));
}

/* The reference data as the HDF5 layouts users write: float64 with NaN,
 * int32, uint8 categoricals with `categories`, uint8 items with a
 * `missing_value`. */
static void write_fixture(size_t n)
{
    hid_t f = fx_create(FIXTURE);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 0);
    double *v = malloc(n * sizeof *v);
    int32_t *iv = malloc(n * sizeof *iv);
    uint8_t *u8 = malloc(n);
    const char *floats[] = {"y", "x", "z", "w"};
    for (size_t c = 0; c < 4; c++) {
        column_values(floats[c], v, n);
        assert_int_equal(fx_column(g, floats[c], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n, 0), 0);
    }
    column_values("wave", v, n);
    for (size_t i = 0; i < n; i++)
        iv[i] = (int32_t)v[i];
    assert_int_equal(fx_column(g, "wave", H5T_STD_I32LE, H5T_NATIVE_INT32, iv, n, 0), 0);
    const char *uint8s[] = {"seg", "grp", "p1", "p2", "p3", "p4"};
    for (size_t c = 0; c < 6; c++) {
        column_values(uint8s[c], v, n);
        for (size_t i = 0; i < n; i++)
            u8[i] = isnan(v[i]) ? 255 : (uint8_t)v[i];
        assert_int_equal(fx_column(g, uint8s[c], H5T_STD_U8LE, H5T_NATIVE_UINT8, u8, n, 0), 0);
        const json_value *labels = json_get(json_get(ref, "categories"), uint8s[c]);
        if (labels) {
            const char *l[8];
            for (size_t k = 0; k < json_array_len(labels); k++)
                l[k] = json_string(json_array_at(labels, k));
            assert_int_equal(
                fx_attr_strings(g, uint8s[c], "categories", l, json_array_len(labels), 1), 0);
        } else {
            assert_int_equal(fx_attr_number(g, uint8s[c], "missing_value", H5T_STD_U8LE, 255), 0);
        }
    }
    const char **names = malloc(n * sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = i % 2 ? "Ann" : "Bo";
    assert_int_equal(fx_string_column(g, "name", names, n), 0); /* not usable in a design */
    free(names);
    free(v);
    free(iv);
    free(u8);
    H5Gclose(g);
    H5Fclose(f);
}

static int setup(void **state)
{
    (void)state;
    cx_error err = {0};
    ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/formula_design.json", &err);
    if (!ref)
        return fprintf(stderr, "%s\n", err.msg), -1;
    write_fixture((size_t)json_number(json_get(ref, "n")));
    table = cx_table_open(FIXTURE, "/t", &err);
    if (!table)
        return fprintf(stderr, "%s\n", err.msg), -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cx_table_close(table);
    json_free(ref);
    remove(FIXTURE);
    return 0;
}

/* A filled design: everything one pass over the view gives. */
typedef struct filled {
    size_t n, p, q, e;
    double *x, *z, *y, *w, *extra;
    size_t *rows; /* 0-based table rows */
} filled;

static void filled_free(filled *f)
{
    free(f->x);
    free(f->z);
    free(f->y);
    free(f->w);
    free(f->extra);
    free(f->rows);
}

/* Stream the view's blocks through cx_design_fill (row-major X). */
static filled fill_all(const cx_design *d, const cx_view *v, int row_major)
{
    filled r = {.p = cx_design_ncols(d), .q = cx_design_nzcols(d), .e = cx_design_nextra(d)};
    size_t cap = cx_table_nrows(v->table);
    r.x = calloc(cap * r.p + 1, sizeof *r.x);
    r.z = calloc(cap * r.q + 1, sizeof *r.z);
    r.extra = calloc(cap * r.e + 1, sizeof *r.extra);
    r.y = calloc(cap, sizeof *r.y);
    r.w = calloc(cap, sizeof *r.w);
    r.rows = calloc(cap, sizeof *r.rows);
    size_t n_table;
    const int *cols = cx_design_inputs(d, &n_table);
    size_t ld = cx_view_block_rows(v); /* the view's block buffers' leading dimension */
    double *block = malloc(ld * (n_table + 1) * sizeof *block);
    cx_error err = {0};
    cx_design_ws *ws = cx_design_ws_alloc(d, &err);
    assert_non_null(ws);
    cx_view_iter it;
    assert_int_equal(cx_view_iter_begin(&it, v, cols, n_table, &err), CX_OK);
    long got;
    size_t base = 0;
    while ((got = cx_view_iter_next(&it, block, NULL, &err)) > 0) {
        /* row-major: rows of p; column-major: ld = cap */
        cx_design_out out = {.row_major = row_major,
                             .x = row_major ? r.x + r.n * r.p : r.x + r.n,
                             .ldx = row_major ? r.p : cap,
                             .z = row_major ? r.z + r.n * r.q : r.z + r.n,
                             .ldz = row_major ? r.q : cap,
                             .y = r.y + r.n,
                             .w = r.w + r.n,
                             .extra = r.extra + r.n,
                             .lde = cap,
                             .kept = r.rows + r.n};
        long m = cx_design_fill(d, ws, block, ld, (size_t)got, &out, &err);
        if (m < 0)
            fail_msg("fill: %s", err.msg);
        for (long i = 0; i < m; i++)
            r.rows[r.n + (size_t)i] += base;
        r.n += (size_t)m;
        base += (size_t)got;
    }
    assert_int_equal(got, 0);
    size_t seen, used;
    cx_design_ws_rows(ws, &seen, &used);
    assert_int_equal(used, r.n);
    cx_view_iter_end(&it);
    cx_design_ws_free(ws);
    free(block);
    return r;
}

static cx_design *design_for(const char *formula, const char *weights, int random, int panel,
                             cx_formula **fp, cx_scores **sp, cx_error *err)
{
    *sp = NULL;
    *fp = cx_formula_parse(formula, err);
    if (!*fp)
        return NULL;
    *sp = cx_scores_parse(json_string(json_get(ref, "scores")), err);
    assert_non_null(*sp);
    cx_design_spec spec = {.formula = *fp,
                           .scores = *sp,
                           .weights = weights,
                           .allow_random = random,
                           .allow_panel = panel};
    return cx_design_alloc(&spec, table, err);
}

static void close_check(double got, double want, const char *what, size_t i, size_t j)
{
    if (isnan(want) || fabs(got - want) > 1e-12 * (1 + fabs(want)))
        fail_msg("%s[%zu,%zu] = %.17g, R has %.17g", what, i, j, got, want);
}

static void check_case(const json_value *c)
{
    const char *formula = json_string(json_get(c, "formula"));
    const char *weights = json_string(json_get(c, "weights"));
    cx_error err = {0};
    cx_formula *f;
    cx_scores *s;
    cx_design *d = design_for(formula, weights, 0, 0, &f, &s, &err);
    if (!d)
        fail_msg("%s: %s", formula, err.msg);
    cx_view v;
    cx_view_init(&v, table, NULL);
    if (cx_design_prepare(d, &v, &err))
        fail_msg("%s: %s", formula, err.msg);
    const json_value *names = json_get(c, "colnames"), *x = json_get(c, "x");
    const json_value *rows = json_get(c, "rows"), *y = json_get(c, "y"), *w = json_get(c, "w");
    size_t p = json_array_len(names), n = json_array_len(rows);
    if (cx_design_ncols(d) != p)
        fail_msg("%s: %zu columns, R has %zu", formula, cx_design_ncols(d), p);
    for (size_t j = 0; j < p; j++)
        if (strcmp(cx_design_colname(d, j), json_string(json_array_at(names, j))))
            fail_msg("%s: column %zu is '%s', R has '%s'", formula, j, cx_design_colname(d, j),
                     json_string(json_array_at(names, j)));
    size_t seen, used;
    cx_design_rows(d, &seen, &used);
    if (seen) /* the first pass ran (factors, reverse items) */
        assert_int_equal(used, n);
    for (int layout = 1; layout >= 0; layout--) {
        filled r = fill_all(d, &v, layout);
        if (r.n != n)
            fail_msg("%s: %zu rows used, R uses %zu", formula, r.n, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(r.rows[i] + 1, (size_t)json_number(json_array_at(rows, i)));
            close_check(r.y[i], json_number(json_array_at(y, i)), "y", i, 0);
            close_check(r.w[i],
                        json_type_of(w) == JSON_ARRAY ? json_number(json_array_at(w, i)) : 1.0, "w",
                        i, 0);
            for (size_t j = 0; j < p; j++)
                close_check(layout ? r.x[i * p + j] : r.x[j * cx_table_nrows(table) + i],
                            json_number(json_array_at(json_array_at(x, i), j)), formula, i, j);
        }
        filled_free(&r);
    }
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);
}

static void test_design_matches_r_model_matrix(void **state)
{
    (void)state;
    const json_value *cases = json_get(ref, "cases");
    assert_true(json_array_len(cases) >= 16);
    for (size_t c = 0; c < json_array_len(cases); c++)
        check_case(json_array_at(cases, c));
}

static void test_scores_reverse_keying_and_half_rule(void **state)
{
    (void)state;
    const char *scales[] = {"PEX", "TOT"};
    for (size_t k = 0; k < 2; k++) {
        char formula[64];
        snprintf(formula, sizeof formula, "%s ~ 1", scales[k]);
        cx_error err = {0};
        cx_formula *f;
        cx_scores *s;
        cx_design *d = design_for(formula, NULL, 0, 0, &f, &s, &err);
        assert_non_null(d);
        cx_view v;
        cx_view_init(&v, table, NULL);
        assert_int_equal(cx_design_prepare(d, &v, &err), CX_OK);
        filled r = fill_all(d, &v, 1);
        const json_value *want = json_get(json_get(ref, "expected_scores"), scales[k]);
        size_t at = 0, missing = 0;
        for (size_t i = 0; i < json_array_len(want); i++) {
            double e = json_number(json_array_at(want, i));
            if (isnan(e)) {
                missing++;
                continue;
            }
            assert_true(at < r.n);
            assert_int_equal(r.rows[at], i);
            close_check(r.y[at], e, scales[k], i, 0);
            at++;
        }
        assert_int_equal(at, r.n);
        assert_true(missing >= 1); /* the half rule dropped someone */
        filled_free(&r);
        cx_design_free(d);
        cx_formula_free(f);
        cx_scores_free(s);
    }
    /* the rule itself: 4 items, 2 present -> a score; 1 present -> none */
    cx_error err = {0};
    cx_scores *s = cx_scores_parse("A: mean(a b -c d)\nB: sum(a, b, c, d)", &err);
    assert_non_null(s);
    const double lo[] = {1, 1, 1, 1}, hi[] = {5, 5, 5, 5};
    const double two[] = {4, NAN, 2, NAN}, one[] = {NAN, NAN, 2, NAN};
    assert_true(fabs(cx_score_value(&s->scales[0], two, lo, hi) - 4.0) < 1e-15);  /* (4 + 4)/2 */
    assert_true(fabs(cx_score_value(&s->scales[1], two, lo, hi) - 12.0) < 1e-15); /* 3 x 4 */
    assert_true(isnan(cx_score_value(&s->scales[0], one, lo, hi)));
    cx_scores_free(s);
}

static void expect_scores_error(const char *text, const char *fragment)
{
    cx_error err = {0};
    cx_scores *s = cx_scores_parse(text, &err);
    assert_null(s);
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, fragment))
        fail_msg("'%s': '%s' lacks '%s'", text, err.msg, fragment);
}

static void test_scores_errors(void **state)
{
    (void)state;
    expect_scores_error("", "expected at least one scale");
    expect_scores_error("PEX mean(a b)",
                        "character 5 ('mean(a b)'): expected ':' after the scale name PEX");
    expect_scores_error("PEX: median(a b)",
                        "character 6 ('median(a b)'): expected mean(...) or sum(...)");
    expect_scores_error("PEX: mean()", "expected at least one item in scale PEX");
    expect_scores_error("PEX: mean(a b", "(end of line): expected an item column");
    expect_scores_error("PEX: mean(a a)", "a is listed twice");
    expect_scores_error("PEX: mean(a) x", "expected a newline or ';' after scale PEX");
    expect_scores_error("PEX: mean(a); PEX: sum(b)",
                        "character 15 ('PEX: sum(b)'): expected each scale once");
    expect_scores_error("PEX: mean(a -)", "expected an item column, '-item'");
}

static void expect_design_error(const char *formula, int random, int panel, const char *scores,
                                const char *fragment)
{
    cx_error err = {0};
    cx_formula *f = cx_formula_parse(formula, &err);
    assert_non_null(f);
    cx_scores *s = scores ? cx_scores_parse(scores, &err) : NULL;
    cx_design_spec spec = {.formula = f, .scores = s, .allow_random = random, .allow_panel = panel};
    cx_design *d = cx_design_alloc(&spec, table, &err);
    if (d) {
        cx_view v;
        cx_view_init(&v, table, NULL);
        if (!cx_design_prepare(d, &v, &err))
            fail_msg("'%s' was accepted", formula);
        cx_design_free(d);
    }
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, fragment))
        fail_msg("'%s': '%s' lacks '%s'", formula, err.msg, fragment);
    cx_formula_free(f);
    cx_scores_free(s);
}

static void test_design_errors(void **state)
{
    (void)state;
    expect_design_error("y ~ x + sgm", 0, 0, NULL,
                        "at character 9 ('sgm'): unknown column 'sgm' in table");
    expect_design_error("y ~ x + sgm", 0, 0, NULL, "(did you mean 'seg'?)");
    expect_design_error("y ~ x + PEXX", 0, 0, "PEX: mean(p1 p2)", "(did you mean 'PEX'?)");
    expect_design_error("y ~ x + (1 | seg)", 0, 0, NULL, "random-effect terms need model = mixed");
    expect_design_error("y ~ lag(x, 1)", 0, 0, NULL,
                        "character 5 ('lag(x, 1)'): a panel transform needs model = panel");
    expect_design_error("y ~ I(seg^2)", 0, 0, NULL,
                        "('I(seg^2)'): a categorical column in arithmetic");
    expect_design_error("y ~ x", 0, 0, "x: mean(p1 p2)", "scale x has the name of a column");
    expect_design_error("y ~ x + name", 0, 0, NULL, "formula, at character 9 ('name'): ");
    expect_design_error("y ~ x + name", 0, 0, NULL, "column 'name' holds strings");
    expect_design_error("y ~ x + S", 0, 0, "S: mean(p1 name)", "scores: scale S: ");
    expect_design_error("y ~ S", 0, 0, "S: mean(p1 q2)", "scale S: unknown item column 'q2'");
    expect_design_error("y ~ factor(S)", 0, 0, "S: mean(p1 p2)",
                        "expected a table column here, not a scale");
    expect_design_error("y ~ lag(S)", 0, 1, "S: mean(p1 p2)",
                        "expected a table column here, not a scale");
}

static void test_notes_and_levels(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_formula *f;
    cx_scores *s;
    cx_design *d = design_for("factor(wave) ~ x + seg", NULL, 0, 0, &f, &s, &err);
    assert_non_null(d);
    cx_view v;
    cx_view_init(&v, table, NULL);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_OK);
    const char *notes = cx_design_notes(d);
    assert_non_null(strstr(notes, "1 of 60 rows dropped (a used value missing)"));
    assert_non_null(strstr(notes, "seg: level 'd' has no rows and is dropped"));
    const char *const *labels;
    assert_int_equal(cx_design_outcome_levels(d, &labels), 4);
    assert_string_equal(labels[0], "1");
    assert_string_equal(labels[3], "5");
    filled r = fill_all(d, &v, 1);
    for (size_t i = 0; i < r.n; i++)
        assert_true(r.y[i] >= 0 && r.y[i] <= 3 && r.y[i] == floor(r.y[i]));
    filled_free(&r);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);

    /* one level left after a filter: treatment contrasts are impossible */
    d = design_for("y ~ x + factor(wave)", NULL, 0, 0, &f, &s, &err);
    cx_filter *flt = cx_filter_parse("wave == 2", table, &err);
    assert_non_null(flt);
    cx_view_init(&v, table, flt);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "('factor(wave)'): factor(wave) has 1 level among the rows "
                                    "used; expected at least 2"));
    cx_filter_free(flt);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);
}

static void test_random_terms_and_negative_weights(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_formula *f;
    cx_scores *s;
    cx_design *d =
        design_for("y ~ x + (1 + x | seg) + (0 + grp || seg:wave)", NULL, 1, 0, &f, &s, &err);
    if (!d)
        fail_msg("%s", err.msg);
    cx_view v;
    cx_view_init(&v, table, NULL);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_OK);
    const char *znames[] = {"(Intercept)", "x", "grp[north]", "grp[south]"};
    assert_int_equal(cx_design_nzcols(d), 4);
    for (size_t j = 0; j < 4; j++)
        assert_string_equal(cx_design_zcolname(d, j), znames[j]);
    assert_int_equal(cx_design_zcol_bar(d, 3), 1);
    assert_int_equal(cx_design_nextra(d), 2);
    assert_string_equal(cx_design_extraname(d, 0), "seg");
    assert_string_equal(cx_design_extraname(d, 1), "wave");
    filled r = fill_all(d, &v, 1);
    assert_int_equal(r.n, 58);
    for (size_t i = 0; i < r.n; i++) {
        assert_true(r.z[i * 4] == 1.0 && r.z[i * 4 + 1] == r.x[i * 2 + 1]);
        assert_true(r.z[i * 4 + 2] + r.z[i * 4 + 3] == 1.0); /* west has no complete row */
        assert_true(r.extra[i] >= 0 && r.extra[i] <= 2);     /* seg codes */
    }
    filled_free(&r);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);

    d = design_for("y ~ z", "x", 0, 0, &f, &s, &err); /* x has negative values */
    assert_non_null(d);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_OK);
    size_t n_table;
    const int *cols = cx_design_inputs(d, &n_table);
    double *raw;
    size_t n;
    assert_int_equal(cx_view_load(&v, cols, n_table, &raw, &n, NULL, &err), CX_OK);
    cx_design_ws *ws = cx_design_ws_alloc(d, &err);
    double y[64];
    cx_design_out out = {.y = y};
    assert_int_equal(cx_design_fill(d, ws, raw, n, n, &out, &err), -1);
    assert_non_null(strstr(err.msg, "weights column x: expected weights >= 0"));
    cx_design_ws_free(ws);
    free(raw);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);
}

/* lag(x, 1) as a panel family supplies it: the design asks for the
 * transform, the family computes it on sorted rows. */
static void test_panel_inputs(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_formula *f;
    cx_scores *s;
    cx_design *d = design_for("y ~ lag(x, 2) + z", NULL, 0, 1, &f, &s, &err);
    assert_non_null(d);
    cx_view v;
    cx_view_init(&v, table, NULL);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_EUSAGE); /* must not stream */
    assert_int_equal(cx_design_n_panel_inputs(d), 1);
    cx_panel_op op;
    int k, source;
    cx_design_panel_input(d, 0, &op, &k, &source);
    assert_int_equal(op, CX_PANEL_LAG);
    assert_int_equal(k, 2);
    assert_int_equal(source, cx_table_find(table, "x"));
    size_t n_table;
    const int *cols = cx_design_inputs(d, &n_table);
    double *raw;
    size_t n;
    assert_int_equal(cx_view_load(&v, cols, n_table, &raw, &n, NULL, &err), CX_OK);
    /* one unit, time = row: lag 2 is the value two rows up */
    raw = realloc(raw, n * (n_table + 1) * sizeof *raw);
    double *unit = calloc(n, sizeof *unit), *time = malloc(n * sizeof *time);
    double *xs = malloc(n * sizeof *xs);
    for (size_t i = 0; i < n; i++)
        time[i] = (double)i;
    column_values("x", xs, n);
    assert_int_equal(cx_panel_transform(op, k, unit, time, xs, n, raw + n_table * n, &err), CX_OK);
    assert_int_equal(cx_design_scan_ranges(d, &v, &err), CX_OK);
    assert_int_equal(cx_design_observe(d, raw, n, n, &err), CX_OK);
    assert_int_equal(cx_design_build(d, &err), CX_OK);
    assert_string_equal(cx_design_colname(d, 1), "lag(x, 2)");
    cx_design_ws *ws = cx_design_ws_alloc(d, &err);
    double x[3 * 64];
    size_t kept[64];
    cx_design_out out = {.row_major = 1, .x = x, .ldx = 3, .kept = kept};
    long m = cx_design_fill(d, ws, raw, n, n, &out, &err);
    assert_true(m > 40 && m < 58);
    for (long i = 0; i < m; i++)
        assert_true(x[i * 3 + 1] == xs[kept[i] - 2] && kept[i] >= 2);
    cx_design_ws_free(ws);
    free(unit);
    free(time);
    free(xs);
    free(raw);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);
}

/* X'X of a filled design. */
static double *cross_products(const filled *r)
{
    double *xtx = calloc(r->p * r->p, sizeof *xtx);
    for (size_t i = 0; i < r->n; i++)
        for (size_t a = 0; a < r->p; a++)
            for (size_t b = 0; b < r->p; b++)
                xtx[b * r->p + a] += r->x[i * r->p + a] * r->x[i * r->p + b];
    return xtx;
}

static void test_aliased_columns_as_r(void **state)
{
    (void)state;
    /* R: coef(lm(y ~ x + I(2 * x + 3) + seg + I(x + z) + z, df)) is NA for
     * I(2 * x + 3) (a combination of the intercept and x) and for z
     * (I(x + z) - x), the later column of each collinear set. */
    cx_error err = {0};
    cx_formula *f;
    cx_scores *s;
    cx_design *d =
        design_for("y ~ x + I(2 * x + 3) + seg + I(x + z) + z", NULL, 0, 0, &f, &s, &err);
    assert_non_null(d);
    cx_view v;
    cx_view_init(&v, table, NULL);
    assert_int_equal(cx_design_prepare(d, &v, &err), CX_OK);
    filled r = fill_all(d, &v, 1);
    double *xtx = cross_products(&r);
    const char *names[16];
    for (size_t j = 0; j < r.p; j++)
        names[j] = cx_design_colname(d, j);
    int aliased[16];
    char msg[256];
    assert_int_equal(cx_design_aliased(xtx, r.p, names, 1e-7, aliased, msg, sizeof msg, &err), 2);
    assert_string_equal(msg, "aliased: I(2 * x + 3), z");
    assert_true(aliased[2] && aliased[6] && !aliased[0] && !aliased[5]);
    free(xtx);
    filled_free(&r);
    cx_design_free(d);
    cx_formula_free(f);
    cx_scores_free(s);

    /* an all-zero column (an empty interaction cell) and a full-rank case */
    const double a[9] = {4, 2, 0, 2, 3, 0, 0, 0, 0};
    const char *abc[] = {"a", "b", "c"};
    int al[3];
    assert_int_equal(cx_design_aliased(a, 3, abc, 1e-7, al, msg, sizeof msg, &err), 1);
    assert_string_equal(msg, "aliased: c");
    const double full[4] = {2, 1, 1, 2};
    assert_int_equal(cx_design_aliased(full, 2, abc, 1e-7, al, msg, sizeof msg, &err), 0);
    assert_string_equal(msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_matches_r_model_matrix),
        cmocka_unit_test(test_scores_reverse_keying_and_half_rule),
        cmocka_unit_test(test_scores_errors),
        cmocka_unit_test(test_design_errors),
        cmocka_unit_test(test_notes_and_levels),
        cmocka_unit_test(test_random_terms_and_negative_weights),
        cmocka_unit_test(test_panel_inputs),
        cmocka_unit_test(test_aliased_columns_as_r),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
