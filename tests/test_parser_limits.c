/*
 * test_parser_limits.c — hostile input to the recursive parsers (issue 12,
 * item 6): a `where` filter and a lavaan expression nested 100,000 levels
 * deep must be refused with a one-line message, not overflow the stack;
 * nesting up to the limit still works, and very long flat chains
 * ("a or b or c ...", 100,000 terms) parse and evaluate without deep
 * recursion.  Item 7: lavaan syntax with ';' separators gives the same
 * parameter table as the same model on separate lines.  Run under
 * ASan/UBSan too (ctest in build-asan), where stack frames are larger.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "filter_eval.h"
#include "sem/partable.h"
#include "sem/syntax.h"
#include "view.h"

#define DEEP 100000

/* `n` copies of `piece`, then `middle`, then `n` copies of `close`. */
static char *nested(size_t n, const char *piece, const char *middle, const char *close)
{
    size_t lp = strlen(piece), lm = strlen(middle), lc = strlen(close);
    char *s = malloc(n * (lp + lc) + lm + 1);
    assert_non_null(s);
    char *w = s;
    for (size_t i = 0; i < n; i++, w += lp)
        memcpy(w, piece, lp);
    memcpy(w, middle, lm);
    w += lm;
    for (size_t i = 0; i < n; i++, w += lc)
        memcpy(w, close, lc);
    *w = '\0';
    return s;
}

/* A one-line, non-empty message containing `expect`. */
static void assert_refused(const cx_error *err, const char *expect)
{
    assert_int_equal(err->code, CX_EUSAGE);
    if (!strstr(err->msg, expect) || strchr(err->msg, '\n'))
        fail_msg("message '%.300s' lacks '%s' or spans lines", err->msg, expect);
}

/* ---- where ----------------------------------------------------------- */

static cx_table *small_table(void)
{
    static const double x[] = {1, 2, 3, NAN};
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/t", 4, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), 0);
    return t;
}

/* Which of x = 1, 2, 3, NaN pass: a bit mask (bit i for row i). */
static int rows_passing(const cx_filter *f)
{
    static const double x[] = {1, 2, 3, NAN};
    assert_int_equal(filter_n_columns(f), 1);
    int mask = 0;
    for (int i = 0; i < 4; i++)
        mask |= filter_matches(f, &x[i]) << i;
    return mask;
}

static void where_refuses_deep_nesting(void **state)
{
    (void)state;
    cx_table *t = small_table();
    cx_error err = {0};
    /* 100,000 parentheses over continuation lines (as the config joins them) */
    char *text = nested(DEEP, "(\n", "x > 1", ")");
    assert_null(cx_filter_parse(text, t, &err));
    assert_refused(&err, "line 65 of the value, column 1: '(' and 'not' nest more than 64");
    free(text);
    text = nested(DEEP, "not ", "x > 1", "");
    assert_null(cx_filter_parse(text, t, &err));
    assert_refused(&err, "nest more than 64 levels deep");
    free(text);
    text = nested(DEEP, "!(", "x > 1", ")");
    assert_null(cx_filter_parse(text, t, &err));
    assert_refused(&err, "nest more than 64 levels deep");
    free(text);
    /* unbalanced: 100,000 '(' and nothing else */
    text = nested(DEEP, "(", "", "");
    assert_null(cx_filter_parse(text, t, &err));
    assert_refused(&err, "nest more than 64 levels deep");
    free(text);
    cx_table_close(t);
}

static void where_accepts_nesting_up_to_the_limit(void **state)
{
    (void)state;
    cx_table *t = small_table();
    cx_error err = {0};
    char *text = nested(64, "(", "x > 1", ")");
    cx_filter *f = cx_filter_parse(text, t, &err);
    if (!f)
        fail_msg("%s", err.msg);
    assert_int_equal(rows_passing(f), 0x6); /* rows 2 and 3 */
    cx_filter_free(f);
    free(text);
    text = nested(65, "(", "x > 1", ")");
    assert_null(cx_filter_parse(text, t, &err));
    assert_refused(&err, "nest more than 64");
    free(text);
    /* 63 'not's and one '(' level: an odd count of 'not' negates */
    text = nested(63, "not ", "(x > 1)", "");
    f = cx_filter_parse(text, t, &err);
    if (!f)
        fail_msg("%s", err.msg);
    assert_int_equal(rows_passing(f), 0x9); /* x = 1, and NaN (its comparison is false) */
    cx_filter_free(f);
    free(text);
    cx_table_close(t);
}

/* 100,000-term and/or chains: accepted, and evaluated in a loop. */
static void where_evaluates_long_chains(void **state)
{
    (void)state;
    cx_table *t = small_table();
    cx_error err = {0};
    size_t n = DEEP;
    char *text = malloc(n * 16 + 32);
    assert_non_null(text);
    char *w = text;
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "%sx == %zu", i ? " or " : "", 1000 + i);
    strcpy(w, " or x == 2");
    cx_filter *f = cx_filter_parse(text, t, &err);
    if (!f)
        fail_msg("%s", err.msg);
    assert_int_equal(rows_passing(f), 0x2); /* only the last term matches */
    cx_filter_free(f);
    w = text;
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "%sx > 0", i ? " and " : "");
    strcpy(w, " and x != 2 or x < 1.5");
    f = cx_filter_parse(text, t, &err);
    if (!f)
        fail_msg("%s", err.msg);
    assert_int_equal(rows_passing(f), 0x5); /* x = 1 and 3 */
    cx_filter_free(f);
    free(text);
    cx_table_close(t);
}

/* ---- lavaan expressions ------------------------------------------------ */

static double lookup_one(const char *label, void *ctx)
{
    (void)ctx;
    return strcmp(label, "a") == 0 ? 2.0 : NAN;
}

static void expression_refuses_deep_nesting(void **state)
{
    (void)state;
    cx_error err = {0};
    static const struct {
        const char *open, *middle, *close;
    } shapes[] = {{"(", "a", ")"},   {"-", "a", ""},      {"+", "a", ""},
                  {"exp(", "a", ")"}, {"a^", "a", ""},     {"(\n", "a", ")"},
                  {"a*(", "a", ")"},  {"(", "", ""}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        char *text = nested(DEEP, shapes[k].open, shapes[k].middle, shapes[k].close);
        sem_expr *e = sem_expr_parse(text, &err);
        if (e)
            fail_msg("shape %zu parsed", k);
        if (k != 5) /* a line break is "expected an expression" */
            assert_refused(&err, "nests more than 64 levels deep");
        free(text);
    }
    /* long flat chains make tall trees: bounded too */
    char *text = nested(DEEP, "a+", "a", "");
    assert_null(sem_expr_parse(text, &err));
    assert_refused(&err, "more than 256 operations deep");
    free(text);
    /* up to the limits it parses and evaluates */
    text = nested(60, "(", "a", ")");
    sem_expr *e = sem_expr_parse(text, &err);
    assert_non_null(e);
    assert_true(sem_expr_eval(e, lookup_one, NULL) == 2.0);
    sem_expr_free(e);
    free(text);
    text = nested(200, "a+", "a", "");
    e = sem_expr_parse(text, &err);
    assert_non_null(e);
    assert_true(sem_expr_eval(e, lookup_one, NULL) == 402.0);
    sem_expr_free(e);
    free(text);
}

/* The options a one-group `model = cfa` job parses its syntax with. */
static sem_options cfa_options(void)
{
    sem_options opt = {0};
    opt.kind = SEM_KIND_CFA;
    opt.meanstructure = -1;
    opt.n_groups = 1;
    opt.fixed_x = 1;
    return opt;
}

/* Through the whole syntax parser: := and constraints 100,000 deep. */
static void syntax_refuses_deep_expressions(void **state)
{
    (void)state;
    sem_options opt = cfa_options();
    static const char *const shapes[][3] = {
        {"F =~ x1 + a*x2 + x3\nd := ", "a", ""},
        {"F =~ x1 + a*x2 + x3\n0 < ", "a", ""},
        {"F =~ x1 + a*x2 + x3\na == ", "a", ""},
    };
    for (size_t k = 0; k < 3; k++) {
        char *deep = nested(DEEP, "(\n", shapes[k][1], ")");
        size_t n = strlen(shapes[k][0]) + strlen(deep) + strlen(shapes[k][2]) + 1;
        char *text = malloc(n);
        assert_non_null(text);
        snprintf(text, n, "%s%s%s", shapes[k][0], deep, shapes[k][2]);
        cx_error err = {0};
        sem_partable *pt = sem_partable_build(text, &opt, &err);
        if (pt)
            fail_msg("shape %zu built a table", k);
        assert_refused(&err, "line 2, column ");
        free(text);
        free(deep);
    }
}

/* ---- ';' separators (item 7) ---------------------------------------------- */

static void syntax_semicolons_match_lines(void **state)
{
    (void)state;
    sem_options opt = cfa_options();
    /* read through the config, as a job's key is */
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(
        "[job semi]\nsyntax = F =~ x1 + a*x2 + x3 ; G =~ x4 + b*x5 + x6 ; d := a*b ; a > 0\n"
        "[job lines]\nsyntax = F =~ x1 + a*x2 + x3\n  G =~ x4 + b*x5 + x6\n  d := a*b\n  a > 0\n",
        "s.ini", &err);
    assert_non_null(c);
    sem_partable *semi = sem_partable_build(cx_section_get(&c->jobs[0], "syntax"), &opt, &err);
    sem_partable *lines = sem_partable_build(cx_section_get(&c->jobs[1], "syntax"), &opt, &err);
    assert_non_null(semi);
    assert_non_null(lines);
    assert_int_equal(semi->n_rows, lines->n_rows);
    int factors = 0, defined = 0;
    for (size_t k = 0; k < semi->n_rows; k++) {
        const sem_param *a = &semi->rows[k], *b = &lines->rows[k];
        assert_string_equal(a->lhs, b->lhs);
        assert_string_equal(a->rhs, b->rhs);
        assert_int_equal(a->op, b->op);
        assert_int_equal(a->free, b->free);
        assert_string_equal(a->label, b->label);
        factors += a->op == SEM_OP_LOADING && strcmp(a->lhs, "G") == 0;
        defined += a->op == SEM_OP_DEFINED;
    }
    assert_int_equal(factors, 3); /* nothing after the first ';' was lost */
    assert_int_equal(defined, 1);
    sem_partable_free(semi);
    sem_partable_free(lines);
    cx_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(where_refuses_deep_nesting),
        cmocka_unit_test(where_accepts_nesting_up_to_the_limit),
        cmocka_unit_test(where_evaluates_long_chains),
        cmocka_unit_test(expression_refuses_deep_nesting),
        cmocka_unit_test(syntax_refuses_deep_expressions),
        cmocka_unit_test(syntax_semicolons_match_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
