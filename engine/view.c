/*
 * view.c — the rows of a table that a job sees (see view.h).
 *
 * Everything goes through one routine, view_read_block(): read one block
 * of table rows for the requested columns plus whatever the filter, the
 * level restriction and the grouping need, in one cx_table_read_block
 * call, then keep the rows that pass and give each its group level.
 * Levels are the distinct tuples of the grouping columns, sorted, found
 * by one scan in cx_view_set_groups and looked up by binary search.
 * A plain view (no filter, groups or restriction) skips all of that and
 * reads each block straight into the caller's buffer: the copy through
 * scratch was a third of a covariance pass (bench/bench_cov).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "filter_eval.h"
#include "view.h"

void cx_view_init(cx_view *v, cx_table *t, const cx_filter *where)
{
    memset(v, 0, sizeof *v);
    v->table = t;
    v->where = where;
    v->n_levels = 1;
    v->only_level = -1;
}

void cx_view_free(cx_view *v)
{
    free(v->level_values);
    v->level_values = NULL;
    v->n_group_cols = 0;
    v->n_levels = 1;
}

size_t cx_view_block_rows(const cx_view *v)
{
    size_t n = cx_table_nrows(v->table);
    return n == 0 ? 1 : n < CX_BLOCK_ROWS ? n : CX_BLOCK_ROWS;
}

size_t cx_view_n_blocks(const cx_view *v)
{
    size_t n = cx_table_nrows(v->table);
    return (n + CX_BLOCK_ROWS - 1) / CX_BLOCK_ROWS;
}

_Static_assert(sizeof(size_t) <= sizeof(double), "row marks are stored in a scratch column");

size_t cx_view_scratch_cols(const cx_view *v, size_t ncols)
{
    size_t filter_cols = v->where ? filter_n_columns(v->where) : 0;
    /* + 1: the row marks of view_read_block (a size_t fits in a double) */
    return ncols + filter_cols + v->n_group_cols + v->n_restrict + 1;
}

/* Lexicographic order of two level tuples. */
static int compare_tuples(const double *a, const double *b, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        if (a[j] < b[j])
            return -1;
        if (a[j] > b[j])
            return 1;
    }
    return 0;
}

/* Index of `tuple` among the sorted levels, or where it would go (as a
 * negative number -(pos+1)) when absent. */
static long find_level(const double *levels, size_t n_levels, size_t k, const double *tuple)
{
    size_t lo = 0, hi = n_levels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_tuples(levels + mid * k, tuple, k);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* Where each part of the read sits among the scratch columns. */
typedef struct read_plan {
    int *cols; /* table columns to read, in scratch order */
    size_t n_cols;
    size_t filter_at, group_at, restrict_at;
    size_t n_filter;
    size_t ld; /* rows per scratch column: cx_view_block_rows */
} read_plan;

static int plan_read(const cx_view *v, const int *cols, size_t ncols, size_t n_group_cols,
                     read_plan *plan, cx_error *err)
{
    plan->ld = cx_view_block_rows(v);
    plan->n_filter = v->where ? filter_n_columns(v->where) : 0;
    plan->n_cols = ncols + plan->n_filter + n_group_cols + v->n_restrict;
    plan->cols = cx_calloc(plan->n_cols ? plan->n_cols : 1, sizeof *plan->cols, err);
    if (!plan->cols)
        return CX_ENOMEM;
    size_t at = 0;
    for (size_t j = 0; j < ncols; j++)
        plan->cols[at++] = cols[j];
    plan->filter_at = at;
    for (size_t j = 0; j < plan->n_filter; j++)
        plan->cols[at++] = filter_column(v->where, j);
    plan->group_at = at;
    for (size_t j = 0; j < n_group_cols; j++)
        plan->cols[at++] = v->group_cols[j];
    plan->restrict_at = at;
    for (size_t j = 0; j < v->n_restrict; j++)
        plan->cols[at++] = v->restrict_cols[j];
    return CX_OK;
}

/* Does row i (of a scratch block) pass the restriction and the filter? */
static int row_passes(const cx_view *v, const read_plan *plan, const double *scratch, size_t i,
                      double *filter_values)
{
    for (size_t j = 0; j < v->n_restrict; j++)
        if (scratch[(plan->restrict_at + j) * plan->ld + i] != v->restrict_values[j])
            return 0;
    if (!v->where)
        return 1;
    for (size_t j = 0; j < plan->n_filter; j++)
        filter_values[j] = scratch[(plan->filter_at + j) * plan->ld + i];
    return filter_matches(v->where, filter_values);
}

/* The level of row i, or -1 when its group values are missing (or, while
 * levels are being discovered, when it is not yet known). */
static long row_level(const cx_view *v, const read_plan *plan, const double *scratch, size_t i)
{
    if (v->n_group_cols == 0)
        return 0;
    double tuple[CX_MAX_GROUP_COLS];
    for (size_t j = 0; j < v->n_group_cols; j++) {
        tuple[j] = scratch[(plan->group_at + j) * plan->ld + i];
        if (isnan(tuple[j]))
            return -1;
    }
    long l = find_level(v->level_values, v->n_levels, v->n_group_cols, tuple);
    return l >= 0 ? l : -1;
}

/* Does every row of the table reach the caller as it is?  Then a block is
 * read straight into the caller's buffer: no scratch, no copy. */
static int view_is_plain(const cx_view *v)
{
    return !v->where && v->n_group_cols == 0 && v->n_restrict == 0;
}

int cx_view_is_plain(const cx_view *v)
{
    return view_is_plain(v);
}

/* Row i's group tuple equals row i - 1's: tables are usually stored in
 * runs of one level (a firm's wave), so the binary search is skipped for
 * most rows. */
static int same_tuple_as_previous(const cx_view *v, const read_plan *plan, const double *scratch,
                                  size_t i)
{
    for (size_t j = 0; j < v->n_group_cols; j++) {
        const double *col = scratch + (plan->group_at + j) * plan->ld;
        if (!(col[i] == col[i - 1])) /* NaN never equals: looked up (and dropped) */
            return 0;
    }
    return 1;
}

/* Decide, row by row, which rows of a scratch block are kept and at which
 * level; returns the count.  keep[i] is the level + 1 of row i, 0 when
 * the row is dropped. */
static size_t mark_rows(const cx_view *v, const read_plan *plan, const double *scratch, size_t n,
                        double *fv, size_t *keep)
{
    size_t kept = 0;
    long prev = -2; /* level of the previous row's tuple; -2: none yet */
    for (size_t i = 0; i < n; i++) {
        long level = -1;
        if (row_passes(v, plan, scratch, i, fv)) {
            if (prev < -1 || !same_tuple_as_previous(v, plan, scratch, i))
                prev = row_level(v, plan, scratch, i);
            level = prev;
        } else {
            prev = -2; /* row i's tuple was not looked up */
        }
        keep[i] = (size_t)(level + 1);
        kept += level >= 0;
    }
    return kept;
}

/* Grouped delivery: turn keep[] (level + 1, 0 = dropped) into each kept
 * row's position in the block grouped by level (stable within a level),
 * stored as position + 1 in keep[]; start[0..n_levels] gets the offsets. */
static void group_positions(size_t n, size_t n_levels, size_t *keep, size_t *start)
{
    memset(start, 0, (n_levels + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            start[keep[i]]++; /* start[l + 1] counts level l */
    for (size_t l = 0; l < n_levels; l++)
        start[l + 1] += start[l];
    /* start[l] is now the next free position of level l */
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            size_t l = keep[i] - 1;
            keep[i] = ++start[l]; /* position + 1 */
        }
    /* start[l] moved to the end of level l = the start of level l + 1 */
    memmove(start + 1, start, n_levels * sizeof *start);
    start[0] = 0;
}

/* Scatter the kept rows to their grouped positions (keep[i] - 1), one
 * column at a time, with their levels and table row numbers. */
static void scatter_rows(const double *scratch, size_t n, size_t ld, size_t ncols,
                         const size_t *pos, const size_t *level_plus1, double *out,
                         size_t *level_of_row, size_t row0, size_t *row_index)
{
    for (size_t j = 0; j < ncols; j++) {
        const double *src = scratch + j * ld;
        double *dst = out + j * ld;
        for (size_t i = 0; i < n; i++)
            if (pos[i])
                dst[pos[i] - 1] = src[i];
    }
    for (size_t i = 0; i < n; i++)
        if (pos[i]) {
            level_of_row[pos[i] - 1] = level_plus1[i] - 1;
            row_index[pos[i] - 1] = row0 + i;
        }
}

/* Move the kept rows of the requested columns into `out`, one column at a
 * time: each pass streams through one scratch column instead of striding
 * across all of them for every row. */
static void compact_rows(const double *scratch, size_t n, size_t ld, size_t ncols,
                         const size_t *keep, double *out, size_t *level_of_row, size_t row0,
                         size_t *row_index)
{
    for (size_t i = 0, at = 0; row_index && i < n; i++)
        if (keep[i])
            row_index[at++] = row0 + i;
    for (size_t j = 0; j < ncols; j++) {
        const double *src = scratch + j * ld;
        double *dst = out + j * ld;
        for (size_t i = 0, at = 0; i < n; i++)
            if (keep[i])
                dst[at++] = src[i];
    }
    for (size_t i = 0, at = 0; level_of_row && i < n; i++)
        if (keep[i])
            level_of_row[at++] = keep[i] - 1;
}

/* Read block `block` and keep the rows that pass; the heart of the view.
 * The scratch holds the block's columns, then ld size_t marks
 * (cx_view_scratch_cols counts a column for them); ld is
 * cx_view_block_rows, for `out` too. */
static long view_read_block(const cx_view *v, size_t block, const int *cols, size_t ncols,
                            double *out, size_t *level_of_row, size_t *row_index, double *scratch,
                            cx_error *err)
{
    size_t nrows = cx_table_nrows(v->table);
    size_t row0 = block * CX_BLOCK_ROWS, ld = cx_view_block_rows(v);
    size_t relative = v->n_relative < ncols ? v->n_relative : ncols;
    if (row0 >= nrows)
        return 0;
    size_t n = nrows - row0 < CX_BLOCK_ROWS ? nrows - row0 : CX_BLOCK_ROWS;
    if (view_is_plain(v)) {
        if (cx_table_read_block_relative(v->table, cols, ncols, relative, row0, n, out, ld, err) !=
            CX_OK)
            return -1;
        if (level_of_row)
            memset(level_of_row, 0, n * sizeof *level_of_row);
        for (size_t i = 0; row_index && i < n; i++)
            row_index[i] = row0 + i;
        return (long)n;
    }
    read_plan plan;
    if (plan_read(v, cols, ncols, v->n_group_cols, &plan, err))
        return -1;
    double filter_values[64];
    double *fv = plan.n_filter > 64 ? malloc(plan.n_filter * sizeof *fv) : filter_values;
    size_t *keep = (size_t *)(scratch + plan.n_cols * ld);
    long kept = -1;
    if (fv && cx_table_read_block_relative(v->table, plan.cols, plan.n_cols, relative, row0, n,
                                           scratch, ld, err) == CX_OK) {
        kept = (long)mark_rows(v, &plan, scratch, n, fv, keep);
        compact_rows(scratch, n, ld, ncols, keep, out, level_of_row, row0, row_index);
    } else if (!fv) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    if (fv != filter_values)
        free(fv);
    free(plan.cols);
    return kept;
}

long cx_view_read_block_grouped(const cx_view *v, size_t block, const int *cols, size_t ncols,
                                double *out, size_t *level_of_row, size_t *row_index, size_t *start,
                                double *scratch, cx_error *err)
{
    size_t n_levels = v->n_levels ? v->n_levels : 1;
    if (view_is_plain(v)) { /* one level, nothing to regroup */
        long got =
            view_read_block(v, block, cols, ncols, out, level_of_row, row_index, scratch, err);
        start[0] = 0;
        for (size_t l = 1; l <= n_levels; l++)
            start[l] = got > 0 ? (size_t)got : 0;
        return got;
    }
    size_t nrows = cx_table_nrows(v->table);
    size_t row0 = block * CX_BLOCK_ROWS, ld = cx_view_block_rows(v);
    size_t relative = v->n_relative < ncols ? v->n_relative : ncols;
    memset(start, 0, (n_levels + 1) * sizeof *start);
    if (row0 >= nrows)
        return 0;
    size_t n = nrows - row0 < CX_BLOCK_ROWS ? nrows - row0 : CX_BLOCK_ROWS;
    read_plan plan;
    if (plan_read(v, cols, ncols, v->n_group_cols, &plan, err))
        return -1;
    double filter_values[64];
    double *fv = plan.n_filter > 64 ? malloc(plan.n_filter * sizeof *fv) : filter_values;
    /* two mark columns: the levels, then the grouped positions */
    size_t *keep = (size_t *)(scratch + plan.n_cols * ld), *pos = keep + ld;
    long kept = -1;
    if (fv && cx_table_read_block_relative(v->table, plan.cols, plan.n_cols, relative, row0, n,
                                           scratch, ld, err) == CX_OK) {
        kept = (long)mark_rows(v, &plan, scratch, n, fv, keep);
        memcpy(pos, keep, n * sizeof *pos);
        group_positions(n, n_levels, pos, start);
        scatter_rows(scratch, n, ld, ncols, pos, keep, out, level_of_row, row0, row_index);
    } else if (!fv) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    if (fv != filter_values)
        free(fv);
    free(plan.cols);
    return kept;
}

long cx_view_read_block(const cx_view *v, size_t block, const int *cols, size_t ncols, double *out,
                        size_t *level_of_row, double *scratch, cx_error *err)
{
    return view_read_block(v, block, cols, ncols, out, level_of_row, NULL, scratch, err);
}

long cx_view_read_block_rows(const cx_view *v, size_t block, const int *cols, size_t ncols,
                             double *out, size_t *level_of_row, size_t *row_index, double *scratch,
                             cx_error *err)
{
    return view_read_block(v, block, cols, ncols, out, level_of_row, row_index, scratch, err);
}

size_t cx_view_table_row(const cx_view *v, size_t block, size_t ncols, const double *scratch,
                         size_t kept)
{
    size_t row0 = block * CX_BLOCK_ROWS, nrows = cx_table_nrows(v->table);
    if (view_is_plain(v) || row0 >= nrows)
        return row0 + kept;
    size_t ld = cx_view_block_rows(v), n = nrows - row0 < ld ? nrows - row0 : ld;
    const size_t *keep = (const size_t *)(scratch + (cx_view_scratch_cols(v, ncols) - 1) * ld);
    for (size_t i = 0, seen = 0; i < n; i++)
        if (keep[i] && seen++ == kept)
            return row0 + i;
    return row0 + kept; /* not reached for a row that was delivered */
}

size_t cx_view_iter_row(const cx_view_iter *it, size_t kept)
{
    size_t block = it->next_row ? it->next_row - 1 : 0;
    return cx_view_table_row(it->view, block, it->n_read_cols, it->scratch, kept);
}

/* ---- groups ------------------------------------------------------------- */

/* Levels are collected as tuples padded to CX_MAX_GROUP_COLS doubles (the
 * unused slots 0), so one qsort comparator serves any number of columns.
 * Each block's tuples are sorted and merged into the sorted set: O(rows
 * log rows) in all, and the set never holds more than CX_MAX_LEVELS + one
 * block's tuples, so a float column with a million distinct values is
 * refused after reading the rows that prove it, not after 5 GB. */
#define PAD CX_MAX_GROUP_COLS

typedef struct level_set {
    double *values; /* n x PAD, sorted, distinct */
    size_t n, k;
} level_set;

static int compare_padded(const void *a, const void *b)
{
    return compare_tuples(a, b, PAD);
}

/* Sort and de-duplicate n padded tuples in place; returns the count left. */
static size_t sort_unique(double *t, size_t n)
{
    if (n == 0)
        return 0;
    qsort(t, n, PAD * sizeof *t, compare_padded);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (compare_tuples(t + i * PAD, t + (m - 1) * PAD, PAD) != 0)
            memmove(t + m++ * PAD, t + i * PAD, PAD * sizeof *t);
    return m;
}

/* set = set U block (both sorted, distinct); `out` has room for both. */
static void merge_levels_into(level_set *s, const double *block, size_t nb, double *out)
{
    size_t i = 0, j = 0, m = 0;
    while (i < s->n || j < nb) {
        int c = i == s->n ? 1
                : j == nb ? -1
                          : compare_tuples(s->values + i * PAD, block + j * PAD, PAD);
        const double *src = c <= 0 ? s->values + i++ * PAD : block + j * PAD;
        if (c >= 0)
            j++;
        memcpy(out + m++ * PAD, src, PAD * sizeof *out);
    }
    s->n = m;
}

static int too_many_levels(const cx_view *v, const int *cols, size_t k, size_t found, size_t rows,
                           cx_error *err)
{
    char names[CX_MAX_GROUP_COLS * (CX_NAME_MAX + 3)] = "";
    for (size_t j = 0; j < k; j++) {
        const cx_column_info *c = cx_table_column(v->table, (size_t)cols[j]);
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", j ? ", " : "",
                 c ? c->name : "?");
    }
    return cx_error_set(err, CX_EUSAGE,
                        "grouping column%s %s of table %s: %zu distinct levels in the first %zu "
                        "rows, over the limit of %d (each level is a separate fit with its own "
                        "result rows); group on a column with fewer values",
                        k > 1 ? "s" : "", names, cx_table_label(v->table), found, rows,
                        CX_MAX_LEVELS);
}

/* Collect the distinct tuples of the grouping columns over the view's rows. */
static int collect_levels(const cx_view *v, const int *cols, size_t k, level_set *set,
                          cx_error *err)
{
    cx_view plain = *v; /* rows of v, not yet grouped */
    plain.n_group_cols = 0;
    plain.n_levels = 1;
    plain.n_relative = 0;
    size_t ld = cx_view_block_rows(&plain);
    double *out = cx_malloc_block_buffer(ld * k * sizeof *out, err);
    double *scratch =
        cx_malloc_block_buffer(ld * cx_view_scratch_cols(&plain, k) * sizeof *scratch, err);
    double *tuples = cx_malloc(ld * PAD * sizeof *tuples, err);
    double *merged = cx_malloc((CX_MAX_LEVELS + ld) * PAD * sizeof *merged, err);
    set->values = cx_malloc((CX_MAX_LEVELS + ld) * PAD * sizeof *set->values, err);
    int rc = out && scratch && tuples && merged && set->values
                 ? CX_OK
                 : cx_error_set(err, CX_ENOMEM, "out of memory");
    size_t rows_read = 0;
    for (size_t b = 0; rc == CX_OK && b < cx_view_n_blocks(&plain); b++) {
        long n = view_read_block(&plain, b, cols, k, out, NULL, NULL, scratch, err);
        if (n < 0) {
            rc = err->code ? err->code : CX_EIO;
            break;
        }
        size_t nt = 0;
        for (long i = 0; i < n; i++) {
            double *t = tuples + nt * PAD;
            int missing = 0;
            memset(t, 0, PAD * sizeof *t);
            for (size_t j = 0; j < k; j++) {
                t[j] = out[j * ld + (size_t)i];
                missing |= isnan(t[j]);
            }
            /* consecutive rows usually share their group, and most rows
             * belong to a level already known: only new tuples are sorted */
            if (!missing && !(nt > 0 && compare_tuples(t, t - PAD, PAD) == 0) &&
                find_level(set->values, set->n, PAD, t) < 0)
                nt++;
        }
        nt = sort_unique(tuples, nt);
        merge_levels_into(set, tuples, nt, merged);
        double *swap = set->values;
        set->values = merged;
        merged = swap;
        rows_read = b * CX_BLOCK_ROWS + (b + 1 < cx_view_n_blocks(&plain)
                                             ? CX_BLOCK_ROWS
                                             : cx_table_nrows(v->table) - b * CX_BLOCK_ROWS);
        if (set->n > CX_MAX_LEVELS)
            rc = too_many_levels(v, cols, k, set->n, rows_read, err);
    }
    /* Unpad: level_values is n x k. */
    for (size_t l = 0; rc == CX_OK && l < set->n; l++)
        memmove(set->values + l * k, set->values + l * PAD, k * sizeof *set->values);
    free(out);
    free(scratch);
    free(tuples);
    free(merged);
    return rc;
}

int cx_view_set_groups(cx_view *v, const int *cols, size_t ncols, cx_error *err)
{
    if (ncols > CX_MAX_GROUP_COLS)
        return cx_error_set(err, CX_EUSAGE, "at most %d grouping columns, got %zu",
                            CX_MAX_GROUP_COLS, ncols);
    level_set set = {.k = ncols};
    int rc = ncols ? collect_levels(v, cols, ncols, &set, err) : CX_OK;
    if (rc) {
        free(set.values);
        return rc;
    }
    if (ncols) { /* give back the room the padded merge needed */
        double *fit = realloc(set.values, (set.n ? set.n : 1) * ncols * sizeof *fit);
        if (fit)
            set.values = fit;
    }
    /* Not freed: the view may be a copy sharing its original's levels. */
    v->level_values = set.values;
    v->n_group_cols = ncols;
    memcpy(v->group_cols, cols, ncols * sizeof *cols);
    v->n_levels = ncols ? set.n : 1;
    return CX_OK;
}

cx_view cx_view_restrict_level(const cx_view *v, size_t level)
{
    cx_view r = *v;
    for (size_t j = 0; j < v->n_group_cols && r.n_restrict < CX_MAX_GROUP_COLS; j++) {
        r.restrict_cols[r.n_restrict] = v->group_cols[j];
        r.restrict_values[r.n_restrict] = v->level_values[level * v->n_group_cols + j];
        r.n_restrict++;
    }
    r.n_group_cols = 0;
    r.n_levels = 1;
    r.level_values = NULL;
    r.only_level = (long)level;
    return r;
}

/* ---- sequential iteration ---------------------------------------------------- */

int cx_view_iter_begin(cx_view_iter *it, const cx_view *v, const int *cols, size_t ncols,
                       cx_error *err)
{
    memset(it, 0, sizeof *it);
    it->view = v;
    it->read_cols = cx_calloc(ncols ? ncols : 1, sizeof *it->read_cols, err);
    it->scratch = cx_malloc_block_buffer(
        cx_view_block_rows(v) * cx_view_scratch_cols(v, ncols) * sizeof *it->scratch, err);
    if (!it->read_cols || !it->scratch) {
        cx_view_iter_end(it);
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    memcpy(it->read_cols, cols, ncols * sizeof *cols);
    it->n_read_cols = ncols;
    return CX_OK;
}

long cx_view_iter_next(cx_view_iter *it, double *out, size_t *level_of_row, cx_error *err)
{
    size_t n_blocks = cx_view_n_blocks(it->view);
    while (it->next_row < n_blocks) {
        long n = view_read_block(it->view, it->next_row++, it->read_cols, it->n_read_cols, out,
                                 level_of_row, NULL, it->scratch, err);
        if (n != 0)
            return n;
    }
    return 0;
}

void cx_view_iter_end(cx_view_iter *it)
{
    free(it->read_cols);
    free(it->scratch);
    it->read_cols = NULL;
    it->scratch = NULL;
}

/* ---- whole-view loading ------------------------------------------------------ */

static int grow_loaded(double **data, size_t **levels, size_t ncols, size_t *capacity, size_t need,
                       cx_error *err)
{
    if (need <= *capacity)
        return CX_OK;
    size_t cap = *capacity ? *capacity : need;
    while (cap < need)
        cap *= 2;
    double *d = realloc(*data, cap * (ncols ? ncols : 1) * sizeof *d);
    if (!d)
        return cx_error_set(err, CX_ENOMEM, "out of memory loading %zu rows", need);
    *data = d;
    if (levels) {
        size_t *l = realloc(*levels, cap * sizeof *l);
        if (!l)
            return cx_error_set(err, CX_ENOMEM, "out of memory loading %zu rows", need);
        *levels = l;
    }
    /* Columns are stored with ld = capacity: move them to their new place,
     * last first so nothing is overwritten before it moves. */
    for (size_t j = ncols; j-- > 1;)
        memmove(d + j * cap, d + j * *capacity, *capacity * sizeof *d);
    *capacity = cap;
    return CX_OK;
}

int cx_view_load(const cx_view *v, const int *cols, size_t ncols, double **out, size_t *n,
                 size_t **levels, cx_error *err)
{
    *out = NULL;
    *n = 0;
    if (levels)
        *levels = NULL;
    cx_view_iter it;
    if (cx_view_iter_begin(&it, v, cols, ncols, err))
        return err->code;
    size_t ld = cx_view_block_rows(v);
    double *block = cx_malloc_block_buffer(ld * (ncols ? ncols : 1) * sizeof *block, err);
    size_t *block_levels = malloc(ld * sizeof *block_levels);
    double *data = NULL;
    size_t *lv = NULL, capacity = 0, rows = 0;
    int rc = block && block_levels ? CX_OK : cx_error_set(err, CX_ENOMEM, "out of memory");
    long got = 0;
    while (rc == CX_OK && (got = cx_view_iter_next(&it, block, block_levels, err)) > 0) {
        rc = grow_loaded(&data, levels ? &lv : NULL, ncols, &capacity, rows + (size_t)got, err);
        for (size_t j = 0; rc == CX_OK && j < ncols; j++)
            memcpy(data + j * capacity + rows, block + j * ld, (size_t)got * sizeof *data);
        if (rc == CX_OK && levels)
            memcpy(lv + rows, block_levels, (size_t)got * sizeof *lv);
        rows += (size_t)got;
    }
    if (rc == CX_OK && got < 0)
        rc = err->code ? err->code : CX_EIO;
    /* Close up the columns to ld = rows, as promised. */
    for (size_t j = 1; rc == CX_OK && data && j < ncols; j++)
        memmove(data + j * rows, data + j * capacity, rows * sizeof *data);
    cx_view_iter_end(&it);
    free(block);
    free(block_levels);
    if (rc) {
        free(data);
        free(lv);
        return rc;
    }
    *out = data;
    *n = rows;
    if (levels)
        *levels = lv;
    return CX_OK;
}

/* ---- column names ---------------------------------------------------------------- */

int table_no_column(const cx_table *t, const char *name, cx_error *err)
{
    size_t nc = cx_table_ncols(t);
    const char **all = malloc((nc + 1) * sizeof *all);
    const char *hint = NULL;
    if (all) {
        for (size_t j = 0; j < nc; j++)
            all[j] = cx_table_column(t, j)->name;
        all[nc] = NULL;
        hint = cx_did_you_mean(name, all);
    }
    cx_error_set(err, CX_EUSAGE, "table %s has no column '%s'%s%s%s", cx_table_label(t), name,
                 hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    free(all);
    return CX_EUSAGE;
}

int cx_view_columns(const cx_view *v, char *const *names, size_t n, int *cols, cx_error *err)
{
    for (size_t i = 0; i < n; i++) {
        cols[i] = cx_table_find(v->table, names[i]);
        if (cols[i] >= 0) {
            const cx_column_info *c = cx_table_column(v->table, (size_t)cols[i]);
            if (c->kind == CX_COL_STRING)
                return cx_error_set(err, CX_EUSAGE,
                                    "column '%s' of table %s holds text, not numbers", names[i],
                                    cx_table_label(v->table));
            if (cx_table_check_numeric(v->table, (size_t)cols[i], err) != CX_OK)
                return CX_EUSAGE;
            continue;
        }
        return table_no_column(v->table, names[i], err);
    }
    return CX_OK;
}
