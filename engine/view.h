/*
 * view.h — the rows of a table that a job sees.
 *
 * A view is a table plus an optional row filter (`where = wave >= 3 and
 * segment == 1`) plus an optional grouping (the `by` columns of a job, or
 * the `group` column of a multi-group CFA).  Models never touch the table
 * directly: they iterate blocks of the view or ask for sufficient
 * statistics (stats.h) computed from it in one streaming pass.
 *
 * Groups: cx_view_set_groups() scans the grouping columns once and finds
 * the distinct level tuples (sorted ascending, missing values dropped);
 * afterwards every row delivered by the iterator carries its level index
 * 0..n_levels-1.  cx_view_restrict_level() makes a view deliver only the
 * rows of one level (how the engine runs one fit per `by` level).
 */
#ifndef CX_VIEW_H
#define CX_VIEW_H

#include "table.h"

#define CX_MAX_GROUP_COLS 8
/* Most distinct levels (tuples) grouping columns may have: each `by`
 * level is a separate fit and its own block of result rows, so a float
 * column with a million distinct values (50 s, 5 GB, a 296 MB results
 * file) is refused with the count found, once it is over the limit. */
#define CX_MAX_LEVELS 100000

typedef struct cx_filter cx_filter; /* a parsed `where` expression */

/* Parse a `where` expression against `t`'s columns: comparisons
 * (== != < <= > >=) of a column with a number (or a categorical column
 * with a quoted label), joined by `and` / `or`, with parentheses.
 * Errors name the offending token and the expected thing. */
cx_filter *cx_filter_parse(const char *text, const cx_table *t, cx_error *err);
void cx_filter_free(cx_filter *f);

typedef struct cx_view {
    cx_table *table;        /* not owned                                   */
    const cx_filter *where; /* NULL = all rows; not owned                  */
    size_t n_group_cols;    /* 0 = one group                               */
    int group_cols[CX_MAX_GROUP_COLS];
    size_t n_levels;      /* number of distinct group tuples (>= 1)      */
    double *level_values; /* n_levels x n_group_cols, row-major, owned   */
    long only_level;      /* -1: all rows; else the level this view was
                             restricted to (for messages)              */
    /* Rows must also match these values (set by cx_view_restrict_level, so
     * a restricted view can be grouped again, e.g. by a CFA's `group`). */
    size_t n_restrict;
    int restrict_cols[CX_MAX_GROUP_COLS];
    double restrict_values[CX_MAX_GROUP_COLS];
    /* The first n_relative requested columns are delivered relative to
     * their origin (cx_table_read_block_relative): set on a copy by
     * statistics that add the origin back (stats.c, describe.c).  Filter,
     * grouping and restriction columns are always read as they are. */
    size_t n_relative;
} cx_view;

/* A view of all rows of `t`, one group. */
void cx_view_init(cx_view *v, cx_table *t, const cx_filter *where);
/* Define groups by columns; one pass over those columns (and the filter's). */
int cx_view_set_groups(cx_view *v, const int *cols, size_t ncols, cx_error *err);
/* A view that delivers only the rows of level `level` of `v`: it has no
 * groups of its own (n_levels == 1, every row level 0) and owns nothing,
 * so it may be grouped again with cx_view_set_groups (on a copy) and needs
 * no cx_view_free unless it was grouped.  Models that group a job's view
 * themselves copy it first: `cx_view g = *job->view;` then set_groups on g
 * and cx_view_free(&g). */
cx_view cx_view_restrict_level(const cx_view *v, size_t level);
void cx_view_free(cx_view *v);

/* Rows in one block as delivered: CX_BLOCK_ROWS, or the table's row count
 * when it is shorter (at least 1).  It is the leading dimension of every
 * block buffer below, so buffers for a 300-row table hold 300 rows, not
 * 65536 (describe of 5000 items on 300 rows took 3.2 GB before). */
size_t cx_view_block_rows(const cx_view *v);
/* 1 when every table row reaches the caller as it is, one level: no
 * filter, no groups, no restriction to a level (block b is table rows
 * [b * CX_BLOCK_ROWS, ...) exactly). */
int cx_view_is_plain(const cx_view *v);

/* Block iteration.  Each call fills `out` (column-major, ld = cx_view_block_rows(v))
 * with the next filtered rows of columns `cols` and `level_of_row` (may be
 * NULL) with each row's group level; returns the number of rows delivered
 * (0 at the end) or -1 on error.  Rows failing the filter, or whose group
 * columns are missing, are skipped. */
typedef struct cx_view_iter {
    const cx_view *view;
    size_t next_row; /* next table row to read                     */
    /* private scratch */
    int *read_cols;
    size_t n_read_cols;
    double *scratch;
} cx_view_iter;

int cx_view_iter_begin(cx_view_iter *it, const cx_view *v, const int *cols, size_t ncols,
                       cx_error *err);
long cx_view_iter_next(cx_view_iter *it, double *out, size_t *level_of_row, cx_error *err);
void cx_view_iter_end(cx_view_iter *it);

/* Thread-safe block access for parallel reducers: the view's rows are cut
 * into blocks of CX_BLOCK_ROWS *table* rows; block b covers table rows
 * [b*CX_BLOCK_ROWS, ...).  cx_view_read_block reads block b, filters it and
 * returns the number of rows kept.  `scratch` must hold
 * cx_view_block_rows(v) * cx_view_scratch_cols(v, ncols) doubles, `out`
 * cx_view_block_rows(v) * ncols (ld = cx_view_block_rows(v)). */
size_t cx_view_n_blocks(const cx_view *v);
size_t cx_view_scratch_cols(const cx_view *v, size_t ncols);
long cx_view_read_block(const cx_view *v, size_t block, const int *cols, size_t ncols, double *out,
                        size_t *level_of_row, double *scratch, cx_error *err);
/* The same, also giving the table row number of every kept row in
 * row_index (CX_BLOCK_ROWS entries): the key of per-row random draws
 * (bootstrap weights, folds), whatever the threads and filters. */
long cx_view_read_block_rows(const cx_view *v, size_t block, const int *cols, size_t ncols,
                             double *out, size_t *level_of_row, size_t *row_index, double *scratch,
                             cx_error *err);
/* The same rows grouped by level (stable: a level's rows keep their table
 * order), ready for reducers: level l's rows are [start[l], start[l+1])
 * (start: n_levels + 1 entries).  One copy from the table's block instead
 * of compacting and then regrouping; `scratch` must hold
 * cx_view_block_rows(v) * (cx_view_scratch_cols(v, ncols) + 1) doubles
 * (a second mark column).  level_of_row and row_index are required. */
long cx_view_read_block_grouped(const cx_view *v, size_t block, const int *cols, size_t ncols,
                                double *out, size_t *level_of_row, size_t *row_index, size_t *start,
                                double *scratch, cx_error *err);

/* For messages that name a row: the table row (0-based) of the `kept`-th
 * row (0-based) delivered by the last read of `block` into `scratch`
 * (cx_view_read_block with ncols columns), or by the iterator's last
 * cx_view_iter_next. */
size_t cx_view_table_row(const cx_view *v, size_t block, size_t ncols, const double *scratch,
                         size_t kept);
size_t cx_view_iter_row(const cx_view_iter *it, size_t kept);

/* Load every filtered row of `cols` into memory: *out is n x ncols,
 * column-major (ld = n), *levels (optional) the level of each row.  For
 * models that need the data itself (regressions); sufficient-statistics
 * models use stats.h instead. */
int cx_view_load(const cx_view *v, const int *cols, size_t ncols, double **out, size_t *n,
                 size_t **levels, cx_error *err);

/* Resolve column names to indices; error names the missing column and
 * table, with a did-you-mean suggestion. */
int cx_view_columns(const cx_view *v, char *const *names, size_t n, int *cols, cx_error *err);

#endif
