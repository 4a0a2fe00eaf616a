/*
 * readback.c — typed lookups into a stored job (see readback.h).
 */
#include "readback.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const cx_rcolumn *cx_rb_column(const cx_rtable *t, const char *name, cx_rcol_type type)
{
    if (!t)
        return NULL;
    int j = cx_rtable_find_column(t, name);
    return j >= 0 && t->cols[j].type == type ? &t->cols[j] : NULL;
}

int cx_rb_is_number(const cx_rcolumn *c)
{
    return c && (c->type == CX_RCOL_DOUBLE || c->type == CX_RCOL_INT);
}

double cx_rb_number(const cx_rcolumn *c, size_t row)
{
    if (!c)
        return NAN;
    if (c->type == CX_RCOL_DOUBLE)
        return c->d[row];
    if (c->type == CX_RCOL_INT)
        return (double)c->i[row];
    return NAN;
}

const char *cx_rb_string(const cx_rcolumn *c, size_t row)
{
    return c && c->type == CX_RCOL_STRING && c->s[row] ? c->s[row] : "";
}

const char *cx_rb_attr_string(const cx_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        if (r->attrs[i].is_string && strcmp(r->attrs[i].name, name) == 0)
            return r->attrs[i].s ? r->attrs[i].s : "";
    return NULL;
}

double cx_rb_attr_double(const cx_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        if (!r->attrs[i].is_string && strcmp(r->attrs[i].name, name) == 0)
            return r->attrs[i].d;
    return NAN;
}

double cx_rb_fit(const cx_result *r, const char *table, const char *measure)
{
    const cx_rtable *t = cx_result_find_table(r, table);
    const cx_rcolumn *m = cx_rb_column(t, "measure", CX_RCOL_STRING);
    const cx_rcolumn *v = cx_rb_column(t, "value", CX_RCOL_DOUBLE);
    for (size_t i = 0; m && v && i < t->nrows; i++)
        if (strcmp(cx_rb_string(m, i), measure) == 0)
            return v->d[i];
    return NAN;
}

const char *cx_rb_spec_value(const char *spec, const char *key, char *buf, size_t size)
{
    size_t klen = strlen(key);
    buf[0] = '\0';
    /* the spec is `key=value` lines; a continuation line has no `=` at a key */
    for (const char *line = spec; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(buf, size, "%.*s", (int)(len - klen - 1), line + klen + 1);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    return buf;
}

size_t cx_rb_by_columns(const char *spec, cx_rb_by *by)
{
    by->n = 0;
    cx_rb_spec_value(spec ? spec : "", "by", by->buf, sizeof by->buf);
    for (char *p = by->buf; *p && by->n < CX_RB_MAX_BY;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            *p++ = '\0';
        if (!*p)
            break;
        by->names[by->n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
    }
    return by->n;
}

/* One cell as text, whatever its type. */
static void cell_text(const cx_rcolumn *c, size_t row, char *buf, size_t size)
{
    if (c->type == CX_RCOL_STRING)
        snprintf(buf, size, "%s", cx_rb_string(c, row));
    else if (c->type == CX_RCOL_INT)
        snprintf(buf, size, "%lld", c->i[row]);
    else
        snprintf(buf, size, "%.15g", c->d[row]);
}

void cx_rb_level_label(const cx_rtable *t, const cx_rb_by *by, size_t row, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < by->n && used < size; k++) {
        int j = cx_rtable_find_column(t, by->names[k]);
        if (j < 0)
            continue;
        char value[256];
        cell_text(&t->cols[j], row, value, sizeof value);
        used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", used ? ", " : "",
                                 by->names[k], value);
    }
}

int cx_rb_same_level(const cx_rtable *t, const cx_rb_by *by, size_t i, size_t j)
{
    for (size_t k = 0; k < by->n; k++) {
        int c = cx_rtable_find_column(t, by->names[k]);
        if (c < 0)
            continue;
        const cx_rcolumn *col = &t->cols[c];
        if (col->type == CX_RCOL_STRING ? strcmp(cx_rb_string(col, i), cx_rb_string(col, j)) != 0
            : col->type == CX_RCOL_INT  ? col->i[i] != col->i[j]
                                        : !(col->d[i] == col->d[j] ||
                                           (isnan(col->d[i]) && isnan(col->d[j]))))
            return 0;
    }
    return 1;
}

const cx_rcolumn *cx_rb_group_column(const cx_rtable *t)
{
    const cx_rcolumn *g = cx_rb_column(t, "group", CX_RCOL_INT);
    return g ? g : cx_rb_column(t, "group", CX_RCOL_DOUBLE);
}

const char *cx_rb_group_label(const cx_result *r, long long g)
{
    const cx_rtable *t = cx_result_find_table(r, "groups");
    const cx_rcolumn *num = cx_rb_group_column(t);
    const cx_rcolumn *label = cx_rb_column(t, "label", CX_RCOL_STRING);
    for (size_t i = 0; num && label && i < t->nrows; i++)
        if (cx_rb_number(num, i) == (double)g)
            return cx_rb_string(label, i);
    return NULL;
}

static const char *const section_titles[CX_RB_N_SECTIONS] = {
    "Latent Variables", "Regressions", "Covariances",       "Intercepts",
    "Thresholds",       "Variances",   "Defined Parameters"};

int cx_rb_section(const char *lhs, const char *op, const char *rhs)
{
    static const char *const ops[CX_RB_N_SECTIONS] = {"=~", "~", "~~", "~1", "|", "~~", ":="};
    for (int k = 0; k < CX_RB_N_SECTIONS; k++)
        if (strcmp(op, ops[k]) == 0) {
            if (k == 2 && strcmp(lhs, rhs) == 0)
                return 5; /* x ~~ x is a variance */
            return k;
        }
    return -1;
}

const char *cx_rb_section_title(int section)
{
    return section >= 0 && section < CX_RB_N_SECTIONS ? section_titles[section] : "Other";
}

int cx_rb_headline_measure(const char *name)
{
    static const char *const headline[] = {
        "npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
        "chisq.scaling.factor", "cfi", "tli", "cfi.robust", "tli.robust", "logl", "aic", "bic",
        "ntotal", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.robust",
        "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr", "r2", "adj_r2", "rmse", NULL};
    for (size_t k = 0; headline[k]; k++)
        if (strcmp(name, headline[k]) == 0)
            return 1;
    return 0;
}

void cx_rb_job_method(const char *model, const char *spec, const cx_result *r, cx_rb_method *m)
{
    memset(m, 0, sizeof *m);
    int sem = model && (strcmp(model, "cfa") == 0 || strcmp(model, "sem") == 0 ||
                        strcmp(model, "growth") == 0);
    const char *attr = cx_rb_attr_string(r, "estimator");
    char value[64];
    if (attr && *attr)
        snprintf(value, sizeof value, "%s", attr);
    else
        cx_rb_spec_value(spec ? spec : "", "estimator", value, sizeof value);
    if (!*value && !sem)
        return;
    for (char *p = value; *p; p++) /* `estimator = mlr` is MLR */
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    snprintf(m->estimator, sizeof m->estimator, "%s", *value ? value : "ML");
    int robust = strcmp(m->estimator, "MLR") == 0, wlsmv = strcmp(m->estimator, "WLSMV") == 0;
    snprintf(m->se, sizeof m->se, "%s",
             robust ? "Robust.huber.white" : wlsmv ? "Robust.sem" : "Standard");
    snprintf(m->test, sizeof m->test, "%s",
             robust ? "Yuan-Bentler (Mplus variant)" : wlsmv ? "Scaled-shifted" : "Standard");
}
