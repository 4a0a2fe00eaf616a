/*
 * formula_parser.h — private to the formula parser (formula.c, the grammar
 * of terms; formula_lex.c, tokens, errors and the variable table;
 * formula_arith.c, arithmetic inside I() and log()).  Not for models.
 */
#ifndef CX_FORMULA_PARSER_H
#define CX_FORMULA_PARSER_H

#include <stddef.h>

#include "formula.h"
#include "formula_expr.h"
#include "formula_terms.h"
#include "table.h"

#define MAX_EXPR_HEIGHT 256 /* operations in a row inside one expression */

typedef enum tok_kind {
    T_END,
    T_NAME,
    T_NUM,
    T_TILDE,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_COLON,
    T_CARET,
    T_LPAR,
    T_RPAR,
    T_BAR,
    T_DBAR,
    T_COMMA,
    T_BAD
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t start, len; /* byte offsets into the text                     */
    double num;
    char name[CX_NAME_MAX]; /* T_NAME: the name (backquotes removed)    */
} token;

typedef struct parser {
    const char *s;
    size_t at; /* next byte to scan */
    token tok;
    int depth;
    cx_formula *f;
    cx_strmap var_index, name_index;
    size_t cap_vars, cap_names, cap_pos;
    cx_error *err;
} parser;

/* "formula, at character N ('tok'): <what>" for len bytes at start. */
int cx_fp_fail_at(parser *p, size_t start, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same about the current token. */
#define FAIL(p, ...) cx_fp_fail_at((p), (p)->tok.start, (p)->tok.len, __VA_ARGS__)

int cx_fp_advance(parser *p);                                 /* next token           */
int cx_fp_expect(parser *p, tok_kind kind, const char *what); /* that token, or fail  */
int cx_fp_enter(parser *p); /* one level deeper; fails beyond CX_FORMULA_MAX_DEPTH      */
int cx_fp_grow(void **array, size_t *cap, size_t n, size_t elem, cx_error *err);
/* Index of a column/score name, a variable (same label = same variable). */
int cx_fp_intern_name(parser *p, const char *s, size_t pos, size_t *index);
int cx_fp_intern_var(parser *p, cx_fvar *v, size_t *index);
void cx_fp_var_clear(cx_fvar *v);
/* The buffer's text, or NULL with an out-of-memory error. */
char *cx_fp_take_label(cx_strbuf *b, parser *p);

/* Arithmetic: the tree of one expression and its height. */
int cx_fp_parse_arith(parser *p, cx_fexpr **out, int *height);
cx_fexpr *cx_fp_node(parser *p, cx_fexpr_op op, cx_fexpr *a, cx_fexpr *b);
/* log/exp/sqrt/I: 1 and the operation, else 0. */
int cx_fp_arith_function(const char *name, cx_fexpr_op *op);

#endif
