/*
 * report_chart_util.h — what the chart files (report_charts.c,
 * report_path.c) share: the estimates columns the structural charts read,
 * checked by type once, and numbers for tooltips.
 */
#ifndef CX_REPORT_CHART_UTIL_H
#define CX_REPORT_CHART_UTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "readback.h"

/* The estimates columns the structural charts need, checked once. */
typedef struct est_cols {
    const cx_rcolumn *lhs, *op, *rhs, *group, *std_all, *est, *lo, *hi;
} est_cols;

static inline int est_columns(const cx_rtable *t, est_cols *c)
{
    c->lhs = cx_rb_column(t, "lhs", CX_RCOL_STRING);
    c->op = cx_rb_column(t, "op", CX_RCOL_STRING);
    c->rhs = cx_rb_column(t, "rhs", CX_RCOL_STRING);
    c->group = cx_rb_group_column(t);
    c->std_all = cx_rb_column(t, "std_all", CX_RCOL_DOUBLE);
    c->est = cx_rb_column(t, "est", CX_RCOL_DOUBLE);
    c->lo = cx_rb_column(t, "ci_lower", CX_RCOL_DOUBLE);
    c->hi = cx_rb_column(t, "ci_upper", CX_RCOL_DOUBLE);
    return c->lhs && c->op && c->rhs;
}

static inline int row_is(const est_cols *c, size_t i, const char *op, long long group)
{
    if (c->group && cx_rb_number(c->group, i) != (double)group)
        return 0;
    return strcmp(cx_rb_string(c->op, i), op) == 0;
}

static inline double std_value(const est_cols *c, size_t i)
{
    return c->std_all ? c->std_all->d[i] : NAN;
}

/* A number for a tooltip: "NA" when not finite. */
static inline const char *num_text(double v, int decimals, char buf[32])
{
    if (isfinite(v))
        snprintf(buf, 32, "%.*f", decimals, v);
    else
        snprintf(buf, 32, "NA");
    return buf;
}

#endif
