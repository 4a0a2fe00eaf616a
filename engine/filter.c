/*
 * filter.c — `where` expressions: which rows of a table a job sees.
 *
 *     where = wave >= 3 and (segment == 'business' or weight > 1.5)
 *
 * Grammar (lowest precedence first):
 *     expr       := and_expr { ("or" | "|" | "||") and_expr }
 *     and_expr   := unary { ("and" | "&" | "&&") unary }
 *     unary      := ("not" | "!") unary | "(" expr ")" | comparison
 *     comparison := COLUMN OP value | value OP COLUMN
 *     OP         := == != < <= > >=
 *     value      := NUMBER | 'label' | "label"   (labels: categorical columns)
 *
 * A comparison with a missing value is false (as R's subset() drops NA),
 * so `x != 3` keeps only rows where x is present and not 3.  The parsed
 * filter is a small array of nodes evaluated per row; the columns it needs
 * are listed once so the view reads them with the block.
 *
 * Untrusted text must not exhaust the stack: '(' and 'not' may nest at most
 * CX_FILTER_MAX_DEPTH deep (the parser recurses once per level), and chains
 * of 'and'/'or' are built leaning right so that evaluation walks them in a
 * loop and recurses only per nesting level.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "filter_eval.h"

typedef enum node_kind { NODE_COMPARE, NODE_AND, NODE_OR, NODE_NOT } node_kind;
typedef enum compare_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } compare_op;

typedef struct filter_node {
    node_kind kind;
    compare_op op; /* NODE_COMPARE: slot OP value                         */
    int slot;      /* index into cx_filter.cols                            */
    double value;
    int left, right; /* child nodes (right unused by NODE_NOT)               */
} filter_node;

struct cx_filter {
    filter_node *nodes;
    size_t n_nodes, capacity;
    int root;
    int *cols; /* distinct table columns the filter reads             */
    size_t n_cols;
};

/* ---- tokens ------------------------------------------------------------- */

typedef enum token_kind {
    TOK_END,
    TOK_NAME,
    TOK_NUMBER,
    TOK_STRING,
    TOK_OP,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_BAD
} token_kind;

typedef struct token {
    token_kind kind;
    const char *start; /* into the expression text */
    size_t len;
    double number;
    compare_op op;
} token;

/* Deepest nesting of '(' and 'not' accepted (users write a handful). */
#define CX_FILTER_MAX_DEPTH 64

typedef struct parser {
    const char *text;
    const char *pos;
    int depth; /* '(' and 'not' levels open around the current token */
    token tok; /* current token */
    const cx_table *table;
    cx_filter *filter;
    cx_error *err;
} parser;

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

static int word_is(const token *t, const char *w)
{
    return t->len == strlen(w) && strncmp(t->start, w, t->len) == 0;
}

static void lex_operator(parser *ps, token *t)
{
    static const struct {
        const char *text;
        compare_op op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE},
               {">=", OP_GE}, {"<", OP_LT},  {">", OP_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(ps->pos, ops[i].text, n) == 0) {
            t->kind = TOK_OP;
            t->op = ops[i].op;
            t->len = n;
            return;
        }
    }
    if (strncmp(ps->pos, "&&", 2) == 0 || strncmp(ps->pos, "||", 2) == 0) {
        t->kind = ps->pos[0] == '&' ? TOK_AND : TOK_OR;
        t->len = 2;
    } else if (*ps->pos == '&' || *ps->pos == '|') {
        t->kind = *ps->pos == '&' ? TOK_AND : TOK_OR;
        t->len = 1;
    } else if (*ps->pos == '!') {
        t->kind = TOK_NOT;
        t->len = 1;
    } else {
        t->kind = TOK_BAD;
        t->len = 1;
    }
}

/* Read the next token into ps->tok. */
static void next_token(parser *ps)
{
    while (isspace((unsigned char)*ps->pos))
        ps->pos++;
    token *t = &ps->tok;
    memset(t, 0, sizeof *t);
    t->start = ps->pos;
    const char *p = ps->pos;
    char *end;
    if (*p == '\0') {
        t->kind = TOK_END;
    } else if (*p == '(' || *p == ')') {
        t->kind = *p == '(' ? TOK_LPAREN : TOK_RPAREN;
        t->len = 1;
    } else if (*p == '\'' || *p == '"') {
        const char *close = strchr(p + 1, *p);
        t->kind = close ? TOK_STRING : TOK_BAD;
        t->len = close ? (size_t)(close - p) + 1 : strlen(p);
    } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') &&
                                              (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        t->number = strtod(p, &end);
        t->kind = end > p ? TOK_NUMBER : TOK_BAD;
        t->len = end > p ? (size_t)(end - p) : 1;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        while (is_name_char((unsigned char)p[t->len]))
            t->len++;
        t->kind = TOK_NAME;
        if (word_is(t, "and"))
            t->kind = TOK_AND;
        else if (word_is(t, "or"))
            t->kind = TOK_OR;
        else if (word_is(t, "not"))
            t->kind = TOK_NOT;
    } else {
        lex_operator(ps, t);
    }
    ps->pos += t->len;
}

/* A token as text for messages: "'wav'" or "the end of the expression". */
static const char *token_text(const token *t, char *buf, size_t n)
{
    if (t->kind == TOK_END)
        snprintf(buf, n, "the end of the expression");
    else
        snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
    return buf;
}

/* Where `at` is in the text: "column C", or "line L of the value, column C"
 * once the expression spans continuation lines. */
static const char *position(const parser *ps, const char *at, char *buf, size_t n)
{
    int line = 1;
    const char *line_start = ps->text;
    for (const char *p = ps->text; p < at; p++)
        if (*p == '\n') {
            line++;
            line_start = p + 1;
        }
    int column = (int)(at - line_start) + 1;
    if (line == 1)
        snprintf(buf, n, "column %d", column);
    else
        snprintf(buf, n, "line %d of the value, column %d", line, column);
    return buf;
}

static int syntax_error(parser *ps, const char *expected)
{
    char found[64], where[64];
    return cx_error_set(ps->err, CX_EUSAGE, "at %s of '%s': expected %s, found %s",
                        position(ps, ps->tok.start, where, sizeof where), ps->text, expected,
                        token_text(&ps->tok, found, sizeof found));
}

/* ---- nodes -------------------------------------------------------------- */

static int add_node(parser *ps, filter_node node)
{
    cx_filter *f = ps->filter;
    if (f->n_nodes == f->capacity) {
        size_t cap = f->capacity ? 2 * f->capacity : 8;
        filter_node *grown = realloc(f->nodes, cap * sizeof *grown);
        if (!grown) {
            cx_error_set(ps->err, CX_ENOMEM, "out of memory");
            return -1;
        }
        f->nodes = grown;
        f->capacity = cap;
    }
    f->nodes[f->n_nodes] = node;
    return (int)f->n_nodes++;
}

/* The filter's slot for table column `col`, adding it when new. */
static int column_slot(parser *ps, int col)
{
    cx_filter *f = ps->filter;
    for (size_t i = 0; i < f->n_cols; i++)
        if (f->cols[i] == col)
            return (int)i;
    int *grown = realloc(f->cols, (f->n_cols + 1) * sizeof *grown);
    if (!grown) {
        cx_error_set(ps->err, CX_ENOMEM, "out of memory");
        return -1;
    }
    f->cols = grown;
    f->cols[f->n_cols] = col;
    return (int)f->n_cols++;
}

/* ---- the parser ----------------------------------------------------------- */

static int parse_or(parser *ps);

static int unknown_column(parser *ps, const token *name)
{
    char word[CX_NAME_MAX];
    snprintf(word, sizeof word, "%.*s", (int)name->len, name->start);
    table_no_column(ps->table, word, ps->err);
    return -1;
}

/* The code of label `value` (a quoted token) in categorical column `col`. */
static int label_code(parser *ps, int col, const token *value, double *code)
{
    const cx_column_info *c = cx_table_column(ps->table, (size_t)col);
    size_t len = value->len - 2;
    if (c->kind != CX_COL_CATEGORICAL) {
        cx_error_set(ps->err, CX_EUSAGE,
                     "column '%s' is numeric: compare it with a number, not %.*s", c->name,
                     (int)value->len, value->start);
        return -1;
    }
    for (size_t k = 0; k < c->n_categories; k++) {
        if (strlen(c->categories[k]) == len &&
            strncmp(c->categories[k], value->start + 1, len) == 0) {
            *code = (double)k;
            return 0;
        }
    }
    cx_error_set(ps->err, CX_EUSAGE, "column '%s' has no category %.*s%s%s%s", c->name,
                 (int)value->len, value->start, c->n_categories ? " (its first is '" : "",
                 c->n_categories ? c->categories[0] : "", c->n_categories ? "')" : "");
    return -1;
}

/* `a OP b` written as `b OP' a`: the mirrored operator. */
static compare_op mirror(compare_op op)
{
    switch (op) {
    case OP_LT:
        return OP_GT;
    case OP_LE:
        return OP_GE;
    case OP_GT:
        return OP_LT;
    case OP_GE:
        return OP_LE;
    default:
        return op;
    }
}

static int parse_comparison(parser *ps)
{
    token left = ps->tok;
    if (left.kind != TOK_NAME && left.kind != TOK_NUMBER && left.kind != TOK_STRING)
        return syntax_error(ps, "a column name, a number or '('"), -1;
    next_token(ps);
    if (ps->tok.kind != TOK_OP)
        return syntax_error(ps, "a comparison (== != < <= > >=)"), -1;
    compare_op op = ps->tok.op;
    next_token(ps);
    token right = ps->tok;
    token name = left, value = right;
    if (left.kind != TOK_NAME) { /* `3 < wave` */
        name = right;
        value = left;
        op = mirror(op);
    }
    if (name.kind != TOK_NAME)
        return syntax_error(ps, "a column name"), -1;
    if (value.kind != TOK_NUMBER && value.kind != TOK_STRING)
        return syntax_error(ps, "a number or a quoted category label"), -1;
    next_token(ps);

    char word[CX_NAME_MAX];
    snprintf(word, sizeof word, "%.*s", (int)name.len, name.start);
    int col = cx_table_find(ps->table, word);
    if (col < 0)
        return unknown_column(ps, &name);
    if (cx_table_column(ps->table, (size_t)col)->kind == CX_COL_STRING) {
        cx_error_set(ps->err, CX_EUSAGE, "column '%s' holds text and cannot be compared", word);
        return -1;
    }
    filter_node node = {.kind = NODE_COMPARE, .op = op, .value = value.number};
    if (value.kind == TOK_STRING) {
        if (op != OP_EQ && op != OP_NE) {
            cx_error_set(ps->err, CX_EUSAGE,
                         "category labels can only be compared with == or != (column '%s')", word);
            return -1;
        }
        if (label_code(ps, col, &value, &node.value))
            return -1;
    }
    if ((node.slot = column_slot(ps, col)) < 0)
        return -1;
    return add_node(ps, node);
}

static int parse_nested(parser *ps);

/* One level of '(' or 'not' costs one level of recursion: bound it. */
static int parse_unary(parser *ps)
{
    if (ps->tok.kind != TOK_NOT && ps->tok.kind != TOK_LPAREN)
        return parse_comparison(ps);
    if (ps->depth >= CX_FILTER_MAX_DEPTH) {
        char where[64];
        cx_error_set(ps->err, CX_EUSAGE, "at %s: '(' and 'not' nest more than %d levels deep",
                     position(ps, ps->tok.start, where, sizeof where), CX_FILTER_MAX_DEPTH);
        return -1;
    }
    ps->depth++;
    int node = parse_nested(ps);
    ps->depth--;
    return node;
}

static int parse_nested(parser *ps)
{
    if (ps->tok.kind == TOK_NOT) {
        next_token(ps);
        int child = parse_unary(ps);
        if (child < 0)
            return -1;
        return add_node(ps, (filter_node){.kind = NODE_NOT, .left = child});
    }
    next_token(ps); /* '(' */
    int inner = parse_or(ps);
    if (inner < 0)
        return -1;
    if (ps->tok.kind != TOK_RPAREN)
        return syntax_error(ps, "')'"), -1;
    next_token(ps);
    return inner;
}

/* operand { joiner operand }, as a right-leaning chain a OP (b OP (c ...)):
 * the same rows and the same left-to-right short-circuit order, but
 * eval_node follows the chain in a loop instead of recursing per term. */
static int parse_binary(parser *ps, token_kind joiner, node_kind kind, int (*operand)(parser *))
{
    int first = operand(ps);
    if (first < 0 || ps->tok.kind != joiner)
        return first;
    size_t n = 1, cap = 8;
    int *terms = malloc(cap * sizeof *terms);
    if (!terms) {
        cx_error_set(ps->err, CX_ENOMEM, "out of memory");
        return -1;
    }
    terms[0] = first;
    int node = first;
    while (node >= 0 && ps->tok.kind == joiner) {
        next_token(ps);
        node = operand(ps);
        if (node >= 0 && n == cap) {
            int *grown = realloc(terms, 2 * cap * sizeof *grown);
            if (!grown) {
                cx_error_set(ps->err, CX_ENOMEM, "out of memory");
                node = -1;
                break;
            }
            terms = grown;
            cap *= 2;
        }
        if (node >= 0)
            terms[n++] = node;
    }
    for (size_t i = n - 1; node >= 0 && i-- > 0;)
        node = add_node(ps, (filter_node){.kind = kind, .left = terms[i], .right = node});
    free(terms);
    return node;
}

static int parse_and(parser *ps)
{
    return parse_binary(ps, TOK_AND, NODE_AND, parse_unary);
}

static int parse_or(parser *ps)
{
    return parse_binary(ps, TOK_OR, NODE_OR, parse_and);
}

cx_filter *cx_filter_parse(const char *text, const cx_table *t, cx_error *err)
{
    cx_filter *f = cx_calloc(1, sizeof *f, err);
    if (!f)
        return NULL;
    parser ps = {.text = text, .pos = text, .table = t, .filter = f, .err = err};
    next_token(&ps);
    if (ps.tok.kind == TOK_END) {
        cx_error_set(err, CX_EUSAGE, "expected a row filter such as 'wave >= 3', found nothing");
        cx_filter_free(f);
        return NULL;
    }
    f->root = parse_or(&ps);
    if (f->root >= 0 && ps.tok.kind != TOK_END) {
        syntax_error(&ps, "'and', 'or' or the end of the expression");
        f->root = -1;
    }
    if (f->root < 0) {
        /* The expression may span config lines; the message must not. */
        for (char *c = err->msg; *c; c++)
            if (*c == '\n' || *c == '\r' || *c == '\t')
                *c = ' ';
        cx_filter_free(f);
        return NULL;
    }
    return f;
}

void cx_filter_free(cx_filter *f)
{
    if (!f)
        return;
    free(f->nodes);
    free(f->cols);
    free(f);
}

/* ---- evaluation ----------------------------------------------------------- */

size_t filter_n_columns(const cx_filter *f)
{
    return f->n_cols;
}

int filter_column(const cx_filter *f, size_t slot)
{
    return f->cols[slot];
}

static int compare(compare_op op, double x, double v)
{
    if (isnan(x))
        return 0;
    switch (op) {
    case OP_EQ:
        return x == v;
    case OP_NE:
        return x != v;
    case OP_LT:
        return x < v;
    case OP_LE:
        return x <= v;
    case OP_GT:
        return x > v;
    case OP_GE:
        return x >= v;
    }
    return 0;
}

/* Recurses only into left operands (one level per '(' or 'not'); the
 * right-leaning and/or chains are followed in the loop. */
static int eval_node(const cx_filter *f, int index, const double *values)
{
    for (;;) {
        const filter_node *n = &f->nodes[index];
        switch (n->kind) {
        case NODE_COMPARE:
            return compare(n->op, values[n->slot], n->value);
        case NODE_NOT:
            return !eval_node(f, n->left, values);
        case NODE_AND:
            if (!eval_node(f, n->left, values))
                return 0;
            break;
        case NODE_OR:
            if (eval_node(f, n->left, values))
                return 1;
            break;
        default:
            return 0;
        }
        index = n->right;
    }
}

int filter_matches(const cx_filter *f, const double *values)
{
    return eval_node(f, f->root, values);
}
