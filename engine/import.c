/*
 * import.c — `cxfit import`: choose the importer by extension, and the
 * pieces both importers share (import_internal.h): the label map of
 * categorical columns, the integer type rule, --categorical/--numeric
 * lists, and the temp-file-then-rename write that leaves nothing partial.
 */
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "import_internal.h"

/* ====================================================================== */
/* Dispatch                                                               */
/* ====================================================================== */

static const struct {
    const char *ext;
    cx_import_format format;
} extensions[] = {{".sav", CX_IMPORT_SAV},           {".zsav", CX_IMPORT_SAV},
                  {".por", CX_IMPORT_POR},           {".dta", CX_IMPORT_DTA},
                  {".sas7bdat", CX_IMPORT_SAS7BDAT}, {".xpt", CX_IMPORT_XPORT}};

cx_import_format cx_import_format_of(const char *path)
{
    size_t n = strlen(path);
    for (size_t k = 0; k < sizeof extensions / sizeof extensions[0]; k++) {
        size_t e = strlen(extensions[k].ext);
        if (n > e && strcasecmp(path + n - e, extensions[k].ext) == 0)
            return extensions[k].format;
    }
    return CX_IMPORT_CSV;
}

const char *cx_import_format_name(cx_import_format format)
{
    switch (format) {
    case CX_IMPORT_SAV:
        return "SPSS .sav";
    case CX_IMPORT_POR:
        return "SPSS .por";
    case CX_IMPORT_DTA:
        return "Stata .dta";
    case CX_IMPORT_SAS7BDAT:
        return "SAS .sas7bdat";
    case CX_IMPORT_XPORT:
        return "SAS transport .xpt";
    default:
        return "CSV";
    }
}

int cx_import(const char *in, const char *out_h5, const cx_import_options *opt,
              cx_import_summary *summary, cx_error *err)
{
    cx_import_options defaults = {0};
    if (!opt)
        opt = &defaults;
    cx_import_format format = cx_import_format_of(in);
    if (format == CX_IMPORT_CSV)
        return cx_import_csv_file(in, out_h5, opt, summary, err);
    if (opt->delimiter || opt->no_header)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: --delimiter and --no-header apply to CSV files, "
                            "not to %s files",
                            in, cx_import_format_name(format));
    return cx_import_readstat_file(in, out_h5, format, opt, summary, err);
}

int cx_import_csv(const char *in_csv, const char *out_h5, const char *table_path, cx_error *err)
{
    cx_import_options opt = {.table = table_path};
    return cx_import_csv_file(in_csv, out_h5, &opt, NULL, err);
}

size_t cx_import_block_rows(size_t ncols)
{
    size_t rows = CX_IMPORT_BLOCK_BYTES / 8 / (ncols ? ncols : 1);
    return rows < 256 ? 256 : rows > 65536 ? 65536 : rows;
}

/* ====================================================================== */
/* Labels of categorical columns: a string -> code hash map               */
/* ====================================================================== */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t map_slot(const cx_label_map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->nslots - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->nslots - 1);
    return i;
}

static int map_grow(cx_label_map *m, cx_error *err)
{
    size_t n = m->nslots ? 2 * m->nslots : 64;
    cx_label_map bigger = {cx_calloc(n, sizeof(char *), err), cx_calloc(n, sizeof(size_t), err), n,
                           m->count};
    if (!bigger.keys || !bigger.codes) {
        free(bigger.keys);
        free(bigger.codes);
        return CX_ENOMEM;
    }
    for (size_t i = 0; i < m->nslots; i++)
        if (m->keys[i]) {
            size_t j = map_slot(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.codes[j] = m->codes[i];
        }
    free(m->keys);
    free(m->codes);
    *m = bigger;
    return CX_OK;
}

int cx_label_map_add(cx_label_map *m, const char *key, cx_error *err)
{
    if (2 * (m->count + 1) > m->nslots && map_grow(m, err) != CX_OK)
        return CX_ENOMEM;
    size_t i = map_slot(m, key);
    if (m->keys[i])
        return CX_OK;
    if (!(m->keys[i] = cx_strdup(key, err)))
        return CX_ENOMEM;
    m->count++;
    return CX_OK;
}

long cx_label_map_code(const cx_label_map *m, const char *key)
{
    if (!m->nslots)
        return -1;
    size_t i = map_slot(m, key);
    return m->keys[i] ? (long)m->codes[i] : -1;
}

void cx_label_map_free(cx_label_map *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->codes);
    memset(m, 0, sizeof *m);
}

static int compare_labels(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cx_label_map_sort(cx_label_map *m, cx_error *err)
{
    char **labels = cx_calloc(m->count ? m->count : 1, sizeof *labels, err);
    if (!labels)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < m->nslots; i++)
        if (m->keys[i])
            labels[k++] = m->keys[i];
    qsort(labels, k, sizeof *labels, compare_labels);
    for (size_t c = 0; c < k; c++)
        m->codes[map_slot(m, labels[c])] = c;
    return labels;
}

/* ====================================================================== */
/* Integer storage type                                                   */
/* ====================================================================== */

int cx_import_int_type(int64_t min, int64_t max, int need_missing, cx_column_spec *s)
{
    int need = need_missing != 0;
    static const int widths[] = {1, 2, 4, 8};
    for (int u = 1; u >= 0; u--) {
        if (u && min < 0)
            continue;
        for (int k = 0; k < 4; k++) {
            int b = widths[k];
            if (u && b == 8)
                continue; /* uint64 is awkward for most readers: int64 next */
            int64_t hi = b == 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (8 * b - !u)) - 1);
            int64_t lo = u ? 0 : -hi - 1;
            if (max > hi - (u && need) || min < lo + (!u && need))
                continue;
            s->kind = CX_COL_INT;
            s->bytes = b;
            s->is_unsigned = u;
            s->has_missing_value = need;
            s->missing_value = u ? hi : lo;
            return 1;
        }
    }
    return 0;
}

/* ====================================================================== */
/* --categorical / --numeric lists                                        */
/* ====================================================================== */

int cx_name_list_parse(cx_name_list *l, const char *text, const char *option, cx_error *err)
{
    memset(l, 0, sizeof *l);
    if (!text)
        return CX_OK;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    l->names = cx_calloc(cap, sizeof *l->names, err);
    l->used = cx_calloc(cap, 1, err);
    if (!l->names || !l->used)
        return CX_ENOMEM;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        if (len == 0)
            return cx_error_set(err, CX_EUSAGE,
                                "%s '%s': expected column names separated by commas", option, text);
        if (!(l->names[l->n] = cx_malloc(len + 1, err)))
            return CX_ENOMEM;
        memcpy(l->names[l->n], p, len);
        l->names[l->n++][len] = '\0';
        if (!p[len])
            return CX_OK;
        p += len + 1;
    }
}

int cx_name_list_has(cx_name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) {
            l->used[i] = 1;
            return 1;
        }
    return 0;
}

int cx_name_list_check_used(const cx_name_list *l, const char *option, const char *file,
                            cx_error *err)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->used[i])
            return cx_error_set(err, CX_EUSAGE, "%s %s: %s has no column '%s'", option, l->names[i],
                                file, l->names[i]);
    return CX_OK;
}

void cx_name_list_free(cx_name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->used);
    memset(l, 0, sizeof *l);
}

/* ====================================================================== */
/* Writing without partial output                                         */
/* ====================================================================== */

/* Write the table into `target`; on failure remove what was added. */
static int write_into(const char *target, int new_file, const char *table, size_t nrows,
                      cx_import_fill_fn fill, void *ctx, cx_error *err)
{
    cx_table_writer *w = cx_table_writer_alloc(target, table, nrows, err);
    if (!w)
        return err ? err->code : CX_EIO;
    if (fill(ctx, w, err) != CX_OK) {
        cx_table_writer_abort(w);
        if (new_file)
            unlink(target);
        return err ? err->code : CX_EIO;
    }
    if (cx_table_writer_close(w, err) != CX_OK) {
        if (new_file)
            unlink(target);
        return err ? err->code : CX_EIO;
    }
    return CX_OK;
}

int cx_import_write(const char *out_h5, const char *table, size_t nrows, cx_import_fill_fn fill,
                    void *ctx, cx_error *err)
{
    if (access(out_h5, F_OK) == 0)
        return write_into(out_h5, 0, table, nrows, fill, ctx, err);
    size_t n = strlen(out_h5) + 5;
    char *tmp = cx_malloc(n, err);
    if (!tmp)
        return CX_ENOMEM;
    snprintf(tmp, n, "%s.tmp", out_h5);
    unlink(tmp); /* left over from an interrupted import */
    int rc = write_into(tmp, 1, table, nrows, fill, ctx, err);
    if (rc == CX_OK && rename(tmp, out_h5) != 0) {
        rc = cx_error_set(err, CX_EIO, "%s: cannot rename %s: %s", out_h5, tmp, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
