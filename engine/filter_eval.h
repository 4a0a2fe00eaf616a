/*
 * filter_eval.h — what the view needs to apply a parsed `where` filter
 * (engine-internal; models use view.h).
 */
#ifndef CX_FILTER_EVAL_H
#define CX_FILTER_EVAL_H

#include "view.h"

/* The table columns the filter reads, by slot 0..n-1. */
size_t filter_n_columns(const cx_filter *f);
int filter_column(const cx_filter *f, size_t slot);
/* 1 when a row whose filter columns hold `values` (by slot) passes. */
int filter_matches(const cx_filter *f, const double *values);

/* Error for a column `name` that table `t` lacks, with a did-you-mean
 * hint; returns CX_EUSAGE.  (view.c) */
int table_no_column(const cx_table *t, const char *name, cx_error *err);

#endif
