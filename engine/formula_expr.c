/*
 * formula_expr.c — arithmetic inside a formula (I(x^2), log(x + 1), ...):
 * evaluation for one row, and deparsing into the label R would print, so
 * design columns carry R's names ("I(x^2)", "log(x + 1)", "I(x/2)").
 */
#include "formula_expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double cx_fexpr_eval(const cx_fexpr *e, const double *name_values)
{
    switch (e->op) {
    case CX_FX_NUM:
        return e->num;
    case CX_FX_NAME:
        return name_values[e->name];
    case CX_FX_NEG:
        return -cx_fexpr_eval(e->a, name_values);
    case CX_FX_ADD:
        return cx_fexpr_eval(e->a, name_values) + cx_fexpr_eval(e->b, name_values);
    case CX_FX_SUB:
        return cx_fexpr_eval(e->a, name_values) - cx_fexpr_eval(e->b, name_values);
    case CX_FX_MUL:
        return cx_fexpr_eval(e->a, name_values) * cx_fexpr_eval(e->b, name_values);
    case CX_FX_DIV:
        return cx_fexpr_eval(e->a, name_values) / cx_fexpr_eval(e->b, name_values);
    case CX_FX_POW: {
        double x = cx_fexpr_eval(e->a, name_values), k = cx_fexpr_eval(e->b, name_values);
        return k == 2 ? x * x : pow(x, k); /* x^2 is the common case; pow is slow */
    }
    case CX_FX_LOG:
        return log(cx_fexpr_eval(e->a, name_values));
    case CX_FX_EXP:
        return exp(cx_fexpr_eval(e->a, name_values));
    case CX_FX_SQRT:
        return sqrt(cx_fexpr_eval(e->a, name_values));
    case CX_FX_PAREN:
    case CX_FX_I:
        return cx_fexpr_eval(e->a, name_values);
    }
    return NAN;
}

void cx_fexpr_free(cx_fexpr *e)
{
    if (!e)
        return;
    cx_fexpr_free(e->a);
    cx_fexpr_free(e->b);
    free(e);
}

/* A growing string; on overflow it only remembers that it failed. */
static void put(cx_strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->failed || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = b->failed ? NULL : realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void cx_strbuf_put(cx_strbuf *b, const char *s)
{
    put(b, s);
}

/* A number as R's deparse prints it: the fewest significant digits that
 * read back the same, in fixed notation unless scientific is shorter
 * (R's scipen = 0), e.g. 2, 0.5, 1e+05, 1e-04, 123456. */
void cx_format_number(double x, char *out, size_t size)
{
    if (!isfinite(x)) {
        snprintf(out, size, "%s", isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf");
        return;
    }
    int digits = 1;
    char sci[64], fixed[400];
    for (; digits < 17; digits++) {
        snprintf(sci, sizeof sci, "%.*e", digits - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    snprintf(sci, sizeof sci, "%.*e", digits - 1, x);
    int exponent = x == 0 ? 0 : (int)floor(log10(fabs(strtod(sci, NULL))));
    int decimals = digits - 1 - exponent;
    snprintf(fixed, sizeof fixed, "%.*f", decimals > 0 ? decimals : 0, x);
    /* C prints e+05 / e-04 like R; both use at least two exponent digits. */
    snprintf(out, size, "%s", strlen(sci) < strlen(fixed) ? sci : fixed);
}

static int is_syntactic(const char *s)
{
    if (!*s || (s[0] == '.' && s[1] >= '0' && s[1] <= '9') || (s[0] >= '0' && s[0] <= '9') ||
        s[0] == '_')
        return 0;
    for (; *s; s++)
        if (!(*s == '.' || *s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return 0;
    return 1;
}

void cx_deparse_name(cx_strbuf *b, const char *name)
{
    if (is_syntactic(name)) {
        put(b, name);
        return;
    }
    put(b, "`");
    put(b, name);
    put(b, "`");
}

void cx_fexpr_deparse(const cx_fexpr *e, char *const *names, cx_strbuf *b)
{
    static const char *binary[] = {[CX_FX_ADD] = " + ",
                                   [CX_FX_SUB] = " - ",
                                   [CX_FX_MUL] = " * ",
                                   [CX_FX_DIV] = "/",
                                   [CX_FX_POW] = "^"};
    static const char *call[] = {[CX_FX_LOG] = "log(",
                                 [CX_FX_EXP] = "exp(",
                                 [CX_FX_SQRT] = "sqrt(",
                                 [CX_FX_I] = "I(",
                                 [CX_FX_PAREN] = "("};
    char num[64];
    switch (e->op) {
    case CX_FX_NUM:
        cx_format_number(e->num, num, sizeof num);
        put(b, num);
        break;
    case CX_FX_NAME:
        cx_deparse_name(b, names[e->name]);
        break;
    case CX_FX_NEG:
        put(b, "-");
        cx_fexpr_deparse(e->a, names, b);
        break;
    case CX_FX_ADD:
    case CX_FX_SUB:
    case CX_FX_MUL:
    case CX_FX_DIV:
    case CX_FX_POW:
        cx_fexpr_deparse(e->a, names, b);
        put(b, binary[e->op]);
        cx_fexpr_deparse(e->b, names, b);
        break;
    default:
        put(b, call[e->op]);
        cx_fexpr_deparse(e->a, names, b);
        put(b, ")");
        break;
    }
}
