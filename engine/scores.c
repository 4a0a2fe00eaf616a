/*
 * scores.c — parsing and scoring of the `scores` key (see scores.h).
 */
#include "scores.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scanner {
    const char *s;
    size_t at;
    cx_error *err;
} scanner;

static int fail(scanner *sc, size_t at, const char *fmt, ...)
{
    char what[256], shown[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t k = 0;
    for (size_t i = at; sc->s[i] && sc->s[i] != '\n' && k < 24; i++)
        if (isprint((unsigned char)sc->s[i]))
            shown[k++] = sc->s[i];
    shown[k] = '\0';
    if (!k)
        return cx_error_set(sc->err, CX_EUSAGE, "scores, at character %zu (end of line): %s",
                            at + 1, what);
    return cx_error_set(sc->err, CX_EUSAGE, "scores, at character %zu ('%s'): %s", at + 1, shown,
                        what);
}

/* Skip blanks but not scale separators. */
static void skip_blanks(scanner *sc)
{
    while (sc->s[sc->at] == ' ' || sc->s[sc->at] == '\t' || sc->s[sc->at] == '\r')
        sc->at++;
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

static int read_name(scanner *sc, char *out, const char *what)
{
    skip_blanks(sc);
    size_t start = sc->at, n = 0;
    if (!isalpha((unsigned char)sc->s[start]) && sc->s[start] != '.' && sc->s[start] != '_')
        return fail(sc, start, "expected %s", what);
    while (is_name_char((unsigned char)sc->s[start + n]))
        n++;
    if (n >= CX_NAME_MAX)
        return fail(sc, start, "expected %s of at most %d characters", what, CX_NAME_MAX - 1);
    memcpy(out, sc->s + start, n);
    out[n] = '\0';
    sc->at = start + n;
    return CX_OK;
}

static int add_item(scanner *sc, cx_score *scale, const char *name, int reverse, size_t at)
{
    for (size_t i = 0; i < scale->n_items; i++)
        if (!strcmp(scale->items[i], name))
            return fail(sc, at, "expected each item once in scale %s; %s is listed twice",
                        scale->name, name);
    char(*items)[CX_NAME_MAX] = realloc(scale->items, (scale->n_items + 1) * sizeof *items);
    if (items)
        scale->items = items;
    unsigned char *rev = items ? realloc(scale->reverse, scale->n_items + 1) : NULL;
    if (!rev)
        return cx_error_set(sc->err, CX_ENOMEM, "out of memory reading scores");
    scale->reverse = rev;
    memcpy(scale->items[scale->n_items], name, CX_NAME_MAX);
    scale->reverse[scale->n_items++] = (unsigned char)reverse;
    return CX_OK;
}

/* NAME ':' fn '(' items ')' */
static int parse_scale(scanner *sc, cx_score *scale)
{
    skip_blanks(sc);
    scale->pos = sc->at + 1;
    if (read_name(sc, scale->name, "a scale name (e.g. PEX: mean(pex1 pex2 -pex3))"))
        return sc->err->code;
    skip_blanks(sc);
    if (sc->s[sc->at] != ':')
        return fail(sc, sc->at, "expected ':' after the scale name %s", scale->name);
    sc->at++;
    char fn[CX_NAME_MAX];
    size_t fn_at = sc->at;
    if (read_name(sc, fn, "mean(...) or sum(...)"))
        return sc->err->code;
    if (strcmp(fn, "mean") && strcmp(fn, "sum"))
        return fail(sc, fn_at + strspn(sc->s + fn_at, " \t"), "expected mean(...) or sum(...)");
    scale->fn = strcmp(fn, "mean") ? CX_SCORE_SUM : CX_SCORE_MEAN;
    skip_blanks(sc);
    if (sc->s[sc->at] != '(')
        return fail(sc, sc->at, "expected '(' after %s", fn);
    sc->at++;
    for (;;) {
        while (sc->s[sc->at] == ',' || isspace((unsigned char)sc->s[sc->at]))
            sc->at++; /* the item list may span lines */
        if (sc->s[sc->at] == ')')
            break;
        size_t at = sc->at;
        int reverse = sc->s[at] == '-';
        sc->at += (size_t)reverse;
        char item[CX_NAME_MAX];
        if (read_name(sc, item, "an item column, '-item' (reverse-keyed) or ')'") ||
            add_item(sc, scale, item, reverse, at))
            return sc->err->code;
    }
    if (!scale->n_items)
        return fail(sc, sc->at, "expected at least one item in scale %s", scale->name);
    sc->at++;
    skip_blanks(sc);
    if (sc->s[sc->at] && sc->s[sc->at] != '\n' && sc->s[sc->at] != ';')
        return fail(sc, sc->at, "expected a newline or ';' after scale %s", scale->name);
    return CX_OK;
}

cx_scores *cx_scores_parse(const char *text, cx_error *err)
{
    cx_scores *s = cx_calloc(1, sizeof *s, err);
    if (!s)
        return NULL;
    scanner sc = {.s = text ? text : "", .err = err};
    for (;;) {
        while (sc.s[sc.at] == ';' || isspace((unsigned char)sc.s[sc.at]))
            sc.at++;
        if (!sc.s[sc.at])
            break;
        cx_score *grown = realloc(s->scales, (s->n + 1) * sizeof *grown);
        if (!grown) {
            cx_error_set(err, CX_ENOMEM, "out of memory reading scores");
            break;
        }
        s->scales = grown;
        memset(&s->scales[s->n], 0, sizeof *grown);
        cx_score *scale = &s->scales[s->n++];
        if (parse_scale(&sc, scale))
            break;
        if (cx_scores_find(s, scale->name) != (long)s->n - 1) {
            fail(&sc, scale->pos - 1, "expected each scale once; %s is defined twice", scale->name);
            break;
        }
    }
    if (!s->n && err->code == CX_OK)
        fail(&sc, sc.at, "expected at least one scale (e.g. PEX: mean(pex1 pex2 -pex3))");
    if (err->code != CX_OK) {
        cx_scores_free(s);
        return NULL;
    }
    return s;
}

void cx_scores_free(cx_scores *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->scales[i].items);
        free(s->scales[i].reverse);
    }
    free(s->scales);
    free(s);
}

long cx_scores_find(const cx_scores *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->scales[i].name, name))
            return (long)i;
    return -1;
}

double cx_score_value(const cx_score *s, const double *items, const double *lo, const double *hi)
{
    double total = 0;
    size_t present = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        double x = items[i];
        if (isnan(x))
            continue;
        total += s->reverse[i] ? lo[i] + hi[i] - x : x;
        present++;
    }
    if (2 * present < s->n_items)
        return NAN;
    double mean = total / (double)present;
    return s->fn == CX_SCORE_MEAN ? mean : mean * (double)s->n_items;
}
