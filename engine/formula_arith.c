/*
 * formula_arith.c — arithmetic inside I(), log(), exp() and sqrt(), with
 * R's precedence: ^ (right-associative) binds tighter than unary minus,
 * then * and /, then + and -.  Every recursion passes cx_fp_enter(), and
 * a tree is at most MAX_EXPR_HEIGHT high, so evaluating, deparsing and
 * freeing it cannot overflow the stack.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula_parser.h"

/* ---- arithmetic inside I(), log(), ... ------------------------------------ */

cx_fexpr *cx_fp_node(parser *p, cx_fexpr_op op, cx_fexpr *a, cx_fexpr *b)
{
    cx_fexpr *e = cx_calloc(1, sizeof *e, p->err);
    if (!e) {
        cx_fexpr_free(a);
        cx_fexpr_free(b);
        return NULL;
    }
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

int cx_fp_arith_function(const char *name, cx_fexpr_op *op)
{
    static const char *names[] = {"log", "exp", "sqrt", "I"};
    static const cx_fexpr_op ops[] = {CX_FX_LOG, CX_FX_EXP, CX_FX_SQRT, CX_FX_I};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            *op = ops[i];
            return 1;
        }
    return 0;
}

/* A wrapped operand: '(' arith ')' or fn '(' arith ')'. */
static int parse_wrapped(parser *p, cx_fexpr_op op, cx_fexpr **out, int *height)
{
    cx_fexpr *inner = NULL;
    if (cx_fp_advance(p) || cx_fp_parse_arith(p, &inner, height))
        return p->err->code;
    if (p->tok.kind != T_RPAR) {
        cx_fexpr_free(inner);
        return FAIL(p, "expected ')' or an operator (+ - * / ^)");
    }
    *out = cx_fp_node(p, op, inner, NULL);
    ++*height;
    return *out ? cx_fp_advance(p) : CX_ENOMEM;
}

static int parse_primary(parser *p, cx_fexpr **out, int *height)
{
    token t = p->tok;
    cx_fexpr_op op;
    *height = 1;
    if (t.kind == T_NUM) {
        *out = cx_fp_node(p, CX_FX_NUM, NULL, NULL);
        if (!*out)
            return CX_ENOMEM;
        (*out)->num = t.num;
        return cx_fp_advance(p);
    }
    if (t.kind == T_LPAR)
        return parse_wrapped(p, CX_FX_PAREN, out, height);
    if (t.kind != T_NAME)
        return FAIL(p, "expected a number, a column, '(' or log/exp/sqrt/I(...) in the expression");
    if (cx_fp_advance(p))
        return p->err->code;
    if (p->tok.kind == T_LPAR) {
        if (!cx_fp_arith_function(t.name, &op))
            return cx_fp_fail_at(p, t.start, t.len,
                                 "expected log(), exp(), sqrt() or I() inside an expression");
        return parse_wrapped(p, op, out, height);
    }
    *out = cx_fp_node(p, CX_FX_NAME, NULL, NULL);
    return *out ? cx_fp_intern_name(p, t.name, t.start, &(*out)->name) : CX_ENOMEM;
}

static int parse_unary(parser *p, cx_fexpr **out, int *height);

/* primary ['^' unary]: right-associative, binds tighter than unary minus. */
static int parse_pow(parser *p, cx_fexpr **out, int *height)
{
    if (parse_primary(p, out, height))
        return p->err->code;
    if (p->tok.kind != T_CARET)
        return CX_OK;
    cx_fexpr *rhs = NULL;
    int h2 = 0;
    if (cx_fp_advance(p) || parse_unary(p, &rhs, &h2)) {
        cx_fexpr_free(*out);
        *out = NULL;
        return p->err->code;
    }
    *out = cx_fp_node(p, CX_FX_POW, *out, rhs);
    *height = 1 + (*height > h2 ? *height : h2);
    return *out ? CX_OK : CX_ENOMEM;
}

static int parse_unary(parser *p, cx_fexpr **out, int *height)
{
    *out = NULL;
    if (cx_fp_enter(p))
        return p->err->code;
    int rc;
    if (p->tok.kind == T_MINUS || p->tok.kind == T_PLUS) {
        int minus = p->tok.kind == T_MINUS;
        rc = cx_fp_advance(p) || parse_unary(p, out, height) ? p->err->code : CX_OK;
        if (!rc && minus) {
            *out = cx_fp_node(p, CX_FX_NEG, *out, NULL);
            ++*height;
            rc = *out ? CX_OK : CX_ENOMEM;
        }
    } else {
        rc = parse_pow(p, out, height);
    }
    if (rc) { /* whatever was built before the error */
        cx_fexpr_free(*out);
        *out = NULL;
    }
    p->depth--;
    return rc;
}

/* Left-associative chains of binary operators of one precedence level. */
static int parse_chain(parser *p, int level, cx_fexpr **out, int *height)
{
    int rc = level ? parse_unary(p, out, height) : parse_chain(p, 1, out, height);
    while (!rc) {
        tok_kind k = p->tok.kind;
        cx_fexpr_op op;
        if (level == 0 && (k == T_PLUS || k == T_MINUS))
            op = k == T_PLUS ? CX_FX_ADD : CX_FX_SUB;
        else if (level == 1 && (k == T_STAR || k == T_SLASH))
            op = k == T_STAR ? CX_FX_MUL : CX_FX_DIV;
        else
            break;
        cx_fexpr *rhs = NULL;
        int h2 = 0;
        rc = cx_fp_advance(p) || (level ? parse_unary(p, &rhs, &h2) : parse_chain(p, 1, &rhs, &h2));
        if (rc) {
            rc = p->err->code;
            break;
        }
        *out = cx_fp_node(p, op, *out, rhs);
        if (!*out)
            return CX_ENOMEM;
        *height = 1 + (*height > h2 ? *height : h2);
        if (*height > MAX_EXPR_HEIGHT)
            rc = FAIL(p, "expected an expression of at most %d operations in a row",
                      MAX_EXPR_HEIGHT);
    }
    if (rc) {
        cx_fexpr_free(*out);
        *out = NULL;
    }
    return rc;
}

int cx_fp_parse_arith(parser *p, cx_fexpr **out, int *height)
{
    if (cx_fp_enter(p))
        return p->err->code;
    *out = NULL;
    int rc = parse_chain(p, 0, out, height);
    if (!rc && *height > MAX_EXPR_HEIGHT)
        rc = FAIL(p, "expected an expression of at most %d operations in a row", MAX_EXPR_HEIGHT);
    if (rc) {
        cx_fexpr_free(*out);
        *out = NULL;
    }
    p->depth--;
    return rc;
}
