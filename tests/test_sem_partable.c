/*
 * test_sem_partable.c — lavaan model syntax and parameter tables.
 *
 * For every reference case with a lavaan parTable (tests/reference/<case>.json)
 * the table built from the case's config (configs/reference/<case>.ini:
 * model, syntax, std_lv, meanstructure, group, group_equal) must match
 * lavaan's row for row: lhs, op, rhs, group, user, free, ustart, exo,
 * label, plabel, id.  lavaan's system "==" rows (user = 2) have no row
 * here; they must instead be exactly the equality classes of our shared
 * `free` numbers.  Also: syntax errors name line, column and what was
 * expected, and := expressions evaluate.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "json.h"
#include "refcheck.h"
#include "sem/partable.h"
#include "sem/syntax.h"

/* ---- options from the reference config ------------------------------ */

typedef struct case_setup {
    char syntax[4096];
    sem_options opt;
} case_setup;

static int yes(const char *v)
{
    return v && (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void read_setup(const char *name, const json_value *ref, case_setup *cs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/configs/reference/%s.ini", CX_SOURCE_DIR, name);
    cx_error err = {0};
    cx_config *c = cx_config_load(path, &err);
    assert_non_null(c);
    assert_int_equal(c->n_jobs, 1);
    const cx_config_section *job = &c->jobs[0];
    const char *model = cx_section_get(job, "model");
    assert_non_null(model);
    memset(cs, 0, sizeof *cs);
    snprintf(cs->syntax, sizeof cs->syntax, "%s", cx_section_get(job, "syntax"));
    cs->opt.kind = strcmp(model, "growth") == 0 ? SEM_KIND_GROWTH
                   : strcmp(model, "sem") == 0  ? SEM_KIND_SEM
                                                : SEM_KIND_CFA;
    cs->opt.std_lv = yes(cx_section_get(job, "std_lv"));
    cs->opt.meanstructure = yes(cx_section_get(job, "meanstructure")) ? 1 : -1;
    cs->opt.fixed_x = 1;
    cs->opt.n_groups = 1;
    if (cx_section_get(job, "group"))
        cs->opt.n_groups = json_array_len(json_get(ref, "group_labels"));
    const char *ge = cx_section_get(job, "group_equal");
    if (ge) {
        size_t n = 0;
        char **words = cx_words_split(ge, &n, &err);
        assert_non_null(words);
        for (size_t k = 0; k < n; k++) {
            unsigned bit = sem_group_equal_bit(words[k]);
            assert_true(bit != 0);
            cs->opt.group_equal |= bit;
        }
        cx_words_free(words);
    }
    cx_config_free(c);
}

/* ---- comparing with lavaan's parTable -------------------------------- */

/* parTable fields: a missing one is a mismatch (refcheck.h), read as ""
 * or -1 so the comparison goes on. */
static const char *jstr(ref_report *rep, const json_value *row, const char *key)
{
    return ref_json_string(rep, row, key);
}

static int jint(ref_report *rep, const json_value *row, const char *key)
{
    double x = ref_json_number(rep, row, key);
    return isfinite(x) ? (int)x : -1;
}

static int is_system_eq(ref_report *rep, const json_value *row)
{
    return strcmp(jstr(rep, row, "op"), "==") == 0 && jint(rep, row, "user") == 2;
}

/* The reference row a parTable plabel names, or -1. */
static long find_plabel(ref_report *rep, const json_value *pt, const char *plabel)
{
    for (size_t k = 0; k < json_array_len(pt); k++)
        if (strcmp(jstr(rep, json_array_at(pt, k), "plabel"), plabel) == 0)
            return (long)k;
    return -1;
}

static long uf_find(long *parent, long k)
{
    while (parent[k] != k)
        k = parent[k] = parent[parent[k]];
    return k;
}

/* Our rows in lavaan's order: every parTable row except system "==". */
static void compare_row(ref_report *rep, const sem_param *r, const json_value *want,
                        size_t n_groups)
{
    char what[256];
    snprintf(what, sizeof what, "row %d (%s %s %s)", jint(rep, want, "id"), jstr(rep, want, "lhs"),
             jstr(rep, want, "op"), jstr(rep, want, "rhs"));
    int is_param = r->op <= SEM_OP_THRESHOLD;
    int group = is_param ? r->group + 1 : 0;
    if (strcmp(r->lhs, jstr(rep, want, "lhs")) ||
        strcmp(sem_op_string(r->op), jstr(rep, want, "op")) ||
        strcmp(r->rhs, jstr(rep, want, "rhs"))) {
        ref_report_fail(rep, "%s: got %s %s %s", what, r->lhs, sem_op_string(r->op), r->rhs);
        return;
    }
    double ustart = r->free ? r->start : r->fixed_value;
    ref_report_check(rep, "group", group, jint(rep, want, "group"), 0, 0);
    ref_report_check(rep, "user", r->user, jint(rep, want, "user"), 0, 0);
    ref_report_check(rep, "id", r->id, jint(rep, want, "id"), 0, 0);
    if (r->free_lavaan != jint(rep, want, "free"))
        ref_report_fail(rep, "%s: free %d, lavaan %d", what, r->free_lavaan,
                        jint(rep, want, "free"));
    char what_ustart[300];
    snprintf(what_ustart, sizeof what_ustart, "%s: ustart", what);
    /* null (NA) in lavaan: a free parameter without a user start value */
    ref_report_check_field(rep, what_ustart, ustart, want, "ustart", 0, 0);
    if (r->exo != jint(rep, want, "exo"))
        ref_report_fail(rep, "%s: exo %d, lavaan %d", what, r->exo, jint(rep, want, "exo"));
    if (strcmp(r->label, jstr(rep, want, "label")))
        ref_report_fail(rep, "%s: label '%s', lavaan '%s'", what, r->label,
                        jstr(rep, want, "label"));
    if (strcmp(r->plabel, jstr(rep, want, "plabel")))
        ref_report_fail(rep, "%s: plabel '%s', lavaan '%s'", what, r->plabel,
                        jstr(rep, want, "plabel"));
    (void)n_groups;
}

/* Rows i, j share a `free` number exactly when lavaan's "==" rows (and
 * shared numbers) join them. */
static void compare_equalities(ref_report *rep, const sem_partable *pt, const json_value *ref,
                               const long *ours)
{
    size_t n = json_array_len(ref);
    long *parent = malloc(n * sizeof *parent);
    assert_non_null(parent);
    for (size_t k = 0; k < n; k++)
        parent[k] = (long)k;
    for (size_t k = 0; k < n; k++) {
        const json_value *row = json_array_at(ref, k);
        if (!is_system_eq(rep, row))
            continue;
        long a = find_plabel(rep, ref, jstr(rep, row, "lhs"));
        long b = find_plabel(rep, ref, jstr(rep, row, "rhs"));
        assert_true(a >= 0 && b >= 0);
        parent[uf_find(parent, a)] = uf_find(parent, b);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (ours[i] < 0 || ours[j] < 0)
                continue;
            const sem_param *a = &pt->rows[ours[i]], *b = &pt->rows[ours[j]];
            if (!a->free || !b->free)
                continue;
            int same_ref = uf_find(parent, (long)i) == uf_find(parent, (long)j);
            if (same_ref != (a->free == b->free))
                ref_report_fail(rep, "rows %zu and %zu: equal in lavaan %d, here %d", i + 1, j + 1,
                                same_ref, a->free == b->free);
        }
    }
    free(parent);
}

static void check_names(ref_report *rep, const sem_partable *pt, const json_value *ref)
{
    const json_value *ov = json_get(ref, "ov_names");
    if (json_array_len(ov) != pt->n_ov) {
        ref_report_fail(rep, "ov_names: %zu names, lavaan %zu", pt->n_ov, json_array_len(ov));
        return;
    }
    for (size_t k = 0; k < pt->n_ov; k++)
        if (strcmp(pt->ov_names[k], json_string(json_array_at(ov, k))))
            ref_report_fail(rep, "ov_names[%zu] = %s, lavaan %s", k, pt->ov_names[k],
                            json_string(json_array_at(ov, k)));
}

/* parameterEstimates(): our rows without ==, <, >, in order. */
static void check_estimate_rows(ref_report *rep, const sem_partable *pt, const json_value *ref)
{
    const json_value *est = json_get(ref, "estimates");
    size_t e = 0;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *r = &pt->rows[k];
        if (r->op == SEM_OP_EQUAL || r->op == SEM_OP_LESS || r->op == SEM_OP_GREATER)
            continue;
        const json_value *w = json_array_at(est, e++);
        int group = r->op <= SEM_OP_THRESHOLD && pt->n_groups > 1 ? r->group + 1 : 0;
        if (!w || strcmp(r->lhs, jstr(rep, w, "lhs")) ||
            strcmp(sem_op_string(r->op), jstr(rep, w, "op")) ||
            strcmp(r->rhs, jstr(rep, w, "rhs")) ||
            (json_get(w, "group") && group != jint(rep, w, "group") && pt->n_groups > 1))
            ref_report_fail(rep, "estimates row %zu: %s %s %s differs", e, r->lhs,
                            sem_op_string(r->op), r->rhs);
    }
    if (e != json_array_len(est))
        ref_report_fail(rep, "estimates: %zu rows, lavaan %zu", e, json_array_len(est));
}

static long partable_checks; /* over all cases */

static int check_case(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/reference/%s.json", CX_SOURCE_DIR, name);
    cx_error err = {0};
    json_value *ref = json_parse_file(path, &err);
    assert_non_null(ref);
    const json_value *rows = json_get(ref, "partable");
    assert_non_null(rows);
    case_setup cs;
    read_setup(name, ref, &cs);
    sem_partable *pt = sem_partable_build(cs.syntax, &cs.opt, &err);
    if (!pt)
        fail_msg("%s: %s", name, err.msg);
    ref_report rep;
    ref_report_init(&rep, name, "lavaan");
    size_t n = json_array_len(rows);
    long *ours = malloc(n * sizeof *ours);
    assert_non_null(ours);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const json_value *want = json_array_at(rows, i);
        ours[i] = -1;
        if (is_system_eq(&rep, want))
            continue;
        if (k >= pt->n_rows) {
            ref_report_fail(&rep, "missing row %zu (%s %s %s)", i + 1, jstr(&rep, want, "lhs"),
                            jstr(&rep, want, "op"), jstr(&rep, want, "rhs"));
            continue;
        }
        ours[i] = (long)k;
        compare_row(&rep, &pt->rows[k++], want, cs.opt.n_groups);
    }
    if (k != pt->n_rows)
        ref_report_fail(&rep, "%zu rows, lavaan %zu (without system ==)", pt->n_rows, k);
    compare_equalities(&rep, pt, rows, ours);
    check_names(&rep, pt, ref);
    check_estimate_rows(&rep, pt, ref);
    /* group, user, id and ustart of every row lavaan lists (system == aside) */
    ref_report_require(&rep, 4 * (int)k);
    partable_checks += rep.n_checked;
    int failed = rep.n_failed;
    print_message("%s: %zu rows, %d checks\n", name, pt->n_rows, rep.n_checked);
    if (failed)
        print_message("%s", ref_report_text(&rep));
    ref_report_free(&rep);
    free(ours);
    sem_partable_free(pt);
    json_free(ref);
    return failed;
}

static void test_reference_partables(void **state)
{
    (void)state;
    /* every tests/reference case with a lavaan parTable */
    static const char *const cases[] = {
        "bfi_cfa",           "growth_basis",     "growth_linear",
        "growth_quadratic",  "growth_tic",       "growth_tvc",
        "hs_cfa_fixed",      "hs_cfa_labels",    "hs_cfa_meanstructure",
        "hs_cfa_ml",         "hs_cfa_mlr",       "hs_cfa_orthogonal",
        "hs_cfa_stdlv",      "hs_mediation",     "hs_mg_configural",
        "hs_mg_lv",          "hs_mg_metric",     "hs_mg_metric_mlr",
        "hs_mg_regressions", "hs_mg_scalar",     "hs_mg_stdlv_metric",
        "hs_mg_strict",      "hs_mimic",         "hs_modindices",
        "hs_second_order",   "poldem_covariate", "poldem_defined",
        "poldem_sem",        "poldem_sem_mlr",   "poldem_stdlv",
    };
    int failed = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int f = check_case(cases[k]);
        if (f)
            print_message("%s: %d mismatches\n", cases[k], f);
        failed += f;
    }
    print_message("%zu cases, %ld values compared with lavaan's parTable\n",
                  sizeof cases / sizeof cases[0], partable_checks);
    assert_int_equal(failed, 0);
}

/* ---- syntax ---------------------------------------------------------- */

static void expect_error(const char *syntax, const char *needle)
{
    cx_error err = {0};
    sem_options opt = {0};
    opt.n_groups = 1;
    opt.meanstructure = -1;
    opt.fixed_x = 1;
    sem_partable *pt = sem_partable_build(syntax, &opt, &err);
    if (pt || !strstr(err.msg, needle))
        fail_msg("syntax %s\n  got error '%s'\n  wanted '%s'", syntax, err.msg, needle);
    assert_int_equal(err.code, CX_EUSAGE);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("visual =~ x1 + x2\ntextual =~ + x5",
                 "line 2, column 12: expected a variable name after '=~', found '+'");
    expect_error("f =~ x1 + x2 x3", "line 1, column 14: expected '+' or end of formula after "
                                    "'x2', found 'x3'");
    expect_error("f =~ x1 +", "line 1, column 10: expected a variable name after '+', found "
                              "end of line");
    expect_error("f = x1", "line 1, column 3: unexpected '=': did you mean '=~'");
    expect_error("=~ x1", "line 1, column 1: expected a variable name before '=~'");
    expect_error("f =~ x1\n  x2 x3", "line 2, column 3: expected '+' or end of formula after 'x1'");
    expect_error("x1 + x2\nf =~ x3", "line 1, column 1: expected a formula such as");
    expect_error("f =~ start(0.5 * x1", "line 1, column 16: expected ')' after '0.5', found '*'");
    expect_error("f =~ x1 + x2\nind := a*b", "line 2, column 8: unknown label 'a'");
    expect_error("f =~ x1 + c(a, b)*x2", "has 2 values but the model has 1 group");
    expect_error("f =~ x1 + x2 # comment\ny ~ f\ny | t1 + t2", "thresholds ('|')");
    expect_error("f =~ x1 + lower(0)*x2", "the lower() modifier is not supported yet");
    expect_error("f <~ x1 + x2", "formative indicators");
    expect_error("x := sqr(2)", "unknown function 'sqr'");
    expect_error("f =~ x1 + x2 + x3 $", "unexpected character '$'");
    expect_error("# nothing\n", "the model syntax is empty");
    expect_error("y | x1", "expected a threshold name (t1, t2, ...) after '|', found 'x1'");
}

static sem_partable *build(const char *syntax, size_t n_groups, sem_kind kind)
{
    cx_error err = {0};
    sem_options opt = {0};
    opt.kind = kind;
    opt.n_groups = n_groups;
    opt.meanstructure = -1;
    opt.fixed_x = 1;
    sem_partable *pt = sem_partable_build(syntax, &opt, &err);
    if (!pt)
        fail_msg("%s: %s", syntax, err.msg);
    return pt;
}

static const sem_param *find(const sem_partable *pt, const char *lhs, sem_op op, const char *rhs,
                             int group)
{
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *r = &pt->rows[k];
        if (r->op == op && r->group == group && !strcmp(r->lhs, lhs) && !strcmp(r->rhs, rhs))
            return r;
    }
    fail_msg("no row %s %s %s in group %d", lhs, sem_op_string(op), rhs, group);
    return NULL;
}

/* Modifiers, ';' and line continuation, comments, merged duplicates. */
static void test_syntax_forms(void **state)
{
    (void)state;
    sem_partable *pt = build("# a comment line\n"
                             "f =~ NA*x1 + start(0.8)*x2 +\n"
                             "     -0.5*x3 ! another comment\n"
                             "     + x4; f ~~ 1*f\n"
                             "f =~ lam*x1\n"
                             "y ~ 1 + b*f\n"
                             "y ~~ \"vy\"*y\n"
                             "f =~ equal(\"f=~x2\")*x4",
                             1, SEM_KIND_SEM);
    const sem_param *r = find(pt, "f", SEM_OP_LOADING, "x1", 0);
    assert_true(r->free > 0);
    assert_string_equal(r->label, "lam");
    r = find(pt, "f", SEM_OP_LOADING, "x2", 0);
    assert_true(r->free > 0 && r->start == 0.8);
    r = find(pt, "f", SEM_OP_LOADING, "x3", 0);
    assert_true(r->free == 0 && r->fixed_value == -0.5);
    assert_true(find(pt, "f", SEM_OP_COVARIANCE, "f", 0)->fixed_value == 1.0);
    assert_true(find(pt, "y", SEM_OP_INTERCEPT, "", 0)->free > 0);
    assert_string_equal(find(pt, "y", SEM_OP_REGRESSION, "f", 0)->label, "b");
    assert_string_equal(find(pt, "y", SEM_OP_COVARIANCE, "y", 0)->label, "vy");
    /* equal("f=~x2") labels x4's loading with x2's lavaan label */
    assert_int_equal(find(pt, "f", SEM_OP_LOADING, "x4", 0)->free,
                     find(pt, "f", SEM_OP_LOADING, "x2", 0)->free);
    assert_int_equal(pt->meanstructure, 1); /* y ~ 1 asks for it */
    sem_partable_free(pt);
}

/* c() gives one value per group; a single label is shared by all groups. */
static void test_group_modifiers(void **state)
{
    (void)state;
    sem_partable *pt = build("f =~ x1 + c(a1, a2)*x2 + c(1, NA)*x3 + l4*x4", 2, SEM_KIND_CFA);
    assert_string_equal(find(pt, "f", SEM_OP_LOADING, "x2", 0)->label, "a1");
    assert_string_equal(find(pt, "f", SEM_OP_LOADING, "x2", 1)->label, "a2");
    assert_true(find(pt, "f", SEM_OP_LOADING, "x2", 0)->free !=
                find(pt, "f", SEM_OP_LOADING, "x2", 1)->free);
    assert_int_equal(find(pt, "f", SEM_OP_LOADING, "x3", 0)->free, 0);
    assert_true(find(pt, "f", SEM_OP_LOADING, "x3", 1)->free > 0);
    assert_int_equal(find(pt, "f", SEM_OP_LOADING, "x4", 0)->free,
                     find(pt, "f", SEM_OP_LOADING, "x4", 1)->free);
    sem_partable_free(pt);
}

static double lookup(const char *label, void *ctx)
{
    (void)ctx;
    if (!strcmp(label, "a"))
        return 2.0;
    if (!strcmp(label, "b"))
        return 3.0;
    if (!strcmp(label, "c"))
        return 0.5;
    return NAN;
}

static void test_expressions(void **state)
{
    (void)state;
    cx_error err = {0};
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"a*b", 6.0},
        {"c + a*b", 6.5},
        {"-a^2", -4.0},
        {"2^-1", 0.5},
        {"(a + b) / (1 - c)", 10.0},
        {"sqrt(a*8) + exp(0) - log(1) + abs(-c)", 5.5},
        {"1e-1 * .5e1", 0.5},
        {"a - b - c", -1.5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sem_expr *e = sem_expr_parse(cases[k].text, &err);
        if (!e)
            fail_msg("%s: %s", cases[k].text, err.msg);
        double v = sem_expr_eval(e, lookup, NULL);
        if (fabs(v - cases[k].value) > 1e-12)
            fail_msg("%s = %.17g, wanted %.17g", cases[k].text, v, cases[k].value);
        sem_expr_free(e);
    }
    sem_expr *e = sem_expr_parse("a^b^c", &err); /* right-associative, as in R */
    assert_non_null(e);
    assert_true(fabs(sem_expr_eval(e, lookup, NULL) - pow(2.0, pow(3.0, 0.5))) < 1e-12);
    sem_expr_free(e);
    e = sem_expr_parse("a * d", &err);
    assert_non_null(e);
    assert_true(isnan(sem_expr_eval(e, lookup, NULL))); /* unknown label */
    sem_expr_free(e);
    assert_null(sem_expr_parse("a * (b + c", &err));
    assert_non_null(strstr(err.msg, "expected ')'"));
}

/* := rows come after the parameters, label = name, and evaluate. */
static void test_defined_rows(void **state)
{
    (void)state;
    sem_partable *pt = build("x4 ~ a*x1\nx7 ~ b*x4 + c*x1\nind := a*b\ntotal := c + a*b\n"
                             "both := ind + total\na == 2*b",
                             1, SEM_KIND_SEM);
    const sem_param *ind = find(pt, "ind", SEM_OP_DEFINED, "a*b", 0);
    const sem_param *both = find(pt, "both", SEM_OP_DEFINED, "ind+total", 0);
    assert_string_equal(ind->label, "ind");
    assert_non_null(both->expr);
    assert_true(sem_expr_eval(ind->expr, lookup, NULL) == 6.0);
    const sem_param *eq = find(pt, "a", SEM_OP_EQUAL, "2*b", 0);
    assert_true(sem_expr_eval(eq->expr, lookup, NULL) == 2.0 - 6.0);
    sem_partable_free(pt);
}

/* Rules without a reference case: auto.cov.y, std.lv with equal loadings
 * across groups, a label shared with a fixed parameter, fixed.x rows. */
static void test_default_rules(void **state)
{
    (void)state;
    sem_partable *pt = build("y1 ~ x1 + x2\ny2 ~ x1", 1, SEM_KIND_SEM);
    assert_true(find(pt, "y1", SEM_OP_COVARIANCE, "y2", 0)->free > 0); /* auto.cov.y */
    const sem_param *x12 = find(pt, "x1", SEM_OP_COVARIANCE, "x2", 0);
    assert_true(x12->exo == 1 && x12->free == 0 && isnan(x12->fixed_value));
    assert_int_equal(pt->n_ov, 4); /* y1 y2 x1 x2 */
    assert_string_equal(pt->ov_names[2], "x1");
    sem_partable_free(pt);

    cx_error err = {0};
    sem_options opt = {0};
    opt.kind = SEM_KIND_CFA;
    opt.n_groups = 2;
    opt.meanstructure = -1;
    opt.fixed_x = 1;
    opt.std_lv = 1;
    opt.group_equal = SEM_EQ_LOADINGS;
    pt = sem_partable_build("f =~ x1 + x2 + x3", &opt, &err);
    assert_non_null(pt);
    assert_int_equal(find(pt, "f", SEM_OP_COVARIANCE, "f", 0)->free, 0);
    assert_true(find(pt, "f", SEM_OP_COVARIANCE, "f", 1)->free > 0);
    assert_int_equal(find(pt, "f", SEM_OP_LOADING, "x1", 0)->free,
                     find(pt, "f", SEM_OP_LOADING, "x1", 1)->free);
    sem_partable_free(pt);

    /* a label shared with a fixed loading fixes the whole set */
    pt = build("f =~ 1*a*x1 + a*x2 + x3", 1, SEM_KIND_CFA);
    const sem_param *x2 = find(pt, "f", SEM_OP_LOADING, "x2", 0);
    assert_true(x2->free == 0 && x2->fixed_value == 1.0);
    sem_partable_free(pt);

    /* single indicator: its residual variance is fixed to 0 */
    pt = build("f =~ x1 + x2 + x3\ng =~ x4\ng ~ f", 1, SEM_KIND_SEM);
    assert_true(find(pt, "x4", SEM_OP_COVARIANCE, "x4", 0)->free == 0);
    sem_partable_free(pt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_partables), cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_syntax_forms),        cmocka_unit_test(test_group_modifiers),
        cmocka_unit_test(test_expressions),         cmocka_unit_test(test_defined_rows),
        cmocka_unit_test(test_default_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
