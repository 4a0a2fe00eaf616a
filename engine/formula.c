/*
 * formula.c — the recursive-descent parser of R-style formulas (formula.h).
 *
 * Grammar (precedence as R's: ^ binds tightest, then :, then * and /, then
 * + and -):
 *
 *   formula := var '~' sum
 *   sum     := ['+'|'-'] operand (('+'|'-') operand)*
 *   operand := 0 | 1 | product            (0/1 switch the intercept)
 *   product := inter (('*'|'/') inter)*
 *   inter   := power (':' power)*
 *   power   := atom ['^' integer]
 *   atom    := '(' sum ')' | '(' sum ('|'|'||') groups ')' | var
 *   var     := name | factor(name) | I(arith) | log|exp|sqrt(arith)
 *            | lag|lead|diff|growth(name [, integer])
 *   groups  := names ('/' names)*   names := name (':' name)*
 *   arith   := the usual + - * / ^ and unary minus over numbers, names,
 *              parentheses and log/exp/sqrt/I calls
 *
 * Every recursion goes through cx_fp_enter(), which refuses nesting deeper
 * than CX_FORMULA_MAX_DEPTH; tokens and errors are in formula_lex.c,
 * arithmetic in formula_arith.c.
 */
#include "formula.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula_parser.h"

/* ---- variables ------------------------------------------------------------ */

static int expr_var(parser *p, cx_fexpr_op op, const token *fn, size_t *index)
{
    cx_fvar v = {.kind = CX_FVAR_EXPR, .pos = fn->start + 1};
    int height = 0;
    cx_fexpr *inner = NULL;
    if (cx_fp_advance(p) || cx_fp_parse_arith(p, &inner, &height))
        return p->err->code;
    if (p->tok.kind != T_RPAR) {
        cx_fexpr_free(inner);
        return FAIL(p, "expected ')' closing %s( at character %zu", fn->name, fn->start + 1);
    }
    v.expr = cx_fp_node(p, op, inner, NULL);
    if (!v.expr || cx_fp_advance(p))
        return v.expr ? (cx_fexpr_free(v.expr), p->err->code) : CX_ENOMEM;
    cx_strbuf b = {0};
    cx_fexpr_deparse(v.expr, p->f->names, &b);
    v.label = cx_fp_take_label(&b, p);
    if (!v.label) {
        cx_fexpr_free(v.expr);
        return CX_ENOMEM;
    }
    return cx_fp_intern_var(p, &v, index);
}

static int panel_op(const char *name, cx_panel_op *op)
{
    static const char *names[] = {"lag", "lead", "diff", "growth"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            *op = (cx_panel_op)i;
            return 1;
        }
    return 0;
}

/* factor(name) and lag/lead/diff/growth(name [, k]). */
static int column_call(parser *p, const token *fn, cx_fvar_kind kind, cx_panel_op op, size_t *index)
{
    cx_fvar v = {.kind = kind, .pos = fn->start + 1, .panel_op = op, .panel_k = 1};
    if (cx_fp_advance(p))
        return p->err->code;
    if (p->tok.kind != T_NAME)
        return FAIL(p, "expected a column name as the argument of %s()", fn->name);
    token col = p->tok;
    if (cx_fp_intern_name(p, col.name, col.start, &v.name) || cx_fp_advance(p))
        return p->err->code;
    int has_k = 0;
    if (kind == CX_FVAR_PANEL && p->tok.kind == T_COMMA) {
        if (cx_fp_advance(p))
            return p->err->code;
        if (p->tok.kind != T_NUM || p->tok.num != floor(p->tok.num) ||
            p->tok.num > CX_FORMULA_MAX_LAG)
            return FAIL(p, "expected the order k of %s() as an integer 0..%d", fn->name,
                        CX_FORMULA_MAX_LAG);
        v.panel_k = (int)p->tok.num;
        has_k = 1;
        if (cx_fp_advance(p))
            return p->err->code;
    }
    if (p->tok.kind != T_RPAR)
        return FAIL(p, "expected ')' closing %s( at character %zu%s", fn->name, fn->start + 1,
                    kind == CX_FVAR_PANEL ? " (or ', k')" : "");
    if (cx_fp_advance(p))
        return p->err->code;
    cx_strbuf b = {0};
    cx_strbuf_put(&b, fn->name);
    cx_strbuf_put(&b, "(");
    cx_deparse_name(&b, col.name);
    if (has_k) {
        char k[32];
        snprintf(k, sizeof k, ", %d", v.panel_k);
        cx_strbuf_put(&b, k);
    }
    cx_strbuf_put(&b, ")");
    v.label = cx_fp_take_label(&b, p);
    return v.label ? cx_fp_intern_var(p, &v, index) : CX_ENOMEM;
}

/* One variable: a plain name or a call; the outcome and every factor of a
 * term come through here. */
static int parse_var(parser *p, size_t *index)
{
    token t = p->tok;
    if (t.kind != T_NAME)
        return FAIL(p, "expected a column, factor(), I(), log(), exp(), sqrt(), lag(), "
                       "lead(), diff(), growth() or '('");
    if (cx_fp_advance(p))
        return p->err->code;
    if (p->tok.kind != T_LPAR) {
        if (!strcmp(t.name, ".") && p->s[t.start] != '`')
            return cx_fp_fail_at(p, t.start, t.len,
                                 "expected column names: '.' (all other columns) is not supported");
        cx_fvar v = {.kind = CX_FVAR_COLUMN, .pos = t.start + 1};
        cx_strbuf b = {0};
        cx_deparse_name(&b, t.name);
        v.label = cx_fp_take_label(&b, p);
        if (!v.label || cx_fp_intern_name(p, t.name, t.start, &v.name)) {
            free(v.label);
            return p->err->code;
        }
        return cx_fp_intern_var(p, &v, index);
    }
    cx_fexpr_op op;
    cx_panel_op pop;
    if (!strcmp(t.name, "factor"))
        return column_call(p, &t, CX_FVAR_FACTOR, CX_PANEL_LAG, index);
    if (panel_op(t.name, &pop))
        return column_call(p, &t, CX_FVAR_PANEL, pop, index);
    if (cx_fp_arith_function(t.name, &op))
        return expr_var(p, op, &t, index);
    return cx_fp_fail_at(
        p, t.start, t.len,
        "unknown function %s(): expected factor(), I(), log(), exp(), sqrt(), lag(), "
        "lead(), diff() or growth()",
        t.name);
}

/* ---- terms and the formula algebra ---------------------------------------- */

static int parse_sum(parser *p, cx_tset *out, int top);

/* Grouping factors of a bar: a:b/c -> {a:b}, {a:b:c} (nesting expands). */
static int parse_groups(parser *p, const cx_tset *lhs, int correlated, size_t open,
                        size_t lhs_start, size_t lhs_len, cx_tset *out)
{
    size_t *names = NULL, n = 0, cap = 0;
    int rc = CX_OK;
    for (;;) {
        if (p->tok.kind != T_NAME) {
            rc = FAIL(p, "expected a grouping column after '|' (g, g1:g2 or g1/g2)");
            break;
        }
        if ((rc = cx_fp_grow((void **)&names, &cap, n, sizeof *names, p->err)) ||
            (rc = cx_fp_intern_name(p, p->tok.name, p->tok.start, &names[n])))
            break;
        n++;
        if ((rc = cx_fp_advance(p)))
            break;
        tok_kind k = p->tok.kind;
        if (k == T_SLASH || k == T_RPAR) {
            cx_frandom r = {
                .intercept = lhs->icpt != CX_ICPT_OFF, .correlated = correlated, .pos = open + 1};
            r.group = cx_malloc(n * sizeof *names, p->err);
            cx_strbuf b = {0};
            char *lhs_text = cx_malloc(lhs_len + 1, p->err);
            if (!r.group || !lhs_text || cx_tset_export(lhs, &r.terms, &r.n_terms, p->err)) {
                free(r.group);
                free(lhs_text);
                rc = p->err->code;
                break;
            }
            memcpy(r.group, names, n * sizeof *names);
            r.n_group = n;
            size_t len = 0; /* as written, each run of white space one blank */
            for (size_t i = 0; i < lhs_len; i++) {
                int blank = isspace((unsigned char)p->s[lhs_start + i]);
                if (!blank || (len && lhs_text[len - 1] != ' '))
                    lhs_text[len++] = blank ? ' ' : p->s[lhs_start + i];
            }
            lhs_text[len] = '\0';
            cx_strbuf_put(&b, lhs_text);
            free(lhs_text);
            cx_strbuf_put(&b, correlated ? " | " : " || ");
            for (size_t i = 0; i < n; i++) {
                if (i)
                    cx_strbuf_put(&b, ":");
                cx_deparse_name(&b, p->f->names[names[i]]);
            }
            r.label = cx_fp_take_label(&b, p);
            cx_frandom *grown = r.label ? realloc(out->bars, (out->n_bars + 1) * sizeof r) : NULL;
            if (!grown) {
                cx_frandom_clear(&r);
                rc = cx_error_set(p->err, CX_ENOMEM, "out of memory parsing the formula");
                break;
            }
            out->bars = grown;
            out->bars[out->n_bars++] = r;
        }
        if (k == T_RPAR)
            break;
        if (k != T_SLASH && k != T_COLON) {
            rc = FAIL(p, "expected ':', '/' or ')' after the grouping column");
            break;
        }
        if ((rc = cx_fp_advance(p)))
            break;
    }
    free(names);
    return rc;
}

/* '(' sum ')' or the random-effect bar '(' sum '|' groups ')'. */
static int parse_paren(parser *p, cx_tset *out)
{
    size_t open = p->tok.start;
    if (cx_fp_enter(p) || cx_fp_advance(p))
        return p->err->code;
    size_t lhs_start = p->tok.start;
    cx_tset inner = {.icpt = CX_ICPT_UNSET};
    int rc = parse_sum(p, &inner, 0);
    if (!rc && (p->tok.kind == T_BAR || p->tok.kind == T_DBAR)) {
        size_t lhs_len = p->tok.start - lhs_start;
        while (lhs_len && isspace((unsigned char)p->s[lhs_start + lhs_len - 1]))
            lhs_len--;
        int correlated = p->tok.kind == T_BAR;
        if (inner.n_bars)
            rc = cx_fp_fail_at(p, lhs_start, lhs_len, "expected no bar inside a bar's left side");
        else
            rc = cx_fp_advance(p) ||
                 parse_groups(p, &inner, correlated, open, lhs_start, lhs_len, out);
        rc = rc ? p->err->code : CX_OK;
    } else if (!rc) {
        rc = cx_tset_merge(out, &inner, p->err);
    }
    if (!rc && p->tok.kind != T_RPAR)
        rc = FAIL(p, "expected ')' closing '(' at character %zu", open + 1);
    if (!rc)
        rc = cx_fp_advance(p);
    cx_tset_free(&inner);
    p->depth--;
    return rc;
}

static int parse_atom(parser *p, cx_tset *out)
{
    if (p->tok.kind == T_LPAR)
        return parse_paren(p, out);
    if (p->tok.kind == T_NUM)
        return FAIL(p, "expected a term: a number stands alone only as +0, +1 or -1 (the "
                       "intercept); write I(2 * x) for arithmetic");
    size_t pos = p->tok.start + 1, var;
    if (parse_var(p, &var))
        return p->err->code;
    return cx_tset_add(out, &var, 1, pos, p->err);
}

static int refuse_bar(parser *p, const cx_tset *s, const char *where)
{
    if (!s->n_bars)
        return CX_OK;
    return cx_error_set(p->err, CX_EUSAGE,
                        "formula, at character %zu ('(%s)'): expected the random-effect term "
                        "added on its own (+ (... | group)), not %s",
                        s->bars[0].pos, s->bars[0].label, where);
}

/* The term algebra's errors ("more than N terms") carry no position: give
 * them the current one. */
static int locate(parser *p)
{
    if (p->err->code != CX_EUSAGE || strstr(p->err->msg, "character"))
        return p->err->code;
    char why[128] = {0};
    memcpy(why, p->err->msg, sizeof why - 1);
    return FAIL(p, "expected fewer terms: %s", why);
}

static int parse_power(parser *p, cx_tset *out)
{
    if (parse_atom(p, out))
        return p->err->code;
    if (p->tok.kind != T_CARET)
        return CX_OK;
    if (refuse_bar(p, out, "raised to a power") || cx_fp_advance(p))
        return p->err->code;
    if (p->tok.kind != T_NUM || p->tok.num != floor(p->tok.num) || p->tok.num < 1 ||
        p->tok.num > 64)
        return FAIL(p, "expected the interaction order after '^' as an integer 1..64");
    int k = (int)p->tok.num;
    cx_tset base = {.icpt = CX_ICPT_UNSET};
    int rc = cx_tset_merge(&base, out, p->err);
    for (int i = 1; i < k && !rc; i++) { /* (a + b)^k = (a + b) * ... * (a + b) */
        cx_tset next = {.icpt = CX_ICPT_UNSET};
        rc = cx_tset_cross(out, &base, &next, p->err);
        cx_tset_free(out);
        *out = next;
    }
    cx_tset_free(&base);
    return rc ? locate(p) : cx_fp_advance(p);
}

/* inter := power (':' power)*;  product := inter (('*'|'/') inter)*. */
static int parse_binary(parser *p, int product, cx_tset *out)
{
    if (product ? parse_binary(p, 0, out) : parse_power(p, out))
        return p->err->code;
    for (;;) {
        tok_kind k = p->tok.kind;
        if (product ? (k != T_STAR && k != T_SLASH) : k != T_COLON)
            return CX_OK;
        const char *op = k == T_STAR    ? "crossed with '*'"
                         : k == T_SLASH ? "nested with '/'"
                                        : "in an interaction";
        if (refuse_bar(p, out, op) || cx_fp_advance(p))
            return p->err->code;
        cx_tset rhs = {.icpt = CX_ICPT_UNSET}, res = {.icpt = CX_ICPT_UNSET};
        int rc = product ? parse_binary(p, 0, &rhs) : parse_power(p, &rhs);
        if (!rc)
            rc = refuse_bar(p, &rhs, op);
        if (!rc)
            rc = k == T_STAR    ? cx_tset_cross(out, &rhs, &res, p->err)
                 : k == T_SLASH ? cx_tset_nest(out, &rhs, &res, p->err)
                                : cx_tset_interact(out, &rhs, &res, p->err);
        if (rc)
            rc = locate(p);
        cx_tset_free(&rhs);
        cx_tset_free(out);
        *out = res;
        if (rc)
            return p->err->code;
    }
}

/* A lone 0 or 1 switches the intercept. */
static int is_intercept_switch(parser *p)
{
    if (p->tok.kind != T_NUM)
        return 0;
    size_t i = p->at;
    while (isspace((unsigned char)p->s[i]))
        i++;
    return strchr("+-)|", p->s[i]) != NULL; /* also matches the final '\0' */
}

static int parse_sum(parser *p, cx_tset *out, int top)
{
    int negative = 0;
    if (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS) {
        negative = p->tok.kind == T_MINUS;
        if (cx_fp_advance(p))
            return p->err->code;
    }
    for (;;) {
        cx_tset operand = {.icpt = CX_ICPT_UNSET};
        int rc = CX_OK;
        if (is_intercept_switch(p)) {
            if (p->tok.num != 0 && p->tok.num != 1)
                return FAIL(p, "expected 0 or 1 (the intercept) or a term");
            operand.icpt = p->tok.num == 1 ? CX_ICPT_ON : CX_ICPT_OFF;
            rc = cx_fp_advance(p);
        } else {
            rc = parse_binary(p, 1, &operand);
        }
        if (!rc && operand.n_bars && (!top || negative))
            rc = refuse_bar(p, &operand, negative ? "subtracted" : "inside parentheses");
        if (!rc && negative)
            cx_tset_subtract(out, &operand);
        else if (!rc)
            rc = cx_tset_merge(out, &operand, p->err);
        if (!rc && operand.n_bars) { /* top level: the bars become random terms */
            cx_formula *f = p->f;
            cx_frandom *r = realloc(f->random, (f->n_random + operand.n_bars) * sizeof *r);
            if (!r)
                rc = cx_error_set(p->err, CX_ENOMEM, "out of memory parsing the formula");
            else {
                f->random = r;
                memcpy(r + f->n_random, operand.bars, operand.n_bars * sizeof *r);
                f->n_random += operand.n_bars;
                free(operand.bars);
                operand.bars = NULL;
                operand.n_bars = 0;
            }
        }
        cx_tset_free(&operand);
        if (rc)
            return locate(p);
        if (p->tok.kind != T_PLUS && p->tok.kind != T_MINUS)
            return CX_OK;
        negative = p->tok.kind == T_MINUS;
        if (cx_fp_advance(p))
            return p->err->code;
    }
}

/* ---- the formula ------------------------------------------------------------ */

static int parse_formula(parser *p)
{
    cx_formula *f = p->f;
    if (cx_fp_advance(p))
        return p->err->code;
    if (p->tok.kind == T_TILDE || p->tok.kind == T_END)
        return FAIL(p, "expected the outcome (a column, factor(y), log(y), ...) before '~'");
    if (parse_var(p, &f->outcome))
        return p->err->code;
    if (cx_fp_expect(p, T_TILDE, "'~' after the outcome"))
        return p->err->code;
    cx_tset rhs = {.icpt = CX_ICPT_UNSET};
    int rc = parse_sum(p, &rhs, 1);
    if (!rc && p->tok.kind != T_END)
        rc = FAIL(p, p->tok.kind == T_RPAR ? "expected no ')' without a matching '('"
                                           : "expected '+', '-', '*', '/', ':' or the end of "
                                             "the formula");
    if (!rc && rhs.n_alive == 0 && rhs.icpt == CX_ICPT_OFF && f->n_random == 0)
        rc = FAIL(p, "expected at least one term or the intercept on the right of '~'");
    if (!rc) {
        f->intercept = rhs.icpt != CX_ICPT_OFF;
        rc = cx_tset_export(&rhs, &f->terms, &f->n_terms, p->err);
    }
    cx_tset_free(&rhs);
    return rc;
}

cx_formula *cx_formula_parse(const char *text, cx_error *err)
{
    cx_formula *f = cx_calloc(1, sizeof *f, err);
    if (!f)
        return NULL;
    f->text = cx_strdup(text ? text : "", err);
    if (!f->text) {
        free(f);
        return NULL;
    }
    parser p = {.s = f->text, .f = f, .err = err};
    int rc = parse_formula(&p);
    cx_strmap_free(&p.var_index);
    cx_strmap_free(&p.name_index);
    if (rc) {
        cx_formula_free(f);
        return NULL;
    }
    return f;
}

void cx_formula_free(cx_formula *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_vars; i++)
        cx_fp_var_clear(&f->vars[i]);
    free(f->vars);
    cx_fterms_free(f->terms, f->n_terms);
    for (size_t i = 0; i < f->n_random; i++)
        cx_frandom_clear(&f->random[i]);
    free(f->random);
    for (size_t i = 0; i < f->n_names; i++)
        free(f->names[i]);
    free(f->names);
    free(f->name_pos);
    free(f->text);
    free(f);
}

char *cx_formula_term_label(const cx_formula *f, const cx_fterm *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n_vars && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ":" : "",
                                 f->vars[t->vars[i]].label);
    return buf;
}

int cx_formula_require_fixed(const cx_formula *f, cx_error *err)
{
    if (!f->n_random)
        return CX_OK;
    return cx_error_set(err, CX_EUSAGE,
                        "formula, at character %zu ('(%s)'): random-effect terms need "
                        "model = mixed; expected fixed terms only",
                        f->random[0].pos, f->random[0].label);
}
