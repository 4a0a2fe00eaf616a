/*
 * test_formula.c — the formula parser: every construct gives R's terms in
 * R's order (checked against what terms.formula prints), every error
 * names its position and what was expected, hostile nesting is refused
 * without a crash, a 10,000-term formula parses quickly, and the panel
 * transforms follow the time index across gaps as plm does.
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
#include <time.h>

#include "formula.h"

/* "outcome ~ [1] + t1 + t2 ... {random}" with R's term labels, for
 * comparing whole parses in one string. */
static void describe(const cx_formula *f, char *out, size_t size)
{
    char label[1024];
    size_t used = (size_t)snprintf(out, size, "%s ~ %d", f->vars[f->outcome].label, f->intercept);
    for (size_t t = 0; t < f->n_terms; t++)
        used += (size_t)snprintf(out + used, size - used, " + %s",
                                 cx_formula_term_label(f, &f->terms[t], label, sizeof label));
    for (size_t r = 0; r < f->n_random; r++) {
        const cx_frandom *b = &f->random[r];
        used += (size_t)snprintf(out + used, size - used, " {%d%s", b->intercept,
                                 b->correlated ? "" : " uncorrelated");
        for (size_t t = 0; t < b->n_terms; t++)
            used += (size_t)snprintf(out + used, size - used, " + %s",
                                     cx_formula_term_label(f, &b->terms[t], label, sizeof label));
        used += (size_t)snprintf(out + used, size - used, " |");
        for (size_t g = 0; g < b->n_group; g++)
            used += (size_t)snprintf(out + used, size - used, "%s%s", g ? ":" : " ",
                                     f->names[b->group[g]]);
        used += (size_t)snprintf(out + used, size - used, "}");
    }
}

static void expect_parse(const char *text, const char *expected)
{
    cx_error err = {0};
    cx_formula *f = cx_formula_parse(text, &err);
    if (!f)
        fail_msg("'%s' did not parse: %s", text, err.msg);
    char got[4096];
    describe(f, got, sizeof got);
    if (strcmp(got, expected))
        fail_msg("'%s'\n  parsed as '%s'\n  expected  '%s'", text, got, expected);
    cx_formula_free(f);
}

static void test_terms_in_r_order(void **state)
{
    (void)state;
    /* Expected strings: R's attr(terms(f), "term.labels") and intercept. */
    expect_parse("y ~ a + b", "y ~ 1 + a + b");
    expect_parse("y~a+b+a", "y ~ 1 + a + b");
    expect_parse("y ~ a*b", "y ~ 1 + a + b + a:b");
    expect_parse("y ~ b:a + a", "y ~ 1 + a + b:a");
    expect_parse("y ~ a*b*c", "y ~ 1 + a + b + c + a:b + a:c + b:c + a:b:c");
    expect_parse("y ~ a*b - a:b", "y ~ 1 + a + b");
    expect_parse("y ~ (a + b + c)^2", "y ~ 1 + a + b + c + a:b + a:c + b:c");
    expect_parse("y ~ a/b", "y ~ 1 + a + a:b");
    expect_parse("y ~ (a + b)/c", "y ~ 1 + a + b + a:b:c");
    expect_parse("y ~ (a + b):c", "y ~ 1 + a:c + b:c");
    expect_parse("y ~ a:b + a:b:c + a", "y ~ 1 + a + a:b + a:b:c");
    expect_parse("y ~ a - 1", "y ~ 0 + a");
    expect_parse("y ~ 0 + a", "y ~ 0 + a");
    expect_parse("y ~ -1 + a", "y ~ 0 + a");
    expect_parse("y ~ a + 0 + 1", "y ~ 1 + a");
    expect_parse("y ~ 1", "y ~ 1");
    expect_parse("y ~ a - a + a", "y ~ 1 + a");
    expect_parse("factor(y) ~ factor(seg) * pex",
                 "factor(y) ~ 1 + factor(seg) + pex + factor(seg):pex");
    expect_parse("y ~ I(x^2) + I((x + 1)^2) + I(x/2) + I(-x * 3)",
                 "y ~ 1 + I(x^2) + I((x + 1)^2) + I(x/2) + I(-x * 3)");
    expect_parse("log(y) ~ log(x+1) + exp(z) + sqrt(w)",
                 "log(y) ~ 1 + log(x + 1) + exp(z) + sqrt(w)");
    expect_parse("y ~ I(x^-1) + I(2^x^2) + I(1e5*x) + I(0.0001 + x) + I(123456 * x)",
                 "y ~ 1 + I(x^-1) + I(2^x^2) + I(1e+05 * x) + I(1e-04 + x) + I(123456 * x)");
    expect_parse("y ~ `my item` + I(`my item` * 2)", "y ~ 1 + `my item` + I(`my item` * 2)");
    expect_parse("y ~ x:x", "y ~ 1 + x");
    expect_parse("y ~ \n a +\n\tb", "y ~ 1 + a + b");
}

static void test_panel_and_random_terms(void **state)
{
    (void)state;
    expect_parse("g ~ lag(nps, 1) + lag(g) + lead(x, 2) + diff(x) + diff(x, 4) + growth(r)",
                 "g ~ 1 + lag(nps, 1) + lag(g) + lead(x, 2) + diff(x) + diff(x, 4) + growth(r)");
    cx_error err = {0};
    cx_formula *f = cx_formula_parse("g ~ lag(nps, 2) + x", &err);
    assert_non_null(f);
    assert_true(f->needs_panel);
    const cx_fvar *v = &f->vars[f->terms[0].vars[0]];
    assert_int_equal(v->kind, CX_FVAR_PANEL);
    assert_int_equal(v->panel_op, CX_PANEL_LAG);
    assert_int_equal(v->panel_k, 2);
    assert_string_equal(f->names[v->name], "nps");
    assert_int_equal(cx_formula_require_fixed(f, &err), CX_OK);
    cx_formula_free(f);

    expect_parse("ltr ~ pex + (1 | firm)", "ltr ~ 1 + pex {1 | firm}");
    expect_parse("ltr ~ wave + (wave | respondent)", "ltr ~ 1 + wave {1 + wave | respondent}");
    expect_parse("ltr ~ wave + (0 + wave | r)", "ltr ~ 1 + wave {0 + wave | r}");
    expect_parse("ltr ~ x + (x || g)", "ltr ~ 1 + x {1 uncorrelated + x | g}");
    expect_parse("ltr ~ x + (1 | firm/respondent)", "ltr ~ 1 + x {1 | firm} {1 | firm:respondent}");
    expect_parse("ltr ~ x + (1 | a:b) + (1 | c)", "ltr ~ 1 + x {1 | a:b} {1 | c}");
    expect_parse("ltr ~ (1 | g)", "ltr ~ 1 {1 | g}");

    f = cx_formula_parse("ltr ~ x + (x | firm)", &err);
    assert_non_null(f);
    assert_int_equal(cx_formula_require_fixed(f, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "character 11 ('(x | firm)')"));
    assert_non_null(strstr(err.msg, "model = mixed"));
    cx_formula_free(f);
}

static void expect_error(const char *text, const char *fragment)
{
    cx_error err = {0};
    cx_formula *f = cx_formula_parse(text, &err);
    if (f)
        fail_msg("'%s' parsed; expected an error with '%s'", text, fragment);
    assert_int_equal(err.code, CX_EUSAGE);
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, fragment))
        fail_msg("'%s': error\n  '%s'\n  lacks '%s'", text, err.msg, fragment);
}

static void test_errors_name_position_and_expectation(void **state)
{
    (void)state;
    expect_error("", "character 1 (end of formula): expected the outcome");
    expect_error("~ a", "character 1 ('~'): expected the outcome");
    expect_error("y a", "character 3 ('a'): expected '~' after the outcome");
    expect_error("y ~", "character 4 (end of formula): expected a column");
    expect_error("y ~ a + + b", "character 9 ('+'): expected a column");
    expect_error("y ~ a b", "character 7 ('b'): expected '+', '-', '*', '/', ':' or the end");
    expect_error("y ~ (a + b",
                 "character 11 (end of formula): expected ')' closing '(' at character 5");
    expect_error("y ~ a)", "character 6 (')'): expected no ')' without a matching '('");
    expect_error("y ~ 2", "character 5 ('2'): expected 0 or 1");
    expect_error("y ~ 2 * a", "character 5 ('2'): expected a term: a number stands alone");
    expect_error("y ~ poly(x, 2)", "character 5 ('poly'): unknown function poly()");
    expect_error("y ~ factor(x + 1)", "character 14 ('+'): expected ')' closing factor(");
    expect_error("y ~ factor(1)", "character 12 ('1'): expected a column name as the argument");
    expect_error("y ~ lag(x, -1)", "character 12 ('-'): expected the order k of lag()");
    expect_error("y ~ lag(x, 1.5)", "expected the order k of lag() as an integer 0..1000");
    expect_error("y ~ lag(x, 2000)", "character 12 ('2000')");
    expect_error("y ~ I(x +)", "character 10 (')'): expected a number, a column");
    expect_error("y ~ I(x", "character 8 (end of formula): expected ')' closing I(");
    expect_error("y ~ I(mean(x))", "character 7 ('mean'): expected log(), exp(), sqrt() or I()");
    expect_error("y ~ a $ b", "character 7 ('$'): expected a name, a number or one of");
    expect_error("y ~ a + \x01", "('\\x01')");
    expect_error("y ~ `a", "character 5 ('`a'): expected the closing backquote");
    expect_error("y ~ .", "character 5 ('.'): expected column names: '.'");
    expect_error("y ~ a^b", "character 7 ('b'): expected the interaction order after '^'");
    expect_error("y ~ -1", "character 7 (end of formula): expected at least one term");
    expect_error("y ~ a + (1 | )", "character 14 (')'): expected a grouping column after '|'");
    expect_error("y ~ a + (1 | g h)", "character 16 ('h'): expected ':', '/' or ')'");
    expect_error("y ~ a:(1 | g)",
                 "character 7 ('(1 | g)'): expected the random-effect term added on its own");
    expect_error(
        "y ~ a - (1 | g)",
        "expected the random-effect term added on its own (+ (... | group)), not subtracted");
    expect_error("y ~ a + ((1 | g))", "not inside parentheses");
    expect_error("y ~ a + (x + (1|g) | h)", "not inside parentheses");
    expect_error("y ~ (a + (1 +\n\tx | g))", "('(1 + x | g)'): expected the random-effect term");
    char name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char text[300];
    snprintf(text, sizeof text, "y ~ %s", name);
    expect_error(text, "expected a name of 1 to 127 characters");
    /* (a1 + ... + a20)^10 would have ~600k terms */
    char big[400] = "y ~ (a1";
    for (int i = 2; i <= 20; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), " + a%d", i);
    strcat(big, ")^10");
    expect_error(big, "expected fewer terms: ");
    expect_error(big, "at most 100000");
}

/* n copies of `open`, then `middle`, then n of `close`. */
static char *nested(size_t n, const char *head, const char *open, const char *middle,
                    const char *close)
{
    size_t len = strlen(head) + n * (strlen(open) + strlen(close)) + strlen(middle) + 1;
    char *s = malloc(len), *p = s;
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s", open);
    p += sprintf(p, "%s", middle);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s", close);
    return s;
}

static void test_deep_nesting_is_refused(void **state)
{
    (void)state;
    const char *heads[][3] = {
        {"(", "a", ")"}, {"I(", "x", ")"}, {"log((", "x", "))"}, {"-", "1", ""}, {"", "x", "^2"}};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        char *text =
            nested(100000, h == 0 ? "y ~ " : "y ~ I(", heads[h][0], heads[h][1], heads[h][2]);
        if (h)
            strcat(text = realloc(text, strlen(text) + 2), ")");
        cx_error err = {0};
        cx_formula *f = cx_formula_parse(text, &err);
        assert_null(f);
        if (!strstr(err.msg, "expected at most 64 levels of nesting") &&
            !strstr(err.msg, "operations in a row"))
            fail_msg("case %zu: %s", h, err.msg);
        free(text);
    }
    /* 30 levels are fine */
    char *text = nested(30, "y ~ ", "(", "a", ")");
    expect_parse(text, "y ~ 1 + a");
    free(text);
    /* a long flat chain in I() is bounded too (evaluation recursion) */
    char *chain = malloc(400000), *p = chain;
    p += sprintf(p, "y ~ I(x");
    for (int i = 0; i < 50000; i++)
        p += sprintf(p, " + x");
    sprintf(p, ")");
    expect_error(chain, "operations in a row");
    free(chain);
}

static void test_ten_thousand_terms(void **state)
{
    (void)state;
    size_t n = 10000;
    char *text = malloc(n * 12 + 16), *p = text;
    p += sprintf(p, "y ~ x0");
    for (size_t i = 1; i < n; i++)
        p += sprintf(p, " + x%zu", i);
    p += sprintf(p, " + x5:x7");
    clock_t t0 = clock();
    cx_error err = {0};
    cx_formula *f = cx_formula_parse(text, &err);
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_non_null(f);
    assert_int_equal(f->n_terms, n + 1);
    assert_int_equal(f->n_vars, n + 1);
    assert_string_equal(f->vars[f->terms[n - 1].vars[0]].label, "x9999");
    char label[64];
    assert_string_equal(cx_formula_term_label(f, &f->terms[n], label, sizeof label), "x5:x7");
    printf("10001-term formula parsed in %.3f s\n", seconds);
    assert_true(seconds < 1.0);
    cx_formula_free(f);
    free(text);
}

static void test_expression_values(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_formula *f =
        cx_formula_parse("y ~ I(-x^2 + 2*z/4 - (1 - x)) + log(z) + sqrt(x) + exp(z - z)", &err);
    assert_non_null(f);
    double values[3]; /* names: y, x, z */
    assert_string_equal(f->names[1], "x");
    values[0] = 0;
    values[1] = 3;
    values[2] = 8;
    const double expect[] = {-9 + 4 - (1 - 3), log(8), sqrt(3), 1};
    for (size_t t = 0; t < 4; t++)
        assert_true(fabs(cx_fexpr_eval(f->vars[f->terms[t].vars[0]].expr, values) - expect[t]) <
                    1e-12);
    cx_formula_free(f);
}

/* An unbalanced panel with gaps, sorted by (unit, time):
 *   unit 1: t = 1 2 3 5   (4 missing)     x = 10 12 15 20
 *   unit 2: t = 2 3       x = 5 NaN
 *   unit 3: t = 7         x = 4
 * plm's lag follows the time index: lag(x)[unit 1, t=5] is NA (t=4 absent).
 * Expected values written by hand from that rule and identical to plm
 * 2.6-2's, from
 *   p <- pdata.frame(data.frame(unit = c(1,1,1,1,2,2,3), t = c(1,2,3,5,2,3,7),
 *                               x = c(10,12,15,20,5,NA,4)), index = c("unit", "t"))
 *   lag(p$x, 1); lag(p$x, 2); lead(p$x, 1); diff(p$x, 1); diff(p$x, 2); p$x / lag(p$x) - 1 */
static void test_panel_transforms_follow_time(void **state)
{
    (void)state;
    const double unit[] = {1, 1, 1, 1, 2, 2, 3};
    const double time[] = {1, 2, 3, 5, 2, 3, 7};
    const double x[] = {10, 12, 15, 20, 5, NAN, 4};
    const double lag1[] = {NAN, 10, 12, NAN, NAN, 5, NAN};
    const double lag2[] = {NAN, NAN, 10, 15, NAN, NAN, NAN};
    const double lead1[] = {12, 15, NAN, NAN, NAN, NAN, NAN};
    const double diff1[] = {NAN, 2, 3, NAN, NAN, NAN, NAN};
    const double diff2[] = {NAN, NAN, 5, 5, NAN, NAN, NAN};
    const double growth1[] = {NAN, 0.2, 0.25, NAN, NAN, NAN, NAN};
    struct {
        cx_panel_op op;
        int k;
        const double *expect;
    } cases[] = {{CX_PANEL_LAG, 1, lag1},   {CX_PANEL_LAG, 2, lag2},
                 {CX_PANEL_LEAD, 1, lead1}, {CX_PANEL_DIFF, 1, diff1},
                 {CX_PANEL_DIFF, 2, diff2}, {CX_PANEL_GROWTH, 1, growth1},
                 {CX_PANEL_LAG, 0, x}};
    double out[7];
    cx_error err = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        assert_int_equal(cx_panel_transform(cases[c].op, cases[c].k, unit, time, x, 7, out, &err),
                         CX_OK);
        for (size_t i = 0; i < 7; i++) {
            double e = cases[c].expect[i];
            if (isnan(e) != isnan(out[i]) || (!isnan(e) && fabs(e - out[i]) > 1e-12))
                fail_msg("case %zu row %zu: got %g, expected %g", c, i, out[i], e);
        }
    }
    /* bad panels */
    const double dup_time[] = {1, 1, 3, 5, 2, 3, 7};
    assert_int_equal(cx_panel_transform(CX_PANEL_LAG, 1, unit, dup_time, x, 7, out, &err),
                     CX_EUSAGE);
    assert_non_null(strstr(err.msg, "unit 1 has time 1 twice"));
    const double unsorted[] = {1, 1, 1, 1, 2, 2, 1};
    assert_int_equal(cx_panel_transform(CX_PANEL_LAG, 1, unsorted, time, x, 7, out, &err),
                     CX_EUSAGE);
    assert_non_null(strstr(err.msg, "row 7: expected rows sorted by unit"));
    const double frac[] = {1, 2.5, 3, 5, 2, 3, 7};
    assert_int_equal(cx_panel_transform(CX_PANEL_LAG, 1, unit, frac, x, 7, out, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "expected an integer time"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms_in_r_order),
        cmocka_unit_test(test_panel_and_random_terms),
        cmocka_unit_test(test_errors_name_position_and_expectation),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_ten_thousand_terms),
        cmocka_unit_test(test_expression_values),
        cmocka_unit_test(test_panel_transforms_follow_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
