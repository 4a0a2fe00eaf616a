/*
 * derived.h — tables that come from other tables, and results that come
 * from several fits.
 *
 * - table_cache: data tables opened once per run and shared by jobs.
 * - table_from_result: `table = @job/TABLE` reads a table an earlier job
 *   wrote (e.g. the firm x wave NPS table of an `nps` job with `by`),
 *   as an in-memory table: numbers stay numbers, strings become
 *   categorical columns (labels sorted, as R's factor()).
 * - table_join: `join = FILE:/group` (or `/group` in the job's file, or
 *   `@job/TABLE`) with `join_on = firm wave` adds the joined table's other
 *   columns to every row whose key columns match (a left join; keys of
 *   categorical columns match by label, numbers by value).
 * - table_wide (derived_wide.c): `wide = ID TIME` (optional
 *   `wide_columns = ...`) makes long data wide: one row per ID, a column
 *   `<col>_w<time>` per column and time value (for a longitudinal CFA).
 * - merge_levels: a `by` job's per-level results become one result whose
 *   tables start with the `by` columns.
 */
#ifndef CX_DERIVED_H
#define CX_DERIVED_H

#include "config.h"
#include "result.h"
#include "view.h"

typedef struct table_cache table_cache;

table_cache *table_cache_alloc(cx_error *err);
/* The open table `group` of `file` (opened on first use; owned by cache). */
cx_table *table_cache_open(table_cache *c, const char *file, const char *group, cx_error *err);
/* A stage starts: every open table's block cache is emptied (its
 * decoded blocks serve the jobs of one stage; table_blocks.h) and kept
 * for the new stage only when `shared` (the stage has several jobs that
 * may read the same blocks); report: say on stderr how many column
 * blocks the last stage decoded and reused. */
void table_cache_new_stage(table_cache *c, int report, int shared);
void table_cache_free(table_cache *c);

/* `ref` is "@job/TABLE"; the result is a new table the caller closes. */
cx_table *table_from_result(const cx_result *r, const char *ref, cx_error *err);
/* Convert one result table (a helper of table_from_result, used by tests). */
cx_table *table_from_rtable(const cx_rtable *t, const char *label, cx_error *err);

/* Left-join the table named by the section's `join` key on `join_on`;
 * returns a new in-memory table (the caller closes it and `left` stays). */
cx_table *table_join(table_cache *cache, const cx_config *config, const cx_config_section *s,
                     cx_table *left, cx_error *err);
/* The file the section's `join` reads (resolved like every config path),
 * and the group in it; NULL when there is no join or no file for it.  The
 * caller frees the path. */
char *table_join_file(const cx_config *config, const cx_config_section *s, const char **group);

/* The section's `wide = ID TIME` view of `long_t`: the rows the section's
 * `where` selects, one row per distinct ID (ascending), the ID column and
 * then, for every `wide_columns` column c (default: all other numeric
 * columns) and time value t (ascending), a column c_w<t> (c_<label> for a
 * categorical time column), missing where the ID has no row at t.  Two
 * rows for one ID and time are refused.  A new table the caller closes. */
cx_table *table_wide(const cx_config *config, const cx_config_section *s, cx_table *long_t,
                     cx_error *err);

/* One result from per-level results; `by` are the grouping column names of
 * `view` (whose level values label the rows). */
cx_result *merge_levels(cx_result *const *results, size_t n_levels, const cx_view *view,
                        char *const *by, cx_error *err);

#endif
