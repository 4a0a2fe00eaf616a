/*
 * syntax.c — tokenizer and parser for lavaan model syntax.
 *
 * The syntax is lavaan's (see ?model.syntax in R):
 *   f =~ x1 + a*x2 + start(0.5)*x3     loadings, with modifiers
 *   y ~ f + c(b1, b2)*x                regressions (c(): one value per group)
 *   y ~ 1                              intercepts;  x | t1 + t2  thresholds
 *   x1 ~~ x2                           (co)variances
 *   ind := a*b                         defined parameters
 *   a == b;  a > 0                     constraints
 * Formulas are separated by newlines or ';'; '#' and '!' start comments.
 * As in lavaan, a line without a formula operator continues the previous
 * formula, and so does any line after one that ends in an operator, '+'
 * or '*'.  Unlike lavaan (which deletes all blanks first), blanks separate
 * tokens, so "x 1" is an error rather than silently "x1".
 *
 * Errors say where and what was expected:
 *   "line 2, column 14: expected a variable name after '=~', found '+'".
 */
#include "syntax.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Expressions                                                          */
/* ------------------------------------------------------------------ */

typedef enum expr_kind {
    EX_NUM,
    EX_VAR,
    EX_NEG,
    EX_ADD,
    EX_SUB,
    EX_MUL,
    EX_DIV,
    EX_POW,
    EX_FUN
} expr_kind;

struct sem_expr {
    expr_kind kind;
    double value;            /* EX_NUM */
    char name[SEM_NAME_MAX]; /* EX_VAR: label; EX_FUN: function name */
    int fun;                 /* EX_FUN: index into expr_functions */
    int line, column;        /* EX_VAR: where it was written */
    int height;              /* levels below and including this node */
    sem_expr *a, *b;
};

/* Tallest expression tree accepted.  Evaluating, visiting and freeing a
 * tree recurse once per level, and a chain "a + b + c ..." is as tall as
 * it is long, so the height is bounded as well as the parser's nesting. */
#define SEM_EXPR_MAX_HEIGHT 256

static double pnorm_std(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

/* Functions R users write in := definitions. */
static const struct {
    const char *name;
    double (*fn)(double);
} expr_functions[] = {
    {"exp", exp},   {"log", log},   {"sqrt", sqrt}, {"abs", fabs},        {"log10", log10},
    {"log2", log2}, {"sin", sin},   {"cos", cos},   {"tan", tan},         {"atan", atan},
    {"tanh", tanh}, {"asin", asin}, {"acos", acos}, {"pnorm", pnorm_std},
};
#define N_EXPR_FUNCTIONS (sizeof expr_functions / sizeof expr_functions[0])

double sem_expr_eval(const sem_expr *e, double (*lookup)(const char *label, void *ctx), void *ctx)
{
    if (!e)
        return NAN;
    switch (e->kind) {
    case EX_NUM:
        return e->value;
    case EX_VAR:
        return lookup ? lookup(e->name, ctx) : NAN;
    case EX_NEG:
        return -sem_expr_eval(e->a, lookup, ctx);
    case EX_FUN:
        return expr_functions[e->fun].fn(sem_expr_eval(e->a, lookup, ctx));
    default:
        break;
    }
    double x = sem_expr_eval(e->a, lookup, ctx);
    double y = sem_expr_eval(e->b, lookup, ctx);
    switch (e->kind) {
    case EX_ADD:
        return x + y;
    case EX_SUB:
        return x - y;
    case EX_MUL:
        return x * y;
    case EX_DIV:
        return x / y;
    case EX_POW:
        return pow(x, y);
    default:
        return NAN;
    }
}

void sem_expr_free(sem_expr *e)
{
    if (!e)
        return;
    sem_expr_free(e->a);
    sem_expr_free(e->b);
    free(e);
}

int sem_expr_visit_labels(const sem_expr *e,
                          int (*visit)(const char *label, int line, int column, void *ctx),
                          void *ctx)
{
    if (!e)
        return 0;
    if (e->kind == EX_VAR)
        return visit(e->name, e->line, e->column, ctx);
    int rc = sem_expr_visit_labels(e->a, visit, ctx);
    return rc ? rc : sem_expr_visit_labels(e->b, visit, ctx);
}

static sem_expr *expr_node(expr_kind kind, sem_expr *a, sem_expr *b, cx_error *err)
{
    int below = a ? a->height : 0;
    if (b && b->height > below)
        below = b->height;
    sem_expr *e = NULL;
    if (below >= SEM_EXPR_MAX_HEIGHT)
        cx_error_set(err, CX_EUSAGE, "expression is too long: more than %d operations deep",
                     SEM_EXPR_MAX_HEIGHT);
    else
        e = cx_calloc(1, sizeof *e, err);
    if (!e) {
        sem_expr_free(a);
        sem_expr_free(b);
        return NULL;
    }
    e->kind = kind;
    e->height = below + 1;
    e->a = a;
    e->b = b;
    return e;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                               */
/* ------------------------------------------------------------------ */

typedef enum tok_kind { TK_END, TK_BREAK, TK_NAME, TK_NUMBER, TK_STRING, TK_OP } tok_kind;

typedef struct token {
    tok_kind kind;
    char text[SEM_NAME_MAX]; /* as written (strings: without quotes) */
    double number;
    int line, column; /* 1-based start */
    int end_column;   /* column just after the token */
} token;

typedef struct token_list {
    token *t;
    size_t n, cap;
} token_list;

static int tokens_push(token_list *l, const token *tok, cx_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        token *t = realloc(l->t, cap * sizeof *t);
        if (!t)
            return cx_error_set(err, CX_ENOMEM, "out of memory reading model syntax");
        l->t = t;
        l->cap = cap;
    }
    l->t[l->n++] = *tok;
    return CX_OK;
}

static int at_error(cx_error *err, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int at_error(cx_error *err, int line, int column, const char *fmt, ...)
{
    char msg[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cx_error_set(err, CX_EUSAGE, "line %d, column %d: %s", line, column, msg);
}

/* Operators, longest first so "=~" wins over "=" and "~~" over "~". */
static const char *const operators[] = {
    "~*~", "=~", "~~", "<~", ":=", "==", "<=", ">=", "~", "<", ">",
    "|",   ":",  "%",  "+",  "-",  "*",  "/",  "^",  "(", ")", ","};

static int is_name_start(int c)
{
    return isalpha(c) || c == '_' || c == '.';
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

typedef struct lexer {
    const char *s;
    size_t i;
    int line, column;
} lexer;

static void lex_advance(lexer *lx, size_t n)
{
    lx->i += n;
    lx->column += (int)n;
}

/* Copy `len` source bytes into tok->text, refusing names that do not fit. */
static int lex_text(token *tok, const char *src, size_t len, cx_error *err)
{
    if (len >= SEM_NAME_MAX)
        return at_error(err, tok->line, tok->column,
                        "'%.20s...' is too long (at most %d characters)", src, SEM_NAME_MAX - 1);
    memcpy(tok->text, src, len);
    tok->text[len] = '\0';
    return CX_OK;
}

static size_t scan_number(const char *s)
{
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    if (s[n] == '.') {
        n++;
        while (isdigit((unsigned char)s[n]))
            n++;
    }
    if (s[n] == 'e' || s[n] == 'E') {
        size_t m = n + 1;
        if (s[m] == '+' || s[m] == '-')
            m++;
        if (isdigit((unsigned char)s[m])) {
            while (isdigit((unsigned char)s[m]))
                m++;
            n = m;
        }
    }
    return n;
}

static int lex_string(lexer *lx, token *tok, cx_error *err)
{
    char quote = lx->s[lx->i];
    size_t j = lx->i + 1;
    while (lx->s[j] && lx->s[j] != quote && lx->s[j] != '\n')
        j++;
    if (lx->s[j] != quote)
        return at_error(err, tok->line, tok->column, "string starting here is not closed with %c",
                        quote);
    tok->kind = TK_STRING;
    int rc = lex_text(tok, lx->s + lx->i + 1, j - lx->i - 1, err);
    lex_advance(lx, j - lx->i + 1);
    return rc;
}

static int lex_operator(lexer *lx, token *tok, cx_error *err)
{
    const char *p = lx->s + lx->i;
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        size_t len = strlen(operators[k]);
        if (strncmp(p, operators[k], len) == 0) {
            tok->kind = TK_OP;
            memcpy(tok->text, p, len);
            tok->text[len] = '\0';
            lex_advance(lx, len);
            return CX_OK;
        }
    }
    if (*p == '=')
        return at_error(err, tok->line, tok->column,
                        "unexpected '=': did you mean '=~' (loadings), '==' or ':='?");
    return at_error(err, tok->line, tok->column, "unexpected character '%c'", *p);
}

/* One token at lx->i (blanks and comments already skipped). */
static int lex_one(lexer *lx, token *tok, cx_error *err)
{
    const char *p = lx->s + lx->i;
    memset(tok, 0, sizeof *tok);
    tok->line = lx->line;
    tok->column = lx->column;
    int rc = CX_OK;
    if (*p == '\n' || *p == ';') {
        tok->kind = TK_BREAK;
        tok->text[0] = *p;
        if (*p == '\n') {
            lx->i++;
            lx->line++;
            lx->column = 1;
        } else {
            lex_advance(lx, 1);
        }
    } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        size_t n = scan_number(p);
        tok->kind = TK_NUMBER;
        rc = lex_text(tok, p, n, err);
        tok->number = strtod(tok->text, NULL);
        lex_advance(lx, n);
    } else if (is_name_start((unsigned char)*p)) {
        size_t n = 1;
        while (is_name_char((unsigned char)p[n]))
            n++;
        tok->kind = TK_NAME;
        rc = lex_text(tok, p, n, err);
        lex_advance(lx, n);
    } else if (*p == '"' || *p == '\'') {
        rc = lex_string(lx, tok, err);
    } else {
        rc = lex_operator(lx, tok, err);
    }
    tok->end_column = tok->kind == TK_BREAK ? tok->column + 1 : lx->column;
    return rc;
}

static void lex_skip_blanks(lexer *lx)
{
    for (;;) {
        char c = lx->s[lx->i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lex_advance(lx, 1);
        } else if (c == '#' || c == '!') {
            while (lx->s[lx->i] && lx->s[lx->i] != '\n')
                lex_advance(lx, 1);
        } else {
            return;
        }
    }
}

static int tokenize(const char *text, token_list *out, cx_error *err)
{
    lexer lx = {text, 0, 1, 1};
    for (;;) {
        lex_skip_blanks(&lx);
        token tok;
        if (!lx.s[lx.i]) {
            memset(&tok, 0, sizeof tok);
            tok.kind = TK_END;
            tok.line = lx.line;
            tok.column = tok.end_column = lx.column;
            return tokens_push(out, &tok, err);
        }
        int rc = lex_one(&lx, &tok, err);
        if (rc == CX_OK)
            rc = tokens_push(out, &tok, err);
        if (rc != CX_OK)
            return rc;
    }
}

static int tok_is(const token *t, const char *op)
{
    return t->kind == TK_OP && strcmp(t->text, op) == 0;
}

/* Operators that make a formula (as opposed to arithmetic ones). */
static int tok_is_relation(const token *t)
{
    static const char *const rel[] = {
        "~*~", "=~", "~~", "<~", ":=", "==", "<=", ">=", "~", "<", ">", "|", ":", "%"};
    if (t->kind != TK_OP)
        return 0;
    for (size_t k = 0; k < sizeof rel / sizeof rel[0]; k++)
        if (strcmp(t->text, rel[k]) == 0)
            return 1;
    return 0;
}

/* How a token reads in "found ..." messages. */
static const char *tok_describe(const token *t, char *buf, size_t size)
{
    if (t->kind == TK_END || t->kind == TK_BREAK)
        snprintf(buf, size, "end of line");
    else if (t->kind == TK_STRING)
        snprintf(buf, size, "\"%s\"", t->text);
    else
        snprintf(buf, size, "'%s'", t->text);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Parser state: the tokens of one formula, ending with a TK_END.       */
/* ------------------------------------------------------------------ */

typedef struct parser {
    const token *t;
    size_t pos, n; /* t[n] is the TK_END token */
    cx_error *err;
    int depth; /* expression levels open: parse_unary calls in progress */
} parser;

/* Deepest expression nesting accepted: every '(', unary sign, '^' and
 * function call is one level of recursion in the parser (and in
 * sem_expr_eval), so untrusted syntax must not choose it. */
#define SEM_EXPR_MAX_DEPTH 64

static const token *peek(const parser *ps)
{
    return &ps->t[ps->pos < ps->n ? ps->pos : ps->n];
}

static const token *peek_at(const parser *ps, size_t ahead)
{
    size_t i = ps->pos + ahead;
    return &ps->t[i < ps->n ? i : ps->n];
}

static int expected(parser *ps, const char *what)
{
    char buf[SEM_NAME_MAX + 16];
    const token *t = peek(ps);
    if (ps->pos > 0 && ps->pos <= ps->n) {
        const token *prev = &ps->t[ps->pos - 1];
        char pbuf[SEM_NAME_MAX + 16];
        return at_error(ps->err, t->line, t->column, "expected %s after %s, found %s", what,
                        tok_describe(prev, pbuf, sizeof pbuf), tok_describe(t, buf, sizeof buf));
    }
    return at_error(ps->err, t->line, t->column, "expected %s, found %s", what,
                    tok_describe(t, buf, sizeof buf));
}

/* ---- arithmetic ----------------------------------------------------- */

static sem_expr *parse_sum(parser *ps);

static int find_function(const char *name)
{
    for (size_t k = 0; k < N_EXPR_FUNCTIONS; k++)
        if (strcmp(expr_functions[k].name, name) == 0)
            return (int)k;
    return -1;
}

static sem_expr *parse_call(parser *ps, const token *name)
{
    int fun = find_function(name->text);
    if (fun < 0) {
        at_error(ps->err, name->line, name->column,
                 "unknown function '%s' (known: exp, log, sqrt, abs, log10, log2, sin, cos, tan, "
                 "atan, tanh, asin, acos, pnorm)",
                 name->text);
        return NULL;
    }
    ps->pos++; /* '(' */
    sem_expr *arg = parse_sum(ps);
    if (!arg)
        return NULL;
    if (!tok_is(peek(ps), ")")) {
        expected(ps, "')'");
        sem_expr_free(arg);
        return NULL;
    }
    ps->pos++;
    sem_expr *e = expr_node(EX_FUN, arg, NULL, ps->err);
    if (e) {
        e->fun = fun;
        snprintf(e->name, sizeof e->name, "%s", name->text);
    }
    return e;
}

static sem_expr *parse_primary(parser *ps)
{
    const token *t = peek(ps);
    if (t->kind == TK_NUMBER) {
        ps->pos++;
        sem_expr *e = expr_node(EX_NUM, NULL, NULL, ps->err);
        if (e)
            e->value = t->number;
        return e;
    }
    if (t->kind == TK_NAME) {
        ps->pos++;
        if (tok_is(peek(ps), "("))
            return parse_call(ps, t);
        sem_expr *e = expr_node(EX_VAR, NULL, NULL, ps->err);
        if (e) {
            snprintf(e->name, sizeof e->name, "%s", t->text);
            e->line = t->line;
            e->column = t->column;
        }
        return e;
    }
    if (tok_is(t, "(")) {
        ps->pos++;
        sem_expr *e = parse_sum(ps);
        if (e && !tok_is(peek(ps), ")")) {
            expected(ps, "')'");
            sem_expr_free(e);
            return NULL;
        }
        ps->pos++;
        return e;
    }
    expected(ps, "a number, a label or '('");
    return NULL;
}

static sem_expr *parse_unary(parser *ps);

/* '^' binds tighter than unary minus and is right-associative (as in R). */
static sem_expr *parse_power(parser *ps)
{
    sem_expr *base = parse_primary(ps);
    if (!base || !tok_is(peek(ps), "^"))
        return base;
    ps->pos++;
    sem_expr *exponent = parse_unary(ps);
    if (!exponent) {
        sem_expr_free(base);
        return NULL;
    }
    return expr_node(EX_POW, base, exponent, ps->err);
}

static sem_expr *parse_signed(parser *ps);

/* Each nesting construct passes through here once: the depth guard. */
static sem_expr *parse_unary(parser *ps)
{
    if (ps->depth >= SEM_EXPR_MAX_DEPTH) {
        const token *t = peek(ps);
        at_error(ps->err, t->line, t->column,
                 "expression nests more than %d levels deep (parentheses, signs, '^', calls)",
                 SEM_EXPR_MAX_DEPTH);
        return NULL;
    }
    ps->depth++;
    sem_expr *e = parse_signed(ps);
    ps->depth--;
    return e;
}

static sem_expr *parse_signed(parser *ps)
{
    if (tok_is(peek(ps), "-")) {
        ps->pos++;
        sem_expr *a = parse_unary(ps);
        return a ? expr_node(EX_NEG, a, NULL, ps->err) : NULL;
    }
    if (tok_is(peek(ps), "+")) {
        ps->pos++;
        return parse_unary(ps);
    }
    return parse_power(ps);
}

static sem_expr *parse_product(parser *ps)
{
    sem_expr *e = parse_unary(ps);
    while (e && (tok_is(peek(ps), "*") || tok_is(peek(ps), "/"))) {
        expr_kind kind = tok_is(peek(ps), "*") ? EX_MUL : EX_DIV;
        ps->pos++;
        sem_expr *b = parse_unary(ps);
        if (!b) {
            sem_expr_free(e);
            return NULL;
        }
        e = expr_node(kind, e, b, ps->err);
    }
    return e;
}

static sem_expr *parse_sum(parser *ps)
{
    sem_expr *e = parse_product(ps);
    while (e && (tok_is(peek(ps), "+") || tok_is(peek(ps), "-"))) {
        expr_kind kind = tok_is(peek(ps), "+") ? EX_ADD : EX_SUB;
        ps->pos++;
        sem_expr *b = parse_product(ps);
        if (!b) {
            sem_expr_free(e);
            return NULL;
        }
        e = expr_node(kind, e, b, ps->err);
    }
    return e;
}

/* A whole expression occupying t[pos .. n). */
static sem_expr *parse_full_expression(parser *ps)
{
    sem_expr *e = parse_sum(ps);
    if (e && ps->pos < ps->n) {
        expected(ps, "an arithmetic operator or end of expression");
        sem_expr_free(e);
        return NULL;
    }
    return e;
}

/* Source text of t[from .. to) with blanks removed (what lavaan shows). */
static int join_text(const parser *ps, size_t from, size_t to, char *out, cx_error *err)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = from; k < to; k++) {
        size_t add = strlen(ps->t[k].text);
        if (len + add >= SEM_NAME_MAX)
            return at_error(err, ps->t[from].line, ps->t[from].column,
                            "expression is too long (at most %d characters without blanks)",
                            SEM_NAME_MAX - 1);
        memcpy(out + len, ps->t[k].text, add + 1);
        len += add;
    }
    return CX_OK;
}

sem_expr *sem_expr_parse(const char *text, cx_error *err)
{
    token_list tl = {0};
    sem_expr *e = NULL;
    if (tokenize(text, &tl, err) == CX_OK) {
        parser ps = {tl.t, 0, tl.n - 1, err, 0};
        for (size_t k = 0; k + 1 < tl.n; k++) {
            if (tl.t[k].kind == TK_BREAK || tl.t[k].kind == TK_STRING) {
                ps.pos = k;
                expected(&ps, "an expression");
                free(tl.t);
                return NULL;
            }
        }
        e = parse_full_expression(&ps);
    }
    free(tl.t);
    return e;
}

/* ------------------------------------------------------------------ */
/* Modifiers                                                            */
/* ------------------------------------------------------------------ */

static void modifier_clear(sem_modifier *m)
{
    free(m->fixed);
    free(m->start);
    free(m->label);
    memset(m, 0, sizeof *m);
}

/* One value of a modifier: a number, NA, a label or a string. */
typedef struct mod_value {
    int is_label; /* label or string */
    double number;
    char label[SEM_NAME_MAX];
} mod_value;

static int parse_mod_value(parser *ps, mod_value *v)
{
    memset(v, 0, sizeof *v);
    const token *t = peek(ps);
    int negative = 0;
    if (tok_is(t, "-") && peek_at(ps, 1)->kind == TK_NUMBER) {
        negative = 1;
        ps->pos++;
        t = peek(ps);
    }
    if (t->kind == TK_NUMBER) {
        v->number = negative ? -t->number : t->number;
    } else if (t->kind == TK_NAME && strcmp(t->text, "NA") == 0) {
        v->number = NAN;
    } else if (t->kind == TK_NAME || t->kind == TK_STRING) {
        v->is_label = 1;
        snprintf(v->label, sizeof v->label, "%s", t->text);
    } else {
        return expected(ps, "a number, NA or a label");
    }
    ps->pos++;
    return CX_OK;
}

/* A value list: "v" or "c(v, v, ...)".  Returns the count in *n. */
static int parse_mod_values(parser *ps, mod_value *vals, size_t max, size_t *n)
{
    *n = 0;
    const token *t = peek(ps);
    if (!(t->kind == TK_NAME && strcmp(t->text, "c") == 0 && tok_is(peek_at(ps, 1), "(")))
        return parse_mod_value(ps, &vals[(*n)++]);
    ps->pos += 2;
    for (;;) {
        if (*n == max)
            return at_error(ps->err, peek(ps)->line, peek(ps)->column,
                            "too many values in c(...) (at most %zu)", max);
        int rc = parse_mod_value(ps, &vals[(*n)++]);
        if (rc != CX_OK)
            return rc;
        if (tok_is(peek(ps), ")")) {
            ps->pos++;
            return CX_OK;
        }
        if (!tok_is(peek(ps), ","))
            return expected(ps, "',' or ')'");
        ps->pos++;
    }
}

#define MAX_MOD_VALUES 256

static int store_numbers(double **dst, size_t *n_dst, const mod_value *v, size_t n, cx_error *err)
{
    double *x = cx_malloc(n * sizeof *x, err);
    if (!x)
        return CX_ENOMEM;
    for (size_t k = 0; k < n; k++)
        x[k] = v[k].number;
    free(*dst);
    *dst = x;
    *n_dst = n;
    return CX_OK;
}

/* Labels; NA in a label vector means "no label in this group". */
static int store_labels(sem_modifier *m, const mod_value *v, size_t n, int strip, cx_error *err)
{
    char(*lab)[SEM_NAME_MAX] = cx_calloc(n, sizeof *lab, err);
    if (!lab)
        return CX_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        size_t o = 0;
        for (const char *s = v[k].is_label ? v[k].label : ""; *s; s++)
            if (!strip || !isspace((unsigned char)*s))
                lab[k][o++] = *s;
        lab[k][o] = '\0';
    }
    free(m->label);
    m->label = lab;
    m->n_label = n;
    return CX_OK;
}

static int all_numbers(const mod_value *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (v[k].is_label)
            return 0;
    return 1;
}

/* name(...) modifiers: start(), equal(), label(); others are refused. */
static int parse_mod_call(parser *ps, sem_modifier *m)
{
    const token *name = peek(ps);
    mod_value vals[MAX_MOD_VALUES];
    size_t n = 0;
    if (strcmp(name->text, "c") == 0) {
        int rc = parse_mod_values(ps, vals, MAX_MOD_VALUES, &n);
        if (rc != CX_OK)
            return rc;
        if (all_numbers(vals, n))
            return store_numbers(&m->fixed, &m->n_fixed, vals, n, ps->err);
        return store_labels(m, vals, n, 0, ps->err);
    }
    int is_start = strcmp(name->text, "start") == 0;
    int is_equal = strcmp(name->text, "equal") == 0;
    int is_label = strcmp(name->text, "label") == 0;
    if (!is_start && !is_equal && !is_label) {
        if (!strcmp(name->text, "lower") || !strcmp(name->text, "upper") ||
            !strcmp(name->text, "prior") || !strcmp(name->text, "efa") || !strcmp(name->text, "rv"))
            return at_error(ps->err, name->line, name->column,
                            "the %s() modifier is not supported yet", name->text);
        return at_error(ps->err, name->line, name->column,
                        "unknown modifier '%s(...)' (known: c(), start(), equal(), label())",
                        name->text);
    }
    ps->pos += 2; /* name ( */
    int rc = parse_mod_values(ps, vals, MAX_MOD_VALUES, &n);
    if (rc == CX_OK && !tok_is(peek(ps), ")"))
        rc = expected(ps, "')'");
    if (rc != CX_OK)
        return rc;
    ps->pos++;
    if (is_start) {
        if (!all_numbers(vals, n))
            return at_error(ps->err, name->line, name->column,
                            "start(...) takes numbers, e.g. start(0.5) or start(c(0.5, 0.7))");
        return store_numbers(&m->start, &m->n_start, vals, n, ps->err);
    }
    /* equal("f=~x1") names the parameter to be equal to by its lavaan
     * label, which is lhs op rhs without blanks. */
    return store_labels(m, vals, n, is_equal, ps->err);
}

/* ------------------------------------------------------------------ */
/* Relations: =~ ~ ~~ |                                                 */
/* ------------------------------------------------------------------ */

static int flat_grow(void **items, size_t *cap, size_t n, size_t size, cx_error *err)
{
    if (n < *cap)
        return CX_OK;
    size_t c = *cap ? 2 * *cap : 32;
    void *p = realloc(*items, c * size);
    if (!p)
        return cx_error_set(err, CX_ENOMEM, "out of memory reading model syntax");
    *items = p;
    *cap = c;
    return CX_OK;
}

/* Later modifiers of a repeated element override earlier ones, part by
 * part (lavaan: "f =~ NA*x1 + x2" then "f =~ a*x1" gives a free, labelled
 * x1). */
static void modifier_merge(sem_modifier *dst, sem_modifier *src)
{
    if (src->n_fixed) {
        free(dst->fixed);
        dst->fixed = src->fixed;
        dst->n_fixed = src->n_fixed;
        src->fixed = NULL;
    }
    if (src->n_start) {
        free(dst->start);
        dst->start = src->start;
        dst->n_start = src->n_start;
        src->start = NULL;
    }
    if (src->n_label) {
        free(dst->label);
        dst->label = src->label;
        dst->n_label = src->n_label;
        src->label = NULL;
    }
    modifier_clear(src);
}

static int modifier_copy(sem_modifier *dst, const sem_modifier *src, cx_error *err)
{
    memset(dst, 0, sizeof *dst);
    if (src->n_fixed) {
        dst->fixed = cx_malloc(src->n_fixed * sizeof *dst->fixed, err);
        if (!dst->fixed)
            return CX_ENOMEM;
        memcpy(dst->fixed, src->fixed, src->n_fixed * sizeof *dst->fixed);
        dst->n_fixed = src->n_fixed;
    }
    if (src->n_start) {
        dst->start = cx_malloc(src->n_start * sizeof *dst->start, err);
        if (!dst->start)
            return CX_ENOMEM;
        memcpy(dst->start, src->start, src->n_start * sizeof *dst->start);
        dst->n_start = src->n_start;
    }
    if (src->n_label) {
        dst->label = cx_malloc(src->n_label * sizeof *dst->label, err);
        if (!dst->label)
            return CX_ENOMEM;
        memcpy(dst->label, src->label, src->n_label * sizeof *dst->label);
        dst->n_label = src->n_label;
    }
    return CX_OK;
}

static int add_element(sem_flat *flat, const char *lhs, sem_op op, const token *rhs_tok,
                       const sem_modifier *mod, cx_error *err)
{
    const char *rhs = op == SEM_OP_INTERCEPT ? "" : rhs_tok->text;
    sem_modifier copy;
    if (modifier_copy(&copy, mod, err) != CX_OK) {
        modifier_clear(&copy);
        return CX_ENOMEM;
    }
    for (size_t k = 0; k < flat->n_elems; k++) {
        sem_flat_elem *e = &flat->elems[k];
        if (e->op == op && strcmp(e->lhs, lhs) == 0 && strcmp(e->rhs, rhs) == 0) {
            modifier_merge(&e->mod, &copy);
            return CX_OK;
        }
    }
    if (flat_grow((void **)&flat->elems, &flat->cap_elems, flat->n_elems, sizeof *flat->elems,
                  err) != CX_OK) {
        modifier_clear(&copy);
        return CX_ENOMEM;
    }
    sem_flat_elem *e = &flat->elems[flat->n_elems++];
    memset(e, 0, sizeof *e);
    snprintf(e->lhs, sizeof e->lhs, "%s", lhs);
    snprintf(e->rhs, sizeof e->rhs, "%s", rhs);
    e->op = op;
    e->line = rhs_tok->line;
    e->column = rhs_tok->column;
    e->mod = copy;
    return CX_OK;
}

static int is_threshold_name(const char *s)
{
    if (s[0] != 't' || !s[1])
        return 0;
    for (s++; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* A numeric modifier or, for '~', the intercept "1". */
static int parse_term_number(parser *ps, const char *op, sem_modifier *m, const token **var)
{
    const token *first = peek(ps);
    int negative = tok_is(first, "-");
    if (negative)
        ps->pos++;
    const token *num = peek(ps);
    ps->pos++;
    if (tok_is(peek(ps), "*")) {
        ps->pos++;
        double v = negative ? -num->number : num->number;
        return store_numbers(&m->fixed, &m->n_fixed, &(mod_value){0, v, ""}, 1, ps->err);
    }
    if (strcmp(op, "~") == 0 && !negative && num->number == 1.0) {
        *var = num;
        return CX_OK;
    }
    ps->pos = (size_t)(first - ps->t);
    return expected(ps,
                    strcmp(op, "|") == 0 ? "a threshold name (t1, t2, ...)" : "a variable name");
}

/* One rhs term: modifiers joined by '*', then the variable. */
static int parse_term(parser *ps, const char *op, sem_modifier *m, const token **var)
{
    const char *what = strcmp(op, "|") == 0 ? "a threshold name (t1, t2, ...)" : "a variable name";
    *var = NULL;
    while (!*var) {
        const token *t = peek(ps);
        int rc = CX_OK;
        if (t->kind == TK_NUMBER || (tok_is(t, "-") && peek_at(ps, 1)->kind == TK_NUMBER)) {
            rc = parse_term_number(ps, op, m, var);
        } else if (t->kind == TK_NAME && tok_is(peek_at(ps, 1), "(")) {
            rc = parse_mod_call(ps, m);
            if (rc == CX_OK && !tok_is(peek(ps), "*"))
                rc = expected(ps, "'*' and a variable name");
            ps->pos++;
        } else if ((t->kind == TK_NAME || t->kind == TK_STRING) && tok_is(peek_at(ps, 1), "*")) {
            mod_value v;
            rc = parse_mod_value(ps, &v);
            if (rc == CX_OK)
                rc = v.is_label ? store_labels(m, &v, 1, 0, ps->err)
                                : store_numbers(&m->fixed, &m->n_fixed, &v, 1, ps->err);
            ps->pos++; /* '*' */
        } else if (t->kind == TK_NAME && strcmp(t->text, "NA") != 0) {
            *var = t;
            ps->pos++;
        } else {
            rc = expected(ps, what);
        }
        if (rc != CX_OK)
            return rc;
    }
    if (strcmp(op, "|") == 0 && !is_threshold_name((*var)->text))
        return at_error(ps->err, (*var)->line, (*var)->column,
                        "expected a threshold name (t1, t2, ...) after '|', found '%s'",
                        (*var)->text);
    return CX_OK;
}

static sem_op relation_op(const char *op, const token *var)
{
    if (strcmp(op, "=~") == 0)
        return SEM_OP_LOADING;
    if (strcmp(op, "~~") == 0)
        return SEM_OP_COVARIANCE;
    if (strcmp(op, "|") == 0)
        return SEM_OP_THRESHOLD;
    return var->kind == TK_NUMBER ? SEM_OP_INTERCEPT : SEM_OP_REGRESSION;
}

/* lhs names before the operator at t[k]: "f" or "f1 + f2". */
static int parse_lhs_names(parser *ps, size_t k, size_t *n_lhs)
{
    const token *op = &ps->t[k];
    *n_lhs = 0;
    if (k == 0)
        return at_error(ps->err, op->line, op->column, "expected a variable name before '%s'",
                        op->text);
    for (size_t i = 0; i < k; i++) {
        const token *t = &ps->t[i];
        int want_name = i % 2 == 0;
        if (want_name && t->kind != TK_NAME) {
            char buf[SEM_NAME_MAX + 16];
            return at_error(ps->err, t->line, t->column,
                            "expected a variable name before '%s', found %s", op->text,
                            tok_describe(t, buf, sizeof buf));
        }
        if (!want_name && !tok_is(t, "+")) {
            char buf[SEM_NAME_MAX + 16];
            return at_error(ps->err, t->line, t->column, "expected '+' or '%s', found %s", op->text,
                            tok_describe(t, buf, sizeof buf));
        }
    }
    if (k % 2 == 0) {
        ps->pos = k;
        return expected(ps, "a variable name");
    }
    *n_lhs = (k + 1) / 2;
    return CX_OK;
}

static int parse_relation(parser *ps, size_t k, sem_flat *flat)
{
    size_t n_lhs;
    int rc = parse_lhs_names(ps, k, &n_lhs);
    if (rc != CX_OK)
        return rc;
    const char *op = ps->t[k].text;
    ps->pos = k + 1;
    for (;;) {
        sem_modifier mod = {0};
        const token *var = NULL;
        rc = parse_term(ps, op, &mod, &var);
        for (size_t i = 0; rc == CX_OK && i < n_lhs; i++)
            rc = add_element(flat, ps->t[2 * i].text, relation_op(op, var), var, &mod, ps->err);
        modifier_clear(&mod);
        if (rc != CX_OK)
            return rc;
        if (ps->pos >= ps->n)
            return CX_OK;
        if (!tok_is(peek(ps), "+"))
            return expected(ps, "'+' or end of formula");
        ps->pos++;
    }
}

/* ------------------------------------------------------------------ */
/* Definitions and constraints: := == < >                               */
/* ------------------------------------------------------------------ */

static int push_con(sem_flat *flat, sem_flat_con *con, cx_error *err)
{
    if (flat_grow((void **)&flat->cons, &flat->cap_cons, flat->n_cons, sizeof *flat->cons, err) !=
        CX_OK) {
        sem_expr_free(con->expr);
        return CX_ENOMEM;
    }
    flat->cons[flat->n_cons++] = *con;
    return CX_OK;
}

static int check_expression_tokens(parser *ps, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (ps->t[i].kind == TK_STRING || tok_is_relation(&ps->t[i])) {
            char buf[SEM_NAME_MAX + 16];
            return at_error(ps->err, ps->t[i].line, ps->t[i].column,
                            "unexpected %s in an expression",
                            tok_describe(&ps->t[i], buf, sizeof buf));
        }
    }
    if (from == to) {
        ps->pos = from;
        return expected(ps, "an expression");
    }
    return CX_OK;
}

/* Parse t[from .. to) as one expression. */
static sem_expr *parse_range(parser *ps, size_t from, size_t to)
{
    if (check_expression_tokens(ps, from, to) != CX_OK)
        return NULL;
    parser sub = {ps->t, from, to, ps->err, 0};
    /* the sub-parser's end token is t[to]: an operator or the formula end;
     * parse_full_expression stops at pos == n either way */
    return parse_full_expression(&sub);
}

static int parse_definition(parser *ps, size_t k, sem_flat *flat)
{
    const token *op = &ps->t[k];
    if (k != 1 || ps->t[0].kind != TK_NAME)
        return at_error(ps->err, ps->t[0].line, ps->t[0].column,
                        "expected a single name before ':=' (e.g. 'ind := a*b')");
    sem_flat_con con = {0};
    con.op = SEM_OP_DEFINED;
    con.line = op->line;
    con.column = op->column;
    snprintf(con.lhs, sizeof con.lhs, "%s", ps->t[0].text);
    if (k + 1 == ps->n) {
        ps->pos = ps->n;
        return expected(ps, "an expression");
    }
    if (join_text(ps, k + 1, ps->n, con.rhs, ps->err) != CX_OK)
        return CX_EUSAGE;
    con.expr = parse_range(ps, k + 1, ps->n);
    if (!con.expr)
        return ps->err ? ps->err->code : CX_EUSAGE;
    return push_con(flat, &con, ps->err);
}

static int parse_constraint(parser *ps, size_t k, sem_flat *flat)
{
    const token *op = &ps->t[k];
    sem_flat_con con = {0};
    con.op = op->text[0] == '=' ? SEM_OP_EQUAL : op->text[0] == '<' ? SEM_OP_LESS : SEM_OP_GREATER;
    con.line = op->line;
    con.column = op->column;
    if (k == 0)
        return at_error(ps->err, op->line, op->column, "expected an expression before '%s'",
                        op->text);
    if (k + 1 == ps->n) {
        ps->pos = ps->n;
        return expected(ps, "an expression");
    }
    if (join_text(ps, 0, k, con.lhs, ps->err) != CX_OK ||
        join_text(ps, k + 1, ps->n, con.rhs, ps->err) != CX_OK)
        return CX_EUSAGE;
    sem_expr *lhs = parse_range(ps, 0, k);
    if (!lhs)
        return CX_EUSAGE;
    sem_expr *rhs = parse_range(ps, k + 1, ps->n);
    if (!rhs) {
        sem_expr_free(lhs);
        return CX_EUSAGE;
    }
    con.expr = expr_node(EX_SUB, lhs, rhs, ps->err);
    if (!con.expr)
        return CX_ENOMEM;
    return push_con(flat, &con, ps->err);
}

/* ------------------------------------------------------------------ */
/* Formulas                                                             */
/* ------------------------------------------------------------------ */

static int parse_formula(const token *t, size_t n, sem_flat *flat, cx_error *err)
{
    parser ps = {t, 0, n, err, 0};
    size_t k = 0;
    int depth = 0;
    for (; k < n; k++) {
        if (tok_is(&t[k], "("))
            depth++;
        else if (tok_is(&t[k], ")"))
            depth--;
        else if (depth == 0 && tok_is_relation(&t[k]))
            break;
    }
    if (k == n) {
        char buf[SEM_NAME_MAX + 16];
        return at_error(err, t[0].line, t[0].column,
                        "expected a formula such as 'f =~ x1 + x2' or 'y ~ x', found %s",
                        tok_describe(&t[0], buf, sizeof buf));
    }
    const char *op = t[k].text;
    if (!strcmp(op, "=~") || !strcmp(op, "~") || !strcmp(op, "~~") || !strcmp(op, "|"))
        return parse_relation(&ps, k, flat);
    if (!strcmp(op, ":="))
        return parse_definition(&ps, k, flat);
    if (!strcmp(op, "==") || !strcmp(op, "<") || !strcmp(op, ">") || !strcmp(op, "<=") ||
        !strcmp(op, ">="))
        return parse_constraint(&ps, k, flat);
    if (!strcmp(op, "<~"))
        return at_error(err, t[k].line, t[k].column,
                        "formative indicators ('<~') are not supported yet");
    if (!strcmp(op, ":"))
        return at_error(err, t[k].line, t[k].column,
                        "blocks such as 'group: 1' are not supported; give per-group values "
                        "with c(...) modifiers instead");
    return at_error(err, t[k].line, t[k].column, "the operator '%s' is not supported", op);
}

/* A formula whose last token is one of these goes on on the next line. */
static int tok_continues(const token *t)
{
    static const char *const open[] = {"+", "-", "*", "/", "^", "(", ","};
    if (tok_is_relation(t))
        return 1;
    for (size_t k = 0; k < sizeof open / sizeof open[0]; k++)
        if (tok_is(t, open[k]))
            return 1;
    return 0;
}

static int segment_has_relation(const token *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (tok_is_relation(&t[k]))
            return 1;
    return 0;
}

/* Parse the formula collected in `cur` (its TK_END is appended here). */
static int finish_formula(token_list *cur, sem_flat *flat, cx_error *err)
{
    if (cur->n == 0)
        return CX_OK;
    token end = {0};
    end.kind = TK_END;
    end.line = cur->t[cur->n - 1].line;
    end.column = end.end_column = cur->t[cur->n - 1].end_column;
    int rc = tokens_push(cur, &end, err);
    if (rc == CX_OK)
        rc = parse_formula(cur->t, cur->n - 1, flat, err);
    cur->n = 0;
    return rc;
}

int sem_syntax_parse(const char *text, sem_flat *flat, cx_error *err)
{
    token_list all = {0}, cur = {0};
    int rc = tokenize(text ? text : "", &all, err);
    size_t i = 0;
    while (rc == CX_OK && all.t[i].kind != TK_END) {
        /* one line (or ';'-separated piece) */
        size_t j = i;
        while (all.t[j].kind != TK_END && all.t[j].kind != TK_BREAK)
            j++;
        if (j > i) {
            int continues = cur.n > 0 && (tok_continues(&cur.t[cur.n - 1]) ||
                                          !segment_has_relation(&all.t[i], j - i));
            if (!continues)
                rc = finish_formula(&cur, flat, err);
            for (size_t k = i; rc == CX_OK && k < j; k++)
                rc = tokens_push(&cur, &all.t[k], err);
        }
        i = all.t[j].kind == TK_BREAK ? j + 1 : j;
    }
    if (rc == CX_OK)
        rc = finish_formula(&cur, flat, err);
    free(all.t);
    free(cur.t);
    if (rc == CX_OK && flat->n_elems == 0 && flat->n_cons == 0)
        rc = cx_error_set(err, CX_EUSAGE, "the model syntax is empty");
    return rc;
}

void sem_flat_clear(sem_flat *flat)
{
    if (!flat)
        return;
    for (size_t k = 0; k < flat->n_elems; k++)
        modifier_clear(&flat->elems[k].mod);
    for (size_t k = 0; k < flat->n_cons; k++)
        sem_expr_free(flat->cons[k].expr);
    free(flat->elems);
    free(flat->cons);
    memset(flat, 0, sizeof *flat);
}
