/*
 * reliability_scales.c — the `scales` key of `model = reliability`:
 * parsing "NAME: item -item ..." lines, resolving the item columns, and
 * the observed ranges of reverse-keyed items (engine/scores.h's rule:
 * over every row of the table).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reducer.h"
#include "reliability_internal.h"

/* ---- the `scales` key ------------------------------------------------------ */

void rel_scales_free(rel_scales *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->scale[i].items);
        free(s->scale[i].reverse);
        free(s->scale[i].col);
        free(s->scale[i].lo);
        free(s->scale[i].hi);
    }
    free(s->scale);
    free(s);
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

/* Copy the name at *p (advancing it) into out; 0 when there is none. */
static size_t read_name(const char **p, char *out)
{
    size_t n = 0;
    if (!isalpha((unsigned char)**p) && **p != '_' && **p != '.')
        return 0;
    while (is_name_char((unsigned char)(*p)[n]))
        n++;
    if (n >= CX_NAME_MAX)
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return n;
}

static int add_item(rel_scale *sc, const char *name, int reverse)
{
    char(*items)[CX_NAME_MAX] = realloc(sc->items, (sc->k + 1) * sizeof *items);
    if (!items)
        return -1;
    sc->items = items;
    unsigned char *rev = realloc(sc->reverse, sc->k + 1);
    if (!rev)
        return -1;
    sc->reverse = rev;
    memcpy(sc->items[sc->k], name, CX_NAME_MAX);
    sc->reverse[sc->k++] = (unsigned char)reverse;
    return 0;
}

/* One scale "NAME: item -item ..." (line = its text, without separator). */
static int parse_scale(const cx_job *job, const char *line, size_t no, rel_scale *sc,
                       cx_error *err)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!read_name(&p, sc->name))
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %zu: expected a scale name, e.g. PEX: pex1 pex2 -pex3", no);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != ':')
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %s: expected ':' after the scale name", sc->name);
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r')
            p++;
        if (!*p)
            break;
        int reverse = *p == '-';
        p += reverse;
        char item[CX_NAME_MAX];
        if (!read_name(&p, item))
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: expected an item column or '-item' (reverse-keyed) "
                                "at '%.20s'",
                                sc->name, p);
        for (size_t i = 0; i < sc->k; i++)
            if (!strcmp(sc->items[i], item))
                return cx_job_error(job, "scales", err, CX_EUSAGE,
                                    "scale %s: expected each item once; %s is listed twice",
                                    sc->name, item);
        if (add_item(sc, item, reverse))
            return cx_error_set(err, CX_ENOMEM, "out of memory reading scales");
    }
    if (sc->k < 2)
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %s: expected at least two items, found %zu", sc->name, sc->k);
    return CX_OK;
}

/* The scale's columns: numeric, in the job's table. */
static int resolve_columns(const cx_job *job, rel_scale *sc, cx_error *err)
{
    const cx_table *t = job->view->table;
    sc->col = cx_calloc(sc->k, sizeof *sc->col, err);
    sc->lo = cx_calloc(sc->k, sizeof *sc->lo, err);
    sc->hi = cx_calloc(sc->k, sizeof *sc->hi, err);
    if (!sc->col || !sc->lo || !sc->hi)
        return CX_ENOMEM;
    for (size_t i = 0; i < sc->k; i++) {
        int c = cx_table_find(t, sc->items[i]);
        if (c < 0)
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: no column '%s' in table %s", sc->name, sc->items[i],
                                cx_table_label(t));
        const cx_column_info *info = cx_table_column(t, (size_t)c);
        if (info->kind == CX_COL_STRING || info->kind == CX_COL_UNUSABLE)
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: column '%s' is %s; expected numeric item scores",
                                sc->name, info->name,
                                info->kind == CX_COL_STRING ? "a string column" : "unusable");
        sc->col[i] = c;
        sc->lo[i] = INFINITY;
        sc->hi[i] = -INFINITY;
        if (info->kind == CX_COL_CATEGORICAL) { /* declared range: codes 0..k-1 */
            sc->lo[i] = 0;
            sc->hi[i] = info->n_categories ? (double)info->n_categories - 1 : 0;
        }
    }
    return CX_OK;
}

int rel_scales_parse(const cx_job *job, rel_scales **out, cx_error *err)
{
    *out = NULL;
    const char *text = cx_section_get(job->section, "scales");
    int cfa_only = !text && cx_section_get(job->section, "cfa_job");
    if (!cfa_only && (!text || !*text))
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "expected one scale per line, e.g. PEX: pex1 pex2 -pex3 (or "
                            "cfa_job = a cfa job)");
    rel_scales *s = cx_calloc(1, sizeof *s, err);
    if (!s)
        return CX_ENOMEM;
    if (cfa_only) {
        *out = s;
        return CX_OK;
    }
    int rc = CX_OK;
    const char *p = text;
    while (rc == CX_OK && *p) {
        size_t len = strcspn(p, "\n;");
        char *line = cx_malloc(len + 1, err);
        if (!line) {
            rc = CX_ENOMEM;
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] != '\0');
        if (strspn(line, " \t\r") == len) {
            free(line);
            continue;
        }
        rel_scale *grown = realloc(s->scale, (s->n + 1) * sizeof *grown);
        if (!grown) {
            free(line);
            rc = cx_error_set(err, CX_ENOMEM, "out of memory reading scales");
            break;
        }
        s->scale = grown;
        memset(&s->scale[s->n], 0, sizeof *grown);
        rel_scale *sc = &s->scale[s->n++];
        rc = parse_scale(job, line, s->n, sc, err);
        free(line);
        for (size_t i = 0; rc == CX_OK && i + 1 < s->n; i++)
            if (!strcmp(s->scale[i].name, sc->name))
                rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                                  "expected each scale once; %s is defined twice", sc->name);
        if (rc == CX_OK)
            rc = resolve_columns(job, sc, err);
    }
    if (rc == CX_OK && !s->n)
        rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                          "expected one scale per line, e.g. PEX: pex1 pex2 -pex3");
    if (rc != CX_OK) {
        rel_scales_free(s);
        return rc;
    }
    *out = s;
    return CX_OK;
}

/* Observed ranges of the reverse-keyed non-categorical items over every
 * row of the table (scores.h's rule): the engine's range reducer over the
 * unfiltered view of those columns. */
int rel_scan_ranges(const cx_job *job, rel_scales *s, cx_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            n += s->scale[i].reverse[j] && isinf(s->scale[i].lo[j]);
    if (!n)
        return CX_OK;
    int *cols = cx_calloc(n, sizeof *cols, err);
    double **lo = cx_calloc(n, sizeof *lo, err), **hi = cx_calloc(n, sizeof *hi, err);
    if (!cols || !lo || !hi) {
        free(cols), free(lo), free(hi);
        return CX_ENOMEM;
    }
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            if (s->scale[i].reverse[j] && isinf(s->scale[i].lo[j])) {
                cols[c] = s->scale[i].col[j];
                lo[c] = &s->scale[i].lo[j];
                hi[c++] = &s->scale[i].hi[j];
            }
    cx_view all;
    cx_view_init(&all, job->view->table, NULL);
    cx_range_params rp = {n};
    cx_reducer red = {&cx_reducer_range, &rp, NULL};
    int rc = cx_reduce_view(&all, cols, n, &red, 1, job->threads, err);
    for (size_t k = 0; rc == CX_OK && k < n; k++)
        cx_range_of(red.acc, k, lo[k], hi[k]);
    cx_reducer_release(&red);
    for (size_t k = 0; rc == CX_OK && k < n; k++)
        if (isinf(*lo[k]))
            rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                              "column '%s' has no values in table %s, so it cannot be "
                              "reverse-keyed; expected observed values",
                              cx_table_column(job->view->table, (size_t)cols[k])->name,
                              cx_table_label(job->view->table));
    cx_view_free(&all);
    free(cols), free(lo), free(hi);
    return rc;
}
