/*
 * result.c — building a job's result in memory (see result.h).
 *
 * Tables grow by rows; every column is a typed array that is reallocated
 * geometrically.  Nothing here knows about HDF5: results_io.c writes it.
 */
#include "result.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cx_result *cx_result_alloc(double level, cx_error *err)
{
    cx_result *r = cx_calloc(1, sizeof *r, err);
    if (!r)
        return NULL;
    r->status = CX_STATUS_OK;
    r->level = level > 0 && level < 1 ? level : 0.95;
    r->nobs = NAN;
    return r;
}

static void free_table(cx_rtable *t)
{
    if (!t)
        return;
    for (size_t j = 0; j < t->ncols; j++) {
        cx_rcolumn *c = &t->cols[j];
        if (c->s)
            for (size_t i = 0; i < t->nrows; i++)
                free(c->s[i]);
        free(c->s);
        free(c->d);
        free(c->i);
        free(c->name);
    }
    free(t->cols);
    free(t->name);
    free(t);
}

void cx_result_free(cx_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_tables; i++)
        free_table(r->tables[i]);
    free(r->tables);
    for (size_t i = 0; i < r->n_attrs; i++) {
        free(r->attrs[i].name);
        free(r->attrs[i].s);
    }
    free(r->attrs);
    free(r->message);
    free(r);
}

/* Append "text" to the message, one line per note. */
static void append_message(cx_result *r, const char *text)
{
    size_t old = r->message ? strlen(r->message) : 0;
    char *grown = realloc(r->message, old + strlen(text) + 3);
    if (!grown)
        return; /* a lost warning is better than a lost result */
    if (old)
        memcpy(grown + old, "; ", 3), old += 2;
    strcpy(grown + old, text);
    r->message = grown;
}

const char *cx_status_name(cx_job_status s)
{
    switch (s) {
    case CX_STATUS_OK:
        return "ok";
    case CX_STATUS_NOT_CONVERGED:
        return "not_converged";
    case CX_STATUS_FAILED:
        return "failed";
    }
    return "failed";
}

int cx_status_parse(const char *name, cx_job_status *out)
{
    static const cx_job_status all[] = {CX_STATUS_OK, CX_STATUS_NOT_CONVERGED, CX_STATUS_FAILED};
    for (size_t i = 0; name && i < sizeof all / sizeof *all; i++)
        if (strcmp(name, cx_status_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

void cx_result_set_status(cx_result *r, cx_job_status status, const char *fmt, ...)
{
    char text[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* failed outranks not_converged outranks ok */
    if (status > r->status)
        r->status = status;
    append_message(r, text);
}

void cx_result_add_warning(cx_result *r, const char *fmt, ...)
{
    char text[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    append_message(r, text);
}

static cx_rattr *attr_slot(cx_result *r, const char *name, cx_error *err)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attrs[i].name, name) == 0) {
            free(r->attrs[i].s);
            r->attrs[i].s = NULL;
            return &r->attrs[i];
        }
    cx_rattr *grown = realloc(r->attrs, (r->n_attrs + 1) * sizeof *grown);
    if (!grown) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
        return NULL;
    }
    r->attrs = grown;
    cx_rattr *a = &r->attrs[r->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = cx_strdup(name, err);
    if (!a->name)
        return NULL;
    r->n_attrs++;
    return a;
}

int cx_result_set_attr_double(cx_result *r, const char *name, double value, cx_error *err)
{
    cx_rattr *a = attr_slot(r, name, err);
    if (!a)
        return CX_ENOMEM;
    a->is_string = 0;
    a->d = value;
    return CX_OK;
}

int cx_result_set_attr_string(cx_result *r, const char *name, const char *value, cx_error *err)
{
    cx_rattr *a = attr_slot(r, name, err);
    if (!a)
        return CX_ENOMEM;
    a->is_string = 1;
    a->s = cx_strdup(value, err);
    return a->s ? CX_OK : CX_ENOMEM;
}

cx_rtable *cx_result_find_table(const cx_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_tables; i++)
        if (strcmp(r->tables[i]->name, name) == 0)
            return r->tables[i];
    return NULL;
}

cx_rtable *cx_result_table(cx_result *r, const char *name, cx_error *err)
{
    cx_rtable *t = cx_result_find_table(r, name);
    if (t)
        return t;
    cx_rtable **grown = realloc(r->tables, (r->n_tables + 1) * sizeof *grown);
    if (!grown) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
        return NULL;
    }
    r->tables = grown;
    t = cx_calloc(1, sizeof *t, err);
    if (!t)
        return NULL;
    t->name = cx_strdup(name, err);
    if (!t->name) {
        free(t);
        return NULL;
    }
    r->tables[r->n_tables++] = t;
    return t;
}

int cx_rtable_find_column(const cx_rtable *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->cols[j].name, name) == 0)
            return (int)j;
    return -1;
}

int cx_rtable_find_column_typed(const cx_rtable *t, const char *name, cx_rcol_type type)
{
    int j = cx_rtable_find_column(t, name);
    return j >= 0 && t->cols[j].type == type ? j : -1;
}

const cx_rcolumn *cx_rtable_column_typed(const cx_rtable *t, const char *name, cx_rcol_type type)
{
    int j = cx_rtable_find_column_typed(t, name, type);
    return j >= 0 ? &t->cols[j] : NULL;
}

/* Make room for `capacity` rows in column c. */
static int grow_column(cx_rcolumn *c, size_t old_cap, size_t capacity)
{
    if (c->type == CX_RCOL_DOUBLE) {
        double *d = realloc(c->d, capacity * sizeof *d);
        if (!d)
            return 0;
        c->d = d;
    } else if (c->type == CX_RCOL_INT) {
        long long *v = realloc(c->i, capacity * sizeof *v);
        if (!v)
            return 0;
        c->i = v;
    } else {
        char **s = realloc(c->s, capacity * sizeof *s);
        if (!s)
            return 0;
        memset(s + old_cap, 0, (capacity - old_cap) * sizeof *s);
        c->s = s;
    }
    return 1;
}

int cx_rtable_add_column(cx_rtable *t, const char *name, cx_rcol_type type, cx_error *err)
{
    if (cx_rtable_find_column(t, name) >= 0)
        return CX_OK;
    if (t->nrows > 0)
        return cx_error_set(err, CX_EFAIL, "table '%s': column '%s' added after rows", t->name,
                            name);
    cx_rcolumn *grown = realloc(t->cols, (t->ncols + 1) * sizeof *grown);
    if (!grown)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    t->cols = grown;
    cx_rcolumn *c = &t->cols[t->ncols];
    memset(c, 0, sizeof *c);
    c->type = type;
    c->name = cx_strdup(name, err);
    if (!c->name)
        return CX_ENOMEM;
    if (t->capacity && !grow_column(c, 0, t->capacity)) {
        free(c->name);
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    t->ncols++;
    return CX_OK;
}

long cx_rtable_add_row(cx_rtable *t, cx_error *err)
{
    if (t->nrows == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 16;
        for (size_t j = 0; j < t->ncols; j++)
            if (!grow_column(&t->cols[j], t->capacity, cap)) {
                cx_error_set(err, CX_ENOMEM, "out of memory growing table '%s'", t->name);
                return -1;
            }
        t->capacity = cap;
    }
    size_t row = t->nrows++;
    for (size_t j = 0; j < t->ncols; j++) {
        cx_rcolumn *c = &t->cols[j];
        if (c->type == CX_RCOL_DOUBLE)
            c->d[row] = NAN;
        else if (c->type == CX_RCOL_INT)
            c->i[row] = 0;
        else
            c->s[row] = NULL;
    }
    return (long)row;
}

void cx_rtable_set_double(cx_rtable *t, size_t row, const char *col, double v)
{
    int j = cx_rtable_find_column(t, col);
    if (j >= 0 && row < t->nrows && t->cols[j].type == CX_RCOL_DOUBLE)
        t->cols[j].d[row] = v;
}

void cx_rtable_set_int(cx_rtable *t, size_t row, const char *col, long long v)
{
    int j = cx_rtable_find_column(t, col);
    if (j >= 0 && row < t->nrows && t->cols[j].type == CX_RCOL_INT)
        t->cols[j].i[row] = v;
}

int cx_rtable_set_string(cx_rtable *t, size_t row, const char *col, const char *v, cx_error *err)
{
    int j = cx_rtable_find_column(t, col);
    if (j < 0 || row >= t->nrows || t->cols[j].type != CX_RCOL_STRING)
        return cx_error_set(err, CX_EFAIL, "table '%s' has no string column '%s'", t->name, col);
    char *copy = cx_strdup(v ? v : "", err);
    if (!copy)
        return CX_ENOMEM;
    free(t->cols[j].s[row]);
    t->cols[j].s[row] = copy;
    return CX_OK;
}

int cx_rtable_copy_cells(cx_rtable *dst, size_t row, const cx_rtable *src, size_t i, cx_error *err)
{
    for (size_t j = 0; j < src->ncols; j++) {
        const cx_rcolumn *c = &src->cols[j];
        if (c->type == CX_RCOL_DOUBLE)
            cx_rtable_set_double(dst, row, c->name, c->d[i]);
        else if (c->type == CX_RCOL_INT)
            cx_rtable_set_int(dst, row, c->name, c->i[i]);
        else if (cx_rtable_set_string(dst, row, c->name, c->s[i], err))
            return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

cx_rtable *cx_result_estimates_table(cx_result *r, cx_error *err)
{
    cx_rtable *t = cx_result_find_table(r, "estimates");
    if (t)
        return t;
    t = cx_result_table(r, "estimates", err);
    if (!t)
        return NULL;
    static const char *const strings[] = {"lhs", "op", "rhs"};
    static const char *const doubles[] = {"est",      "se",       "z",      "pvalue",
                                          "ci_lower", "ci_upper", "std_all"};
    for (size_t i = 0; i < 3; i++)
        if (cx_rtable_add_column(t, strings[i], CX_RCOL_STRING, err))
            return NULL;
    if (cx_rtable_add_column(t, "group", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; i < 7; i++)
        if (cx_rtable_add_column(t, doubles[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

long cx_result_add_estimate(cx_result *r, const char *lhs, const char *op, const char *rhs,
                            long long group, double est, double se, double std_all, cx_error *err)
{
    cx_rtable *t = cx_result_estimates_table(r, err);
    if (!t)
        return -1;
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, row, "lhs", lhs, err) ||
        cx_rtable_set_string(t, row, "op", op, err) ||
        cx_rtable_set_string(t, row, "rhs", rhs ? rhs : "", err))
        return -1;
    cx_rtable_set_int(t, row, "group", group);
    cx_rtable_set_double(t, row, "est", est);
    cx_rtable_set_double(t, row, "std_all", std_all);
    /* Fixed parameters (se NaN or 0): CI collapses to the value, like lavaan. */
    if (isnan(se) || se == 0) {
        cx_rtable_set_double(t, row, "se", isnan(se) ? NAN : 0.0);
        cx_rtable_set_double(t, row, "ci_lower", est);
        cx_rtable_set_double(t, row, "ci_upper", est);
        return row;
    }
    double z = est / se;
    double crit = gsl_cdf_ugaussian_Qinv((1 - r->level) / 2);
    cx_rtable_set_double(t, row, "se", se);
    cx_rtable_set_double(t, row, "z", z);
    cx_rtable_set_double(t, row, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
    cx_rtable_set_double(t, row, "ci_lower", est - crit * se);
    cx_rtable_set_double(t, row, "ci_upper", est + crit * se);
    return row;
}

/* A two-column (string, double) table such as `fit`. */
static int add_named_value(cx_result *r, const char *table, const char *const cols[2],
                           const char *name, double value, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, table, err);
    if (!t || cx_rtable_add_column(t, cols[0], CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, cols[1], CX_RCOL_DOUBLE, err))
        return err ? err->code : CX_EFAIL;
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, row, cols[0], name, err))
        return err ? err->code : CX_EFAIL;
    cx_rtable_set_double(t, row, cols[1], value);
    return CX_OK;
}

int cx_result_add_fit(cx_result *r, const char *measure, double value, cx_error *err)
{
    static const char *const cols[2] = {"measure", "value"};
    return add_named_value(r, "fit", cols, measure, value, err);
}

int cx_result_add_validation(cx_result *r, const char *split, const char *metric, double value,
                             cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "validation", err);
    if (!t || cx_rtable_add_column(t, "split", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "metric", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "value", CX_RCOL_DOUBLE, err))
        return err ? err->code : CX_EFAIL;
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, row, "split", split, err) ||
        cx_rtable_set_string(t, row, "metric", metric, err))
        return err ? err->code : CX_EFAIL;
    cx_rtable_set_double(t, row, "value", value);
    return CX_OK;
}
