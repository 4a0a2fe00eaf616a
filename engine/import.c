/*
 * import.c — CSV to HDF5 column table (see import.h).
 *
 * Three streaming passes over the CSV, each holding one record at a time:
 *   1. check the shape (header, field counts) and infer each column's type;
 *   2. only when some column is categorical: collect its distinct labels;
 *   3. convert the cells and write them, a block of rows at a time.
 * Re-reading the file is cheaper than holding it: a CSV many times the
 * size of memory imports in memory proportional to the number of columns
 * and categorical labels.
 *
 * The CSV dialect is RFC 4180 as R's write.csv and pandas' to_csv write
 * it: comma separated, fields optionally in double quotes ("" inside
 * quotes is one quote, quoted fields may span lines), LF or CRLF line
 * ends, an optional UTF-8 byte-order mark.  Blank lines are skipped (as
 * read.csv does); spaces around unquoted fields are ignored.  Quoting does
 * not make a field text: "308" is the number 308, as in read.csv.
 */
#include "import.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "table_write.h"

/* Bytes of row buffers per block in pass 3 (rows = this / 8 / columns). */
#define BLOCK_BYTES ((size_t)16 << 20)

/* ====================================================================== */
/* CSV records                                                            */
/* ====================================================================== */

typedef struct csv_reader {
    FILE *fp;
    const char *path;
    long line;        /* physical line of the next character               */
    long record_line; /* line the current record starts on                 */
    char *text;       /* the record's fields, each NUL-terminated          */
    size_t len, cap;
    size_t *start; /* offset of each field in text                        */
    unsigned char *quoted;
    size_t nfields, cap_fields;
} csv_reader;

static int csv_open(csv_reader *r, const char *path, cx_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->line = 1;
    r->fp = fopen(path, "rb");
    if (!r->fp)
        return cx_error_set(err, CX_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* A UTF-8 byte-order mark (Excel writes one) is not part of the header. */
    int c1 = getc(r->fp), c2 = c1 == 0xEF ? getc(r->fp) : EOF, c3 = c2 == 0xBB ? getc(r->fp) : EOF;
    if (!(c1 == 0xEF && c2 == 0xBB && c3 == 0xBF))
        rewind(r->fp);
    return CX_OK;
}

static void csv_close(csv_reader *r)
{
    if (r->fp)
        fclose(r->fp);
    free(r->text);
    free(r->start);
    free(r->quoted);
    memset(r, 0, sizeof *r);
}

static int csv_putc(csv_reader *r, char c, cx_error *err)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        char *t = realloc(r->text, cap);
        if (!t)
            return cx_error_set(err, CX_ENOMEM, "%s line %ld: out of memory", r->path,
                                r->record_line);
        r->text = t;
        r->cap = cap;
    }
    r->text[r->len++] = c;
    return CX_OK;
}

static int csv_begin_field(csv_reader *r, cx_error *err)
{
    if (r->nfields == r->cap_fields) {
        size_t cap = r->cap_fields ? 2 * r->cap_fields : 64;
        size_t *s = realloc(r->start, cap * sizeof *s);
        if (s)
            r->start = s;
        unsigned char *q = s ? realloc(r->quoted, cap) : NULL;
        if (!q)
            return cx_error_set(err, CX_ENOMEM, "%s line %ld: out of memory", r->path,
                                r->record_line);
        r->quoted = q;
        r->cap_fields = cap;
    }
    r->start[r->nfields] = r->len;
    r->quoted[r->nfields] = 0;
    r->nfields++;
    return CX_OK;
}

/* Trim spaces and tabs around an unquoted field, in place. */
static void trim_field(csv_reader *r, size_t f)
{
    char *s = r->text + r->start[f];
    size_t n = r->len - r->start[f];
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    memmove(s, s + a, n - a);
    r->len = r->start[f] + (n - a);
}

/* The inside of a quoted field, up to its closing quote. */
static int csv_quoted(csv_reader *r, cx_error *err)
{
    long opened = r->line;
    for (;;) {
        int c = getc(r->fp);
        if (c == EOF)
            return cx_error_set(err, CX_EUSAGE,
                                "%s line %ld, column %zu: quoted field never closed (no matching "
                                "'\"' before the end of the file)",
                                r->path, opened, r->nfields);
        if (c == '"') {
            int next = getc(r->fp);
            if (next != '"') {
                if (next != EOF)
                    ungetc(next, r->fp);
                return CX_OK;
            }
        }
        if (c == '\n')
            r->line++;
        if (csv_putc(r, (char)c, err) != CX_OK)
            return CX_ENOMEM;
    }
}

/* Read one field; *end gets the character that ended it (',' '\n' EOF). */
static int csv_field(csv_reader *r, int *end, cx_error *err)
{
    if (csv_begin_field(r, err) != CX_OK)
        return CX_ENOMEM;
    size_t f = r->nfields - 1;
    int c = getc(r->fp);
    if (c == '"') {
        r->quoted[f] = 1;
        if (csv_quoted(r, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        c = getc(r->fp);
    }
    /* Unquoted text, or stray text after a closing quote (kept, leniently). */
    while (c != ',' && c != '\n' && c != EOF) {
        if (csv_putc(r, (char)c, err) != CX_OK)
            return CX_ENOMEM;
        c = getc(r->fp);
    }
    if (!r->quoted[f])
        trim_field(r, f);
    else if (r->len > r->start[f] && r->text[r->len - 1] == '\r')
        r->len--; /* CRLF after a closing quote */
    *end = c;
    return csv_putc(r, '\0', err);
}

/* Next non-blank record; *got = 0 at the end of the file. */
static int csv_next(csv_reader *r, int *got, cx_error *err)
{
    for (;;) {
        r->len = r->nfields = 0;
        r->record_line = r->line;
        int c = getc(r->fp);
        if (c == EOF) {
            *got = 0;
            return ferror(r->fp)
                       ? cx_error_set(err, CX_EIO, "%s line %ld: read error", r->path, r->line)
                       : CX_OK;
        }
        ungetc(c, r->fp);
        int end;
        do {
            if (csv_field(r, &end, err) != CX_OK)
                return err ? err->code : CX_EUSAGE;
        } while (end == ',');
        if (end == '\n')
            r->line++;
        /* A line with nothing on it is skipped, not a record of one empty field. */
        if (r->nfields == 1 && !r->quoted[0] && r->text[0] == '\0')
            continue;
        *got = 1;
        return CX_OK;
    }
}

static const char *csv_field_text(const csv_reader *r, size_t f)
{
    return r->text + r->start[f];
}

/* ====================================================================== */
/* Cells                                                                  */
/* ====================================================================== */

static int is_missing_token(const char *s)
{
    return s[0] == '\0' || strcmp(s, "NA") == 0 || strcmp(s, "NaN") == 0 || strcmp(s, ".") == 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [+-]digits that fit int64. */
static int parse_int(const char *s, int64_t *v)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p)
        return 0;
    for (const char *q = p; *q; q++)
        if (!is_digit(*q))
            return 0;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno == ERANGE || *end)
        return 0;
    *v = (int64_t)x;
    return 1;
}

/* A decimal number as R and pandas read it: [+-]digits[.digits][e[+-]digits]
 * with at least one digit, or Inf.  Hex floats and "nan" spellings that
 * strtod would accept are text. */
static int parse_decimal(const char *s, double *v)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (strcmp(p, "Inf") == 0 || strcmp(p, "inf") == 0) {
        *v = *s == '-' ? -INFINITY : INFINITY;
        return 1;
    }
    int digits = 0;
    while (is_digit(*p))
        p++, digits++;
    if (*p == '.')
        for (p++; is_digit(*p); p++)
            digits++;
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        p += (*p == '+' || *p == '-');
        if (!is_digit(*p))
            return 0;
        while (is_digit(*p))
            p++;
    }
    if (*p)
        return 0;
    *v = strtod(s, NULL);
    return 1;
}

/* ====================================================================== */
/* Labels of categorical columns: a string -> code hash map               */
/* ====================================================================== */

typedef struct label_map {
    char **keys; /* slots; NULL = empty */
    size_t *codes;
    size_t nslots, count;
} label_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t map_slot(const label_map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->nslots - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->nslots - 1);
    return i;
}

static int map_grow(label_map *m, cx_error *err)
{
    size_t n = m->nslots ? 2 * m->nslots : 64;
    label_map bigger = {cx_calloc(n, sizeof(char *), err), cx_calloc(n, sizeof(size_t), err), n,
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

static int map_add(label_map *m, const char *key, cx_error *err)
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

/* Code of `key`, or -1 when it is not a label. */
static long map_code(const label_map *m, const char *key)
{
    if (!m->nslots)
        return -1;
    size_t i = map_slot(m, key);
    return m->keys[i] ? (long)m->codes[i] : -1;
}

static void map_free(label_map *m)
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

/* Sorted labels (pointers into the map) and their codes set in the map. */
static char **map_sort(label_map *m, cx_error *err)
{
    char **labels = cx_calloc(m->count, sizeof *labels, err);
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
/* Columns: what pass 1 learns about each                                 */
/* ====================================================================== */

typedef struct import_column {
    char *name;
    size_t n_values, n_missing;
    int numeric;  /* every non-missing cell is a number   */
    int integral; /* ... and a whole number that fits int64 */
    int64_t min, max;
    cx_column_spec spec;
    label_map labels; /* categorical columns, pass 2            */
    char **sorted;    /* the labels in code order               */
} import_column;

typedef struct import_job {
    const char *in, *out, *table;
    csv_reader csv;
    import_column *cols;
    size_t ncols, nrows;
} import_job;

static void job_free(import_job *job)
{
    for (size_t j = 0; j < job->ncols; j++) {
        free(job->cols[j].name);
        free(job->cols[j].sorted);
        map_free(&job->cols[j].labels);
    }
    free(job->cols);
    csv_close(&job->csv);
}

static void observe_cell(import_column *c, const char *s)
{
    if (is_missing_token(s)) {
        c->n_missing++;
        return;
    }
    c->n_values++;
    if (!c->numeric)
        return;
    int64_t v;
    double d;
    if (c->integral && parse_int(s, &v)) {
        c->min = c->n_values == 1 || v < c->min ? v : c->min;
        c->max = c->n_values == 1 || v > c->max ? v : c->max;
    } else if (parse_decimal(s, &d)) {
        c->integral = 0;
    } else {
        c->numeric = c->integral = 0;
    }
}

static int check_name(const import_job *job, size_t j, cx_error *err)
{
    const char *name = csv_field_text(&job->csv, j);
    const char *where = job->in;
    if (!*name)
        return cx_error_set(
            err, CX_EUSAGE, "%s line 1, column %zu: empty column name%s", where, j + 1,
            j == 0 ? " (R's write.csv row names? write with row.names = FALSE)" : "");
    if (strlen(name) >= CX_NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0)
        return cx_error_set(err, CX_EUSAGE,
                            "%s line 1, column %zu: column name '%.60s' must have 1 to %d "
                            "characters and no '/'",
                            where, j + 1, name, CX_NAME_MAX - 1);
    for (size_t i = 0; i < j; i++)
        if (strcmp(job->cols[i].name, name) == 0)
            return cx_error_set(err, CX_EUSAGE,
                                "%s line 1, column %zu: duplicate column name '%s' (also column "
                                "%zu)",
                                where, j + 1, name, i + 1);
    return CX_OK;
}

static int read_header(import_job *job, cx_error *err)
{
    int got;
    if (csv_next(&job->csv, &got, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (!got)
        return cx_error_set(err, CX_EUSAGE, "%s: the file is empty (expected a header row)",
                            job->in);
    job->cols = cx_calloc(job->csv.nfields, sizeof *job->cols, err);
    if (!job->cols)
        return CX_ENOMEM;
    for (size_t j = 0; j < job->csv.nfields; j++) {
        if (check_name(job, j, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        if (!(job->cols[j].name = cx_strdup(csv_field_text(&job->csv, j), err)))
            return CX_ENOMEM;
        job->cols[j].numeric = job->cols[j].integral = 1;
        job->ncols++;
    }
    return CX_OK;
}

/* Next data record, checked against the header; *got = 0 at the end. */
static int next_row(import_job *job, int *got, cx_error *err)
{
    if (csv_next(&job->csv, got, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (*got && job->csv.nfields != job->ncols)
        return cx_error_set(
            err, CX_EUSAGE, "%s line %ld: %zu fields, expected %zu (header has %zu columns)",
            job->in, job->csv.record_line, job->csv.nfields, job->ncols, job->ncols);
    return CX_OK;
}

/* Rewind to the first data row for another pass. */
static int restart(import_job *job, cx_error *err)
{
    csv_close(&job->csv);
    int got;
    if (csv_open(&job->csv, job->in, err) != CX_OK || csv_next(&job->csv, &got, err) != CX_OK)
        return err ? err->code : CX_EIO;
    return CX_OK;
}

static int pass_infer(import_job *job, cx_error *err)
{
    if (csv_open(&job->csv, job->in, err) != CX_OK || read_header(job, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    for (;;) {
        int got;
        if (next_row(job, &got, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        if (!got)
            return CX_OK;
        for (size_t j = 0; j < job->ncols; j++)
            observe_cell(&job->cols[j], csv_field_text(&job->csv, j));
        job->nrows++;
    }
}

/* ---------- pass 1 result -> storage type ---------- */

/* Smallest integer type holding [min, max], plus one spare value for
 * missing when needed (the type's maximum if unsigned, minimum if signed).
 * Returns 0 when no integer type does. */
static int choose_int_type(const import_column *c, cx_column_spec *s)
{
    int need = c->n_missing > 0;
    static const int widths[] = {1, 2, 4, 8};
    for (int u = 1; u >= 0; u--) {
        if (u && c->min < 0)
            continue;
        for (int k = 0; k < 4; k++) {
            int b = widths[k];
            if (u && b == 8)
                continue; /* uint64 is awkward for most readers: int64 next */
            int64_t hi = b == 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (8 * b - !u)) - 1);
            int64_t lo = u ? 0 : -hi - 1;
            if (c->max > hi - (u && need) || c->min < lo + (!u && need))
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

static void choose_types(import_job *job, size_t *n_categorical)
{
    *n_categorical = 0;
    for (size_t j = 0; j < job->ncols; j++) {
        import_column *c = &job->cols[j];
        c->spec.name = c->name;
        c->spec.kind = CX_COL_FLOAT; /* also for columns with no values at all */
        if (c->n_values == 0)
            continue;
        if (!c->numeric) {
            c->spec.kind = CX_COL_CATEGORICAL;
            (*n_categorical)++;
        } else if (c->integral) {
            choose_int_type(c, &c->spec);
        }
    }
}

static int pass_labels(import_job *job, cx_error *err)
{
    if (restart(job, err) != CX_OK)
        return err ? err->code : CX_EIO;
    for (;;) {
        int got;
        if (next_row(job, &got, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        if (!got)
            break;
        for (size_t j = 0; j < job->ncols; j++) {
            const char *s = csv_field_text(&job->csv, j);
            if (job->cols[j].spec.kind == CX_COL_CATEGORICAL && !is_missing_token(s) &&
                map_add(&job->cols[j].labels, s, err) != CX_OK)
                return CX_ENOMEM;
        }
    }
    for (size_t j = 0; j < job->ncols; j++) {
        import_column *c = &job->cols[j];
        if (c->spec.kind != CX_COL_CATEGORICAL)
            continue;
        if (!(c->sorted = map_sort(&c->labels, err)))
            return CX_ENOMEM;
        c->spec.categories = c->sorted;
        c->spec.n_categories = c->labels.count;
    }
    return CX_OK;
}

/* ====================================================================== */
/* Pass 3: writing                                                        */
/* ====================================================================== */

typedef struct row_block {
    size_t rows; /* capacity */
    double *dbl; /* ncols x rows (float and categorical columns) */
    int64_t *ints;
    unsigned char *missing;
} row_block;

static int block_alloc(row_block *b, size_t ncols, cx_error *err)
{
    size_t rows = BLOCK_BYTES / 8 / (ncols ? ncols : 1);
    b->rows = rows < 256 ? 256 : rows > 65536 ? 65536 : rows;
    b->dbl = cx_malloc(ncols * b->rows * sizeof *b->dbl, err);
    b->ints = cx_malloc(ncols * b->rows * sizeof *b->ints, err);
    b->missing = cx_malloc(ncols * b->rows, err);
    return b->dbl && b->ints && b->missing ? CX_OK : CX_ENOMEM;
}

static void block_free(row_block *b)
{
    free(b->dbl);
    free(b->ints);
    free(b->missing);
}

/* Convert cell `s` of column j into row i of the block.  Pass 1 saw every
 * cell, so a failure here means the file changed in between. */
static int convert_cell(import_job *job, row_block *b, size_t j, size_t i, const char *s,
                        cx_error *err)
{
    import_column *c = &job->cols[j];
    size_t at = j * b->rows + i;
    int miss = is_missing_token(s);
    int ok = 1;
    if (c->spec.kind == CX_COL_INT) {
        b->missing[at] = (unsigned char)miss;
        b->ints[at] = 0;
        ok = miss || parse_int(s, &b->ints[at]);
    } else if (c->spec.kind == CX_COL_CATEGORICAL) {
        long code = miss ? -1 : map_code(&c->labels, s);
        ok = miss || code >= 0;
        b->dbl[at] = (double)code;
    } else {
        b->dbl[at] = NAN;
        ok = miss || parse_decimal(s, &b->dbl[at]);
    }
    if (!ok)
        return cx_error_set(err, CX_EIO,
                            "%s line %ld, column '%s': the file changed while it "
                            "was being imported",
                            job->in, job->csv.record_line, c->name);
    return CX_OK;
}

static int flush_block(import_job *job, cx_table_writer *w, row_block *b, size_t row0, size_t n,
                       cx_error *err)
{
    for (size_t j = 0; j < job->ncols; j++) {
        int rc = job->cols[j].spec.kind == CX_COL_INT
                     ? cx_table_writer_write_i64(w, j, row0, n, b->ints + j * b->rows,
                                                 b->missing + j * b->rows, err)
                     : cx_table_writer_write(w, j, row0, n, b->dbl + j * b->rows, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

static int pass_write(import_job *job, cx_table_writer *w, cx_error *err)
{
    for (size_t j = 0; j < job->ncols; j++)
        if (cx_table_writer_add(w, &job->cols[j].spec, NULL, err) != CX_OK)
            return err ? err->code : CX_EIO;
    row_block b = {0};
    int rc = block_alloc(&b, job->ncols, err);
    if (rc == CX_OK)
        rc = restart(job, err);
    size_t row0 = 0, fill = 0;
    while (rc == CX_OK) {
        int got;
        if ((rc = next_row(job, &got, err)) != CX_OK || !got)
            break;
        if (row0 + fill >= job->nrows) {
            rc =
                cx_error_set(err, CX_EIO, "%s: the file grew while it was being imported", job->in);
            break;
        }
        for (size_t j = 0; rc == CX_OK && j < job->ncols; j++)
            rc = convert_cell(job, &b, j, fill, csv_field_text(&job->csv, j), err);
        if (rc == CX_OK && ++fill == b.rows) {
            rc = flush_block(job, w, &b, row0, fill, err);
            row0 += fill;
            fill = 0;
        }
    }
    if (rc == CX_OK && fill)
        rc = flush_block(job, w, &b, row0, fill, err);
    if (rc == CX_OK && row0 + fill != job->nrows)
        rc = cx_error_set(err, CX_EIO, "%s: the file shrank while it was being imported", job->in);
    block_free(&b);
    return rc;
}

/* ====================================================================== */
/* The whole import                                                       */
/* ====================================================================== */

static int infer(import_job *job, cx_error *err)
{
    if (pass_infer(job, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    size_t n_categorical;
    choose_types(job, &n_categorical);
    return n_categorical ? pass_labels(job, err) : CX_OK;
}

/* Write the table into `target`; on failure remove what was added. */
static int write_table(import_job *job, const char *target, int new_file, cx_error *err)
{
    cx_table_writer *w = cx_table_writer_alloc(target, job->table, job->nrows, err);
    if (!w)
        return err ? err->code : CX_EIO;
    if (pass_write(job, w, err) != CX_OK) {
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

int cx_import_csv(const char *in_csv, const char *out_h5, const char *table_path, cx_error *err)
{
    import_job job = {.in = in_csv, .out = out_h5, .table = table_path};
    int rc = infer(&job, err);
    if (rc == CX_OK) {
        int exists = access(out_h5, F_OK) == 0;
        if (exists) {
            rc = write_table(&job, out_h5, 0, err);
        } else {
            size_t n = strlen(out_h5) + 5;
            char *tmp = cx_malloc(n, err);
            rc = tmp ? CX_OK : CX_ENOMEM;
            if (tmp) {
                snprintf(tmp, n, "%s.tmp", out_h5);
                unlink(tmp); /* left over from an interrupted import */
                rc = write_table(&job, tmp, 1, err);
                if (rc == CX_OK && rename(tmp, out_h5) != 0) {
                    rc = cx_error_set(err, CX_EIO, "%s: cannot rename %s: %s", out_h5, tmp,
                                      strerror(errno));
                    unlink(tmp);
                }
                free(tmp);
            }
        }
    }
    job_free(&job);
    return rc;
}
