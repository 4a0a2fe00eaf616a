/*
 * formula_lex.c — the formula parser's tokens (names, backquoted names,
 * numbers, operators), its one-line located errors, the nesting guard and
 * the tables of names and variables (de-duplicated by label, as R's
 * terms() treats `x` written twice as one variable).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula_parser.h"

/* ---- errors and tokens ---------------------------------------------------- */

/* "at character N ('tok'): expected X" — the token text made printable so
 * the message stays on one line. */
int cx_fp_fail_at(parser *p, size_t start, size_t len, const char *fmt, ...)
{
    char what[256], shown[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < sizeof shown; i++) {
        unsigned char c = (unsigned char)p->s[start + i];
        if (isprint(c))
            shown[k++] = (char)c;
        else
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", c);
    }
    shown[k] = '\0';
    if (len == 0)
        return cx_error_set(p->err, CX_EUSAGE, "formula, at character %zu (end of formula): %s",
                            start + 1, what);
    return cx_error_set(p->err, CX_EUSAGE, "formula, at character %zu ('%s%s'): %s", start + 1,
                        shown, k < len ? "..." : "", what);
}

static int is_name_start(int c)
{
    return isalpha(c) || c == '.';
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '.' || c == '_';
}

static int scan_number(parser *p, token *t)
{
    const char *s = p->s + t->start;
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    if (s[n] == '.')
        for (n++; isdigit((unsigned char)s[n]); n++)
            ;
    if ((s[n] == 'e' || s[n] == 'E') &&
        (isdigit((unsigned char)s[n + 1]) ||
         ((s[n + 1] == '+' || s[n + 1] == '-') && isdigit((unsigned char)s[n + 2])))) {
        for (n += 2; isdigit((unsigned char)s[n]); n++)
            ;
    }
    char buf[64];
    t->len = n;
    if (n >= sizeof buf)
        return cx_fp_fail_at(p, t->start, n, "expected a number of at most 63 characters");
    memcpy(buf, s, n);
    buf[n] = '\0';
    t->num = strtod(buf, NULL);
    t->kind = T_NUM;
    return CX_OK;
}

static int scan_name(parser *p, token *t)
{
    const char *s = p->s + t->start;
    size_t n = 0, from = 0, to;
    if (s[0] == '`') {
        for (n = 1; s[n] && s[n] != '`' && s[n] != '\n'; n++)
            ;
        if (s[n] != '`')
            return cx_fp_fail_at(p, t->start, n, "expected the closing backquote of the name");
        from = 1;
        to = n++;
    } else {
        while (is_name_char((unsigned char)s[n]))
            n++;
        to = n;
    }
    t->len = n;
    if (to - from >= CX_NAME_MAX || to == from)
        return cx_fp_fail_at(p, t->start, n, "expected a name of 1 to %d characters",
                             CX_NAME_MAX - 1);
    memcpy(t->name, s + from, to - from);
    t->name[to - from] = '\0';
    t->kind = T_NAME;
    return CX_OK;
}

int cx_fp_advance(parser *p)
{
    while (isspace((unsigned char)p->s[p->at]))
        p->at++;
    token *t = &p->tok;
    t->start = p->at;
    t->len = 1;
    int c = (unsigned char)p->s[p->at];
    static const char single[] = "~+-*/:^(),";
    static const tok_kind kinds[] = {T_TILDE, T_PLUS,  T_MINUS, T_STAR, T_SLASH,
                                     T_COLON, T_CARET, T_LPAR,  T_RPAR, T_COMMA};
    int rc = CX_OK;
    if (c == '\0') {
        t->kind = T_END;
        t->len = 0;
    } else if (c == '|') {
        t->kind = p->s[p->at + 1] == '|' ? T_DBAR : T_BAR;
        t->len = t->kind == T_DBAR ? 2 : 1;
    } else if (strchr(single, c)) {
        t->kind = kinds[strchr(single, c) - single];
    } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)p->s[p->at + 1]))) {
        rc = scan_number(p, t);
    } else if (is_name_start(c) || c == '`') {
        rc = scan_name(p, t);
    } else {
        t->kind = T_BAD;
    }
    p->at = t->start + t->len;
    if (!rc && t->kind == T_BAD)
        rc = FAIL(p, "expected a name, a number or one of ~ + - * / : ^ ( ) | ,");
    return rc;
}

int cx_fp_expect(parser *p, tok_kind kind, const char *what)
{
    if (p->tok.kind != kind)
        return FAIL(p, "expected %s", what);
    return cx_fp_advance(p);
}

int cx_fp_enter(parser *p)
{
    if (++p->depth > CX_FORMULA_MAX_DEPTH)
        return FAIL(p, "expected at most %d levels of nesting", CX_FORMULA_MAX_DEPTH);
    return CX_OK;
}

/* ---- names and variables --------------------------------------------------- */

int cx_fp_grow(void **array, size_t *cap, size_t n, size_t elem, cx_error *err)
{
    if (n < *cap)
        return CX_OK;
    size_t cap2 = *cap ? 2 * *cap : 16;
    void *q = realloc(*array, cap2 * elem);
    if (!q)
        return cx_error_set(err, CX_ENOMEM, "out of memory parsing the formula");
    *array = q;
    *cap = cap2;
    return CX_OK;
}

/* Index of name `s` in f->names, added on first use. */
int cx_fp_intern_name(parser *p, const char *s, size_t pos, size_t *index)
{
    cx_formula *f = p->f;
    *index = cx_strmap_get(&p->name_index, s);
    if (*index != (size_t)-1)
        return CX_OK;
    if (cx_fp_grow((void **)&f->names, &p->cap_names, f->n_names, sizeof *f->names, p->err) ||
        cx_fp_grow((void **)&f->name_pos, &p->cap_pos, f->n_names, sizeof *f->name_pos, p->err))
        return CX_ENOMEM;
    char *copy = cx_strdup(s, p->err);
    if (!copy || cx_strmap_put(&p->name_index, copy, f->n_names, p->err)) {
        free(copy);
        return CX_ENOMEM;
    }
    f->names[f->n_names] = copy;
    f->name_pos[f->n_names] = pos + 1;
    *index = f->n_names++;
    return CX_OK;
}

void cx_fp_var_clear(cx_fvar *v)
{
    free(v->label);
    cx_fexpr_free(v->expr);
}

/* Add variable *v (its label and expr move into the formula) unless one
 * with the same label exists; *index is the variable's index either way. */
int cx_fp_intern_var(parser *p, cx_fvar *v, size_t *index)
{
    cx_formula *f = p->f;
    *index = cx_strmap_get(&p->var_index, v->label);
    if (*index != (size_t)-1) {
        cx_fp_var_clear(v);
        return CX_OK;
    }
    if (cx_fp_grow((void **)&f->vars, &p->cap_vars, f->n_vars, sizeof *f->vars, p->err) ||
        cx_strmap_put(&p->var_index, v->label, f->n_vars, p->err)) {
        cx_fp_var_clear(v);
        return CX_ENOMEM;
    }
    f->vars[f->n_vars] = *v;
    *index = f->n_vars++;
    f->needs_panel |= v->kind == CX_FVAR_PANEL;
    return CX_OK;
}

char *cx_fp_take_label(cx_strbuf *b, parser *p)
{
    if (b->failed || !b->s) {
        free(b->s);
        cx_error_set(p->err, CX_ENOMEM, "out of memory parsing the formula");
        return NULL;
    }
    return b->s;
}
