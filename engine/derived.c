/*
 * derived.c — shared open tables, @job tables, joins and by-level merging
 * (see derived.h for what each is for).
 */
#include "derived.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cache of open tables --------------------------------------------- */

typedef struct cache_entry {
    char *file, *group;
    cx_table *table;
} cache_entry;

struct table_cache {
    cache_entry *entries;
    size_t n;
};

table_cache *table_cache_alloc(cx_error *err)
{
    return cx_calloc(1, sizeof(table_cache), err);
}

cx_table *table_cache_open(table_cache *c, const char *file, const char *group, cx_error *err)
{
    cx_table *found = NULL;
#pragma omp critical(cx_table_cache)
    {
        for (size_t i = 0; i < c->n && !found; i++)
            if (strcmp(c->entries[i].file, file) == 0 && strcmp(c->entries[i].group, group) == 0)
                found = c->entries[i].table;
        cache_entry *grown = found ? NULL : realloc(c->entries, (c->n + 1) * sizeof *grown);
        if (!found && !grown)
            cx_error_set(err, CX_ENOMEM, "out of memory");
        if (grown) {
            c->entries = grown;
            found = cx_table_open(file, group, err);
            if (found) {
                cache_entry *e = &c->entries[c->n++];
                e->file = strdup(file);
                e->group = strdup(group);
                e->table = found;
            }
        }
    }
    return found;
}

/* The block cache's budget: CXFIT_BLOCK_CACHE_MB, default 256 MB a table
 * (0 turns it off). */
static size_t block_budget(void)
{
    const char *mb = getenv("CXFIT_BLOCK_CACHE_MB");
    long v = mb ? atol(mb) : 256;
    return v > 0 ? (size_t)v << 20 : 0;
}

/* A stage of one job keeps no blocks: it reads each block once (the
 * iterative families keep their own design cache, rowpass.h), and copying
 * every block into fresh memory costs more than it saves — 1M x 20 OLS:
 * 0.34 s CPU with the block cache against 0.18 s without, 0.58 against
 * 0.35 s with the second pass of cluster SEs decoding every block again
 * (bench/README.md, bench_ols, 2026-12-02). */
void table_cache_new_stage(table_cache *c, int report, int shared)
{
    for (size_t i = 0; i < c->n; i++) {
        size_t decoded, reused;
        int cached = cx_table_block_stats(c->entries[i].table, &decoded, &reused);
        if (report)
            fprintf(stderr,
                    "cxfit: %s: %zu column blocks decoded, %zu reused from the cache%s; %zu chunks "
                    "inflated by hand since open\n",
                    cx_table_label(c->entries[i].table), decoded, reused,
                    cached ? "" : " (no cache)", cx_table_direct_chunk_reads(c->entries[i].table));
        cx_table_cache_blocks(c->entries[i].table, shared ? block_budget() : 0);
    }
}

void table_cache_free(table_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        cx_table_close(c->entries[i].table);
        free(c->entries[i].file);
        free(c->entries[i].group);
    }
    free(c->entries);
    free(c);
}

/* ---- result tables as input tables -------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A string column becomes a categorical column with sorted labels. */
static int add_string_column(cx_table *t, const cx_rcolumn *c, size_t n, cx_error *err)
{
    char **labels = cx_calloc(n, sizeof *labels, err);
    double *codes = cx_calloc(n, sizeof *codes, err);
    int rc = labels && codes ? CX_OK : CX_ENOMEM;
    size_t k = 0;
    if (rc == CX_OK) {
        for (size_t i = 0; i < n; i++)
            labels[i] = c->s[i] ? c->s[i] : "";
        qsort(labels, n, sizeof *labels, compare_strings);
        for (size_t i = 0; i < n; i++)
            if (k == 0 || strcmp(labels[k - 1], labels[i]) != 0)
                labels[k++] = labels[i];
        for (size_t i = 0; i < n; i++) {
            const char *v = c->s[i] ? c->s[i] : "";
            char **hit = bsearch(&v, labels, k, sizeof *labels, compare_strings);
            codes[i] = (double)(hit - labels);
        }
        rc = cx_table_memory_add_column(t, c->name, CX_COL_CATEGORICAL, codes, labels, k, err);
    }
    free(labels);
    free(codes);
    return rc;
}

cx_table *table_from_rtable(const cx_rtable *rt, const char *label, cx_error *err)
{
    cx_table *t = cx_table_memory_alloc(label, rt->nrows, err);
    double *values = t ? cx_calloc(rt->nrows, sizeof *values, err) : NULL;
    int rc = values ? CX_OK : CX_ENOMEM;
    for (size_t j = 0; j < rt->ncols && rc == CX_OK; j++) {
        const cx_rcolumn *c = &rt->cols[j];
        if (c->type == CX_RCOL_STRING) {
            rc = add_string_column(t, c, rt->nrows, err);
        } else if (c->type == CX_RCOL_INT) {
            for (size_t i = 0; i < rt->nrows; i++)
                values[i] = (double)c->i[i];
            rc = cx_table_memory_add_column(t, c->name, CX_COL_INT, values, NULL, 0, err);
        } else {
            rc = cx_table_memory_add_column(t, c->name, CX_COL_FLOAT, c->d, NULL, 0, err);
        }
    }
    free(values);
    if (rc != CX_OK) {
        cx_table_close(t);
        return NULL;
    }
    return t;
}

cx_table *table_from_result(const cx_result *r, const char *ref, cx_error *err)
{
    const char *name = strchr(ref, '/') + 1;
    const cx_rtable *rt = cx_result_find_table(r, name);
    if (!rt) {
        char have[512] = "";
        for (size_t i = 0; i < r->n_tables; i++) {
            size_t used = strlen(have);
            snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", r->tables[i]->name);
        }
        cx_error_set(err, CX_EUSAGE, "%s: that job wrote no table '%s' (it wrote: %s)", ref, name,
                     have[0] ? have : "none");
        return NULL;
    }
    return table_from_rtable(rt, ref, err);
}

/* ---- joins ------------------------------------------------------------------- */

/* Read every row of every numeric column of t (column-major, n x ncols). */
static double *read_whole_table(cx_table *t, int **cols, size_t *ncols, cx_error *err)
{
    size_t n = cx_table_nrows(t), p = 0;
    *cols = cx_calloc(cx_table_ncols(t), sizeof **cols, err);
    if (!*cols)
        return NULL;
    for (size_t j = 0; j < cx_table_ncols(t); j++)
        if (cx_table_column(t, j)->kind != CX_COL_STRING &&
            cx_table_column(t, j)->kind != CX_COL_UNUSABLE) /* not joined: see table.h */
            (*cols)[p++] = (int)j;
    *ncols = p;
    double *data = cx_calloc(n * p, sizeof *data, err);
    if (data && n && cx_table_read_block(t, *cols, p, 0, n, data, n, err) != CX_OK) {
        free(data);
        data = NULL;
    }
    return data;
}

/* A right-table key value expressed in the left table's terms: categorical
 * codes are matched through their labels. */
static double key_in_left_terms(const cx_column_info *left, const cx_column_info *right, double v)
{
    if (isnan(v) || left->kind != CX_COL_CATEGORICAL || right->kind != CX_COL_CATEGORICAL)
        return v;
    const char *label = right->categories[(size_t)v];
    for (size_t k = 0; k < left->n_categories; k++)
        if (strcmp(left->categories[k], label) == 0)
            return (double)k;
    return NAN;
}

typedef struct join_side {
    cx_table *table;
    double *data;
    int *cols;
    size_t ncols, nrows;
    int key_pos[CX_MAX_GROUP_COLS]; /* position of each key within cols */
} join_side;

static int key_positions(join_side *side, char *const *keys, size_t nkeys, const char *what,
                         cx_error *err)
{
    for (size_t k = 0; k < nkeys; k++) {
        int col = cx_table_find(side->table, keys[k]);
        side->key_pos[k] = -1;
        for (size_t j = 0; j < side->ncols && col >= 0; j++)
            if (side->cols[j] == col)
                side->key_pos[k] = (int)j;
        if (side->key_pos[k] < 0)
            return cx_error_set(err, CX_EUSAGE, "join_on: %s table %s has no column '%s'", what,
                                cx_table_label(side->table), keys[k]);
    }
    return CX_OK;
}

static long find_match(const join_side *l, size_t row, const join_side *r, const double *rkeys,
                       size_t nkeys)
{
    for (size_t i = 0; i < r->nrows; i++) {
        size_t k = 0;
        for (; k < nkeys; k++) {
            double lv = l->data[(size_t)l->key_pos[k] * l->nrows + row];
            if (isnan(lv) || lv != rkeys[k * r->nrows + i])
                break;
        }
        if (k == nkeys)
            return (long)i;
    }
    return -1;
}

static int copy_column(cx_table *out, const cx_column_info *info, const double *values,
                       cx_error *err)
{
    return cx_table_memory_add_column(out, info->name, info->kind, values, info->categories,
                                      info->n_categories, err);
}

static int build_joined(join_side *l, join_side *r, size_t nkeys, cx_table *out, cx_error *err)
{
    double *rkeys = cx_calloc(nkeys * (r->nrows ? r->nrows : 1), sizeof *rkeys, err);
    long *match = cx_calloc(l->nrows ? l->nrows : 1, sizeof *match, err);
    double *col = cx_calloc(l->nrows ? l->nrows : 1, sizeof *col, err);
    int rc = rkeys && match && col ? CX_OK : CX_ENOMEM;
    for (size_t k = 0; rc == CX_OK && k < nkeys; k++) {
        const cx_column_info *li = cx_table_column(l->table, (size_t)l->cols[l->key_pos[k]]);
        const cx_column_info *ri = cx_table_column(r->table, (size_t)r->cols[r->key_pos[k]]);
        for (size_t i = 0; i < r->nrows; i++)
            rkeys[k * r->nrows + i] =
                key_in_left_terms(li, ri, r->data[(size_t)r->key_pos[k] * r->nrows + i]);
    }
    for (size_t i = 0; rc == CX_OK && i < l->nrows; i++)
        match[i] = find_match(l, i, r, rkeys, nkeys);
    for (size_t j = 0; rc == CX_OK && j < l->ncols; j++)
        rc = copy_column(out, cx_table_column(l->table, (size_t)l->cols[j]), l->data + j * l->nrows,
                         err);
    for (size_t j = 0; rc == CX_OK && j < r->ncols; j++) {
        const cx_column_info *info = cx_table_column(r->table, (size_t)r->cols[j]);
        if (cx_table_find(l->table, info->name) >= 0)
            continue; /* keys and clashing names: the left table's value stays */
        for (size_t i = 0; i < l->nrows; i++)
            col[i] = match[i] >= 0 ? r->data[j * r->nrows + (size_t)match[i]] : NAN;
        rc = copy_column(out, info, col, err);
    }
    free(rkeys);
    free(match);
    free(col);
    return rc;
}

/* `join = FILE:/group` or `/group` (in the job's data file): the file. */
char *table_join_file(const cx_config *config, const cx_config_section *s, const char **group)
{
    const char *spec = cx_section_get(s, "join");
    if (!spec)
        return NULL;
    const char *colon = strchr(spec, ':');
    char file[4096];
    if (colon) {
        snprintf(file, sizeof file, "%.*s", (int)(colon - spec), spec);
        *group = colon + 1;
    } else {
        const char *f = cx_section_get(s, "file");
        if (!f)
            f = cx_section_get(config->data, "file");
        if (!f)
            return NULL;
        snprintf(file, sizeof file, "%s", f);
        *group = spec;
    }
    size_t n = strlen(config->dir) + strlen(file) + 2;
    char *path = malloc(n);
    if (!path)
        return NULL;
    if (file[0] == '/' || strcmp(config->dir, ".") == 0)
        snprintf(path, n, "%s", file);
    else
        snprintf(path, n, "%s/%s", config->dir, file);
    return path;
}

static cx_table *open_join_table(table_cache *cache, const cx_config *config,
                                 const cx_config_section *s, cx_error *err)
{
    const char *group = NULL;
    char *path = table_join_file(config, s, &group);
    if (!path) {
        cx_config_error(config, s, "join", err, CX_EUSAGE,
                        "no file for the joined table: write FILE:/group");
        return NULL;
    }
    cx_table *t = table_cache_open(cache, path, group, err);
    free(path);
    if (!t)
        cx_config_error(config, s, "join", err, err->code, "%s", err->msg);
    return t;
}

cx_table *table_join(table_cache *cache, const cx_config *config, const cx_config_section *s,
                     cx_table *left, cx_error *err)
{
    const char *on = cx_section_get(s, "join_on");
    if (!on) {
        cx_config_error(config, s, "join", err, CX_EUSAGE,
                        "'join' needs 'join_on' (the key columns, e.g. firm wave)");
        return NULL;
    }
    size_t nkeys;
    char **keys = cx_words_split(on, &nkeys, err);
    if (!keys)
        return NULL;
    join_side l = {.table = left}, r = {.table = open_join_table(cache, config, s, err)};
    cx_table *out = NULL;
    int rc = r.table ? CX_OK : CX_EUSAGE;
    if (rc == CX_OK && (nkeys == 0 || nkeys > CX_MAX_GROUP_COLS))
        rc = cx_config_error(config, s, "join_on", err, CX_EUSAGE, "expected 1 to %d key columns",
                             CX_MAX_GROUP_COLS);
    if (rc == CX_OK) {
        l.nrows = cx_table_nrows(left);
        r.nrows = cx_table_nrows(r.table);
        l.data = read_whole_table(left, &l.cols, &l.ncols, err);
        r.data = l.data ? read_whole_table(r.table, &r.cols, &r.ncols, err) : NULL;
        rc = l.data && r.data ? CX_OK : err->code;
    }
    if (rc == CX_OK && (key_positions(&l, keys, nkeys, "the job's", err) ||
                        key_positions(&r, keys, nkeys, "the joined", err)))
        rc = cx_config_error(config, s, "join_on", err, CX_EUSAGE, "%s", err->msg);
    if (rc == CX_OK) {
        out = cx_table_memory_alloc(cx_table_label(left), l.nrows, err);
        if (!out || build_joined(&l, &r, nkeys, out, err) != CX_OK) {
            cx_table_close(out);
            out = NULL;
        }
    }
    free(l.data);
    free(l.cols);
    free(r.data);
    free(r.cols);
    cx_words_free(keys);
    return out;
}

/* ---- by-level merging ---------------------------------------------------------- */

/* The label of level l's value of by-column k: category label or number. */
static void level_label(const cx_view *v, size_t l, size_t k, char *buf, size_t n)
{
    double x = v->level_values[l * v->n_group_cols + k];
    const cx_column_info *info = cx_table_column(v->table, (size_t)v->group_cols[k]);
    if (info->kind == CX_COL_CATEGORICAL && x >= 0 && (size_t)x < info->n_categories)
        snprintf(buf, n, "%s", info->categories[(size_t)x]);
    else
        snprintf(buf, n, "%.15g", x);
}

static int by_column_is_text(const cx_view *v, size_t k)
{
    return cx_table_column(v->table, (size_t)v->group_cols[k])->kind == CX_COL_CATEGORICAL;
}

/* Set up table `name` of the merged result: by columns, then the columns
 * of `like` (the first level's version of the table). */
static cx_rtable *merged_table(cx_result *m, const cx_rtable *like, const cx_view *v,
                               char *const *by, cx_error *err)
{
    cx_rtable *t = cx_result_find_table(m, like->name);
    if (t)
        return t;
    /* A by column named like one of the model's columns would be
     * overwritten by it, row by row: refuse rather than lose the level. */
    for (size_t k = 0; k < v->n_group_cols; k++)
        if (cx_rtable_find_column(like, by[k]) >= 0) {
            cx_error_set(err, CX_EUSAGE,
                         "by column '%s' has the name of a column of the model's table '%s'; "
                         "rename the data column",
                         by[k], like->name);
            return NULL;
        }
    t = cx_result_table(m, like->name, err);
    for (size_t k = 0; t && k < v->n_group_cols; k++)
        if (cx_rtable_add_column(t, by[k],
                                 by_column_is_text(v, k) ? CX_RCOL_STRING : CX_RCOL_DOUBLE, err))
            return NULL;
    for (size_t j = 0; t && j < like->ncols; j++)
        if (cx_rtable_find_column(t, like->cols[j].name) < 0 &&
            cx_rtable_add_column(t, like->cols[j].name, like->cols[j].type, err))
            return NULL;
    return t;
}

static int append_level_rows(cx_rtable *dst, const cx_rtable *src, const cx_view *v, size_t l,
                             char *const *by, cx_error *err)
{
    for (size_t i = 0; i < src->nrows; i++) {
        long row = cx_rtable_add_row(dst, err);
        if (row < 0)
            return CX_ENOMEM;
        for (size_t k = 0; k < v->n_group_cols; k++) {
            if (by_column_is_text(v, k)) {
                char label[256];
                level_label(v, l, k, label, sizeof label);
                if (cx_rtable_set_string(dst, (size_t)row, by[k], label, err))
                    return CX_ENOMEM;
            } else {
                cx_rtable_set_double(dst, (size_t)row, by[k],
                                     v->level_values[l * v->n_group_cols + k]);
            }
        }
        if (cx_rtable_copy_cells(dst, (size_t)row, src, i, err))
            return CX_ENOMEM;
    }
    return CX_OK;
}

static void merge_status(cx_result *m, const cx_result *r, const cx_view *v, size_t l,
                         char *const *by)
{
    if (r->status == CX_STATUS_OK && !r->message)
        return;
    char where[512] = "";
    for (size_t k = 0; k < v->n_group_cols; k++) {
        char label[256];
        level_label(v, l, k, label, sizeof label);
        size_t used = strlen(where);
        snprintf(where + used, sizeof where - used, "%s%s=%s", k ? " " : "", by[k], label);
    }
    const char *msg = r->message ? r->message : "";
    if (r->status == CX_STATUS_OK)
        cx_result_add_warning(m, "%s: %s", where, msg);
    else
        cx_result_set_status(m, r->status, "%s: %s", where, msg);
}

cx_result *merge_levels(cx_result *const *results, size_t n_levels, const cx_view *view,
                        char *const *by, cx_error *err)
{
    cx_result *m = cx_result_alloc(results[0]->level, err);
    int rc = m ? CX_OK : CX_ENOMEM;
    double nobs = 0;
    int any_nobs = 0;
    for (size_t l = 0; l < n_levels && rc == CX_OK; l++) {
        const cx_result *r = results[l];
        merge_status(m, r, view, l, by);
        if (!isnan(r->nobs)) {
            nobs += r->nobs;
            any_nobs = 1;
        }
        /* string attributes (the se type ...) are the same for every level;
         * per-level numbers live in the tables, which keep the levels */
        for (size_t a = 0; a < r->n_attrs && rc == CX_OK; a++)
            if (r->attrs[a].is_string)
                rc = cx_result_set_attr_string(m, r->attrs[a].name, r->attrs[a].s, err);
        for (size_t t = 0; t < r->n_tables && rc == CX_OK; t++) {
            cx_rtable *dst = merged_table(m, r->tables[t], view, by, err);
            rc = dst ? append_level_rows(dst, r->tables[t], view, l, by, err)
                     : (err && err->code ? err->code : CX_ENOMEM);
        }
    }
    if (rc != CX_OK) {
        cx_result_free(m);
        return NULL;
    }
    m->nobs = any_nobs ? nobs : NAN;
    return m;
}
