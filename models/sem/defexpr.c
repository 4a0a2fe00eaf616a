/*
 * defexpr.c — evaluates the right-hand side of a defined parameter
 * (`ind := a*b`), as lavaan stores it in the partable's rhs column.
 *
 * The estimator evaluates the text itself (rather than the parser's
 * sem_expr tree) so that it only needs the parameter table.  Grammar,
 * recursive descent with R's precedence:
 *   expr  = term { ('+' | '-') term }
 *   term  = unary { ('*' | '/') unary }
 *   unary = ('-' | '+') unary | power
 *   power = atom [ '^' unary ]          (right associative, binds tighter than unary minus)
 *   atom  = number | name | name '(' expr ')' | '(' expr ')'
 * Functions: sqrt, exp, log, abs.
 */
#include "est_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    double (*lookup)(const char *, void *);
    void *ctx;
    int ok;
} parser;

static double parse_expr(parser *ps);

static void skip_space(parser *ps)
{
    while (isspace((unsigned char)*ps->s))
        ps->s++;
}

static int is_name_char(int c, int first)
{
    return isalpha(c) || c == '_' || c == '.' || (!first && isdigit(c));
}

static double apply_function(parser *ps, const char *name, double arg)
{
    if (strcmp(name, "sqrt") == 0)
        return sqrt(arg);
    if (strcmp(name, "exp") == 0)
        return exp(arg);
    if (strcmp(name, "log") == 0)
        return log(arg);
    if (strcmp(name, "abs") == 0)
        return fabs(arg);
    ps->ok = 0;
    return NAN;
}

static double parse_name(parser *ps)
{
    char name[SEM_NAME_MAX];
    size_t n = 0;
    while (is_name_char((unsigned char)*ps->s, n == 0) && n + 1 < sizeof name)
        name[n++] = *ps->s++;
    name[n] = '\0';
    skip_space(ps);
    if (*ps->s == '(') {
        ps->s++;
        double arg = parse_expr(ps);
        skip_space(ps);
        if (*ps->s != ')')
            ps->ok = 0;
        else
            ps->s++;
        return apply_function(ps, name, arg);
    }
    double v = ps->lookup(name, ps->ctx);
    if (isnan(v))
        ps->ok = 0;
    return v;
}

static double parse_atom(parser *ps)
{
    skip_space(ps);
    if (*ps->s == '(') {
        ps->s++;
        double v = parse_expr(ps);
        skip_space(ps);
        if (*ps->s != ')')
            ps->ok = 0;
        else
            ps->s++;
        return v;
    }
    if (isdigit((unsigned char)*ps->s) || (*ps->s == '.' && isdigit((unsigned char)ps->s[1]))) {
        char *end;
        double v = strtod(ps->s, &end);
        ps->s = end;
        return v;
    }
    if (is_name_char((unsigned char)*ps->s, 1))
        return parse_name(ps);
    ps->ok = 0;
    return NAN;
}

static double parse_unary(parser *ps);

static double parse_power(parser *ps)
{
    double base = parse_atom(ps);
    skip_space(ps);
    if (*ps->s == '^') {
        ps->s++;
        return pow(base, parse_unary(ps));
    }
    return base;
}

static double parse_unary(parser *ps)
{
    skip_space(ps);
    if (*ps->s == '-') {
        ps->s++;
        return -parse_unary(ps);
    }
    if (*ps->s == '+') {
        ps->s++;
        return parse_unary(ps);
    }
    return parse_power(ps);
}

static double parse_term(parser *ps)
{
    double v = parse_unary(ps);
    for (;;) {
        skip_space(ps);
        char c = *ps->s;
        if (c != '*' && c != '/')
            return v;
        ps->s++;
        double r = parse_unary(ps);
        v = c == '*' ? v * r : v / r;
    }
}

static double parse_expr(parser *ps)
{
    double v = parse_term(ps);
    for (;;) {
        skip_space(ps);
        char c = *ps->s;
        if (c != '+' && c != '-')
            return v;
        ps->s++;
        double r = parse_term(ps);
        v = c == '+' ? v + r : v - r;
    }
}

double sem_defexpr_eval(const char *text, double (*lookup)(const char *name, void *ctx), void *ctx,
                        int *ok)
{
    parser ps = {text, lookup, ctx, 1};
    double v = parse_expr(&ps);
    skip_space(&ps);
    if (*ps.s != '\0')
        ps.ok = 0;
    if (ok)
        *ok = ps.ok;
    return ps.ok ? v : NAN;
}
