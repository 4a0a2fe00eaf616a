/*
 * report_internal.h — what report.c (the page and its tables) and
 * report_families.c (the charts of each model family) share.
 */
#ifndef CX_REPORT_INTERNAL_H
#define CX_REPORT_INTERNAL_H

#include <stdio.h>

#include "readback.h"
#include "report.h"

/* Charts of one job's family; report.c calls it between the header and the
 * tables.  Each family is one function (report_families.c). */
typedef void (*report_charts_fn)(FILE *out, const cx_report_job *job, const cx_rb_by *by);

/* The family's charts, or NULL for a model without charts. */
report_charts_fn report_family_charts(const char *model);
/* Tables a family shows open (the others are folded in <details>). */
int report_table_open(const char *model, const char *table);

/* <figure><div class="chart">svg</div><figcaption>, written by the caller
 * only when the chart drew something (the chart goes to a buffer first). */
typedef size_t (*report_chart_cb)(FILE *out, const void *arg);
void report_figure(FILE *out, const char *caption, report_chart_cb draw, const void *arg);
/* A short note paragraph (escaped). */
void report_note(FILE *out, const char *text);

/* Rows of `t` in `by` level of row `first`, as a new table (caller frees
 * with cx_result_free on *holder); NULL when out of memory. */
const cx_rtable *report_level_slice(const cx_rtable *t, const cx_rb_by *by, size_t first,
                                    cx_result **holder);

#define REPORT_MAX_LEVELS 12 /* charts per `by` level, at most */

#endif
