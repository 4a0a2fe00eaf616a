/*
 * derived_wide.c — the wide view of long data (derived.h, table_wide):
 * `wide = respondent wave` turns a table with one row per respondent and
 * wave into one row per respondent with a column per item and wave
 * (`pex1_w1`, `pex1_w2`, ...), the layout a longitudinal CFA needs (the
 * same factor measured at every wave, invariance through labels,
 * correlated residuals of an item across waves).
 *
 * It is one more derived table beside `@job/TABLE` and `join`: built in
 * memory from the job's (possibly joined) table before the job's view is
 * made, so every model reads it like any table.  The job's `where`
 * selects the long rows that go in (`where = panel == 1`), because the
 * wide table has no wave column left to filter on.
 */
#include "derived.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More distinct time values than this is almost surely the wrong column
 * (a float, an id): the table would get a column per value. */
#define CX_WIDE_MAX_TIMES 200

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct non-missing values of x[0..n-1] into *out. */
static size_t distinct_values(const double *x, size_t n, double **out, cx_error *err)
{
    double *v = cx_malloc((n ? n : 1) * sizeof *v, err);
    size_t m = 0, k = 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            v[m++] = x[i];
    qsort(v, m, sizeof *v, compare_doubles);
    for (size_t i = 0; i < m; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    *out = v;
    return k;
}

static size_t position(const double *sorted, size_t n, double x)
{
    const double *hit = bsearch(&x, sorted, n, sizeof *sorted, compare_doubles);
    return (size_t)(hit - sorted);
}

/* The wide request of a section: its id and time columns and the columns
 * to spread (`wide_columns`, default every other numeric column). */
typedef struct wide_spec {
    int cols[2 + 4096]; /* id, time, then the spread columns */
    size_t n_spread;
} wide_spec;

static int usable(const cx_table *t, size_t j)
{
    cx_column_kind k = cx_table_column(t, j)->kind;
    return k != CX_COL_STRING && k != CX_COL_UNUSABLE;
}

static int wide_columns(const cx_config *c, const cx_config_section *s, cx_table *t, wide_spec *w,
                        cx_error *err)
{
    size_t n;
    char **names = cx_words_split(cx_section_get(s, "wide"), &n, err);
    if (!names)
        return err->code;
    int rc = n == 2 ? CX_OK
                    : cx_config_error(c, s, "wide", err, CX_EUSAGE,
                                      "expected the id column and the time column "
                                      "(e.g. wide = respondent wave), got %zu names",
                                      n);
    for (size_t k = 0; rc == CX_OK && k < 2; k++) {
        w->cols[k] = cx_table_find(t, names[k]);
        if (w->cols[k] < 0 || cx_table_check_numeric(t, (size_t)w->cols[k], err) != CX_OK)
            rc = cx_config_error(c, s, "wide", err, CX_EUSAGE, "%s has no numeric column '%s'",
                                 cx_table_label(t), names[k]);
    }
    cx_words_free(names);
    if (rc != CX_OK)
        return rc;
    const char *list = cx_section_get(s, "wide_columns");
    w->n_spread = 0;
    if (!list) {
        for (size_t j = 0; j < cx_table_ncols(t) && w->n_spread < 4096; j++)
            if ((int)j != w->cols[0] && (int)j != w->cols[1] && usable(t, j))
                w->cols[2 + w->n_spread++] = (int)j;
        return CX_OK;
    }
    names = cx_words_split(list, &n, err);
    if (!names)
        return err->code;
    if (n == 0 || n > 4096)
        rc = cx_config_error(c, s, "wide_columns", err, CX_EUSAGE, "expected 1 to 4096 columns");
    for (size_t k = 0; rc == CX_OK && k < n; k++) {
        int j = cx_table_find(t, names[k]);
        if (j < 0 || cx_table_check_numeric(t, (size_t)j, err) != CX_OK)
            rc = cx_config_error(c, s, "wide_columns", err, CX_EUSAGE,
                                 "%s has no numeric column '%s'", cx_table_label(t), names[k]);
        else if (j == w->cols[0] || j == w->cols[1])
            rc = cx_config_error(c, s, "wide_columns", err, CX_EUSAGE,
                                 "'%s' is the id or time column of 'wide'", names[k]);
        else
            w->cols[2 + w->n_spread++] = j;
    }
    cx_words_free(names);
    return rc;
}

/* Name of column `info` at time value `t`: pex1_w2, or pex1_<label> when
 * the time column is categorical. */
static void wide_name(const cx_column_info *info, const cx_column_info *time, double t, char *buf,
                      size_t n)
{
    if (time->kind == CX_COL_CATEGORICAL && t >= 0 && (size_t)t < time->n_categories)
        snprintf(buf, n, "%s_%s", info->name, time->categories[(size_t)t]);
    else
        snprintf(buf, n, "%s_w%.15g", info->name, t);
}

typedef struct wide_build {
    const cx_column_info *id_info, *time_info;
    const double *data; /* loaded long rows, column-major (ld = nrows) */
    size_t nrows;
    double *ids, *times;
    size_t nid, ntime;
    long *cell_row; /* nid x ntime: the long row of each cell, -1 if none */
} wide_build;

/* A key value for a message: its label when categorical. */
static void key_text(const cx_column_info *info, double x, char *buf, size_t n)
{
    if (info->kind == CX_COL_CATEGORICAL && x >= 0 && (size_t)x < info->n_categories)
        snprintf(buf, n, "'%s'", info->categories[(size_t)x]);
    else
        snprintf(buf, n, "%.15g", x);
}

/* Place every long row in its (id, time) cell; two rows for one cell is
 * an error naming the id and time. */
static int place_rows(const cx_config *c, const cx_config_section *s, wide_build *b, cx_error *err)
{
    for (size_t k = 0; k < b->nid * b->ntime; k++)
        b->cell_row[k] = -1;
    for (size_t r = 0; r < b->nrows; r++) {
        double id = b->data[r], t = b->data[b->nrows + r];
        if (isnan(id) || isnan(t))
            continue;
        size_t cell = position(b->ids, b->nid, id) * b->ntime + position(b->times, b->ntime, t);
        if (b->cell_row[cell] >= 0) {
            char idt[256], tt[256];
            key_text(b->id_info, id, idt, sizeof idt);
            key_text(b->time_info, t, tt, sizeof tt);
            return cx_config_error(c, s, "wide", err, CX_EUSAGE,
                                   "id %s has more than one row at time %s (rows %ld and %zu of "
                                   "the selected rows): one row per id and time",
                                   idt, tt, b->cell_row[cell] + 1, r + 1);
        }
        b->cell_row[cell] = (long)r;
    }
    return CX_OK;
}

static int add_wide_columns(cx_table *long_t, const wide_spec *w, const wide_build *b,
                            cx_table *out, cx_error *err)
{
    const cx_column_info *id = cx_table_column(long_t, (size_t)w->cols[0]);
    const cx_column_info *time = cx_table_column(long_t, (size_t)w->cols[1]);
    double *col = cx_malloc((b->nid ? b->nid : 1) * sizeof *col, err);
    if (!col)
        return CX_ENOMEM;
    int rc = cx_table_memory_add_column(out, id->name, id->kind, b->ids, id->categories,
                                        id->n_categories, err);
    for (size_t j = 0; rc == CX_OK && j < w->n_spread; j++) {
        const cx_column_info *info = cx_table_column(long_t, (size_t)w->cols[2 + j]);
        const double *x = b->data + (2 + j) * b->nrows;
        for (size_t t = 0; rc == CX_OK && t < b->ntime; t++) {
            char name[512];
            wide_name(info, time, b->times[t], name, sizeof name);
            if (cx_table_find(out, name) >= 0) {
                rc = cx_error_set(err, CX_EUSAGE, "wide: two columns would be named '%s'", name);
                break;
            }
            for (size_t i = 0; i < b->nid; i++) {
                long r = b->cell_row[i * b->ntime + t];
                col[i] = r >= 0 ? x[r] : NAN;
            }
            rc = cx_table_memory_add_column(out, name, info->kind, col, info->categories,
                                            info->n_categories, err);
        }
    }
    free(col);
    return rc;
}

static cx_table *build_wide(const cx_config *c, const cx_config_section *s, cx_table *long_t,
                            const wide_spec *w, wide_build *b, cx_error *err)
{
    b->nid = distinct_values(b->data, b->nrows, &b->ids, err);
    b->ntime = b->ids ? distinct_values(b->data + b->nrows, b->nrows, &b->times, err) : 0;
    if (!b->ids || !b->times)
        return NULL;
    if (b->nid == 0 || b->ntime == 0) {
        cx_config_error(c, s, "wide", err, CX_EUSAGE, "no selected row has both an id and a time");
        return NULL;
    }
    if (b->ntime > CX_WIDE_MAX_TIMES) {
        cx_config_error(c, s, "wide", err, CX_EUSAGE,
                        "the time column has %zu distinct values (at most %d): is it the time "
                        "column?",
                        b->ntime, CX_WIDE_MAX_TIMES);
        return NULL;
    }
    b->cell_row = cx_malloc(b->nid * b->ntime * sizeof *b->cell_row, err);
    if (!b->cell_row || place_rows(c, s, b, err) != CX_OK)
        return NULL;
    cx_table *out = cx_table_memory_alloc(cx_table_label(long_t), b->nid, err);
    if (out && add_wide_columns(long_t, w, b, out, err) != CX_OK) {
        cx_table_close(out);
        out = NULL;
    }
    return out;
}

cx_table *table_wide(const cx_config *config, const cx_config_section *s, cx_table *long_t,
                     cx_error *err)
{
    wide_spec w;
    if (wide_columns(config, s, long_t, &w, err) != CX_OK)
        return NULL;
    cx_view v;
    cx_filter *where = NULL;
    const char *text = cx_section_get(s, "where");
    if (text && !(where = cx_filter_parse(text, long_t, err))) {
        cx_config_error(config, s, "where", err, CX_EUSAGE, "%s", err->msg);
        return NULL;
    }
    cx_view_init(&v, long_t, where);
    wide_build b = {.id_info = cx_table_column(long_t, (size_t)w.cols[0]),
                    .time_info = cx_table_column(long_t, (size_t)w.cols[1])};
    double *data = NULL;
    cx_table *out = NULL;
    if (cx_view_load(&v, w.cols, 2 + w.n_spread, &data, &b.nrows, NULL, err) == CX_OK) {
        b.data = data;
        out = build_wide(config, s, long_t, &w, &b, err);
    }
    free(data);
    free(b.ids);
    free(b.times);
    free(b.cell_row);
    cx_view_free(&v);
    cx_filter_free(where);
    return out;
}
