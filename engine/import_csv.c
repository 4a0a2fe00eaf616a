/*
 * import_csv.c — CSV to HDF5 column table (see import.h).
 *
 * Three streaming passes over the CSV, each holding one record at a time:
 *   0. (before them) detect the delimiter from the header row: the most
 *      frequent of `,` `;` and tab outside quotes, `,` when none occurs;
 *   1. check the shape (header, field counts) and infer each column's type;
 *   2. only when some column is categorical: collect its distinct labels;
 *   3. convert the cells and write them, a block of rows at a time.
 * Re-reading the file is cheaper than holding it: a CSV many times the
 * size of memory imports in memory proportional to the number of columns
 * and categorical labels.
 *
 * The CSV dialect is RFC 4180 as R's write.csv and pandas' to_csv write
 * it (with `;` or tab instead of `,` when detected or given): fields optionally in double quotes
 * ("" inside quotes is one quote, quoted fields may span lines), LF or CRLF line ends, an optional
 * UTF-8 byte-order mark.  Blank lines are skipped (as read.csv does); spaces around unquoted fields
 * are ignored.  Quoting does not make a field text: "308" is the number 308, as in read.csv.
 *
 * Refused rather than guessed: a first row whose every field is a number
 * (a file without a header; --no-header names the columns V1..Vn), and
 * NUL bytes (a binary or UTF-16 file: C strings would cut the field at
 * the NUL, silently merging different values).
 */
#include "import_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "table_write.h"

/* ====================================================================== */
/* CSV records                                                            */
/* ====================================================================== */

typedef struct csv_reader {
    FILE *fp;
    const char *path;
    int delim;        /* ',' ';' or '\t'                                    */
    long line;        /* physical line of the next character               */
    long record_line; /* line the current record starts on                 */
    char *text;       /* the record's fields, each NUL-terminated          */
    size_t len, cap;
    size_t *start; /* offset of each field in text                        */
    unsigned char *quoted;
    size_t nfields, cap_fields;
} csv_reader;

static int csv_open(csv_reader *r, const char *path, int delim, cx_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->delim = delim;
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

/* A character of a field's text: NUL is refused (see the top). */
static int csv_text_char(csv_reader *r, int c, cx_error *err)
{
    if (c == '\0')
        return cx_error_set(err, CX_EUSAGE,
                            "%s line %ld, column %zu: NUL byte in a field (a binary file, or "
                            "UTF-16 text? save the CSV as UTF-8)",
                            r->path, r->line, r->nfields);
    return csv_putc(r, (char)c, err);
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
        if (csv_text_char(r, c, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        if (c == '\n')
            r->line++;
    }
}

/* Read one field; *end gets the character that ended it (delimiter, '\n', EOF). */
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
    while (c != r->delim && c != '\n' && c != EOF) {
        if (csv_text_char(r, c, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
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
        int end = EOF;
        do {
            if (csv_field(r, &end, err) != CX_OK)
                return err ? err->code : CX_EUSAGE;
        } while (end == r->delim);
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
/* The delimiter                                                          */
/* ====================================================================== */

/* Count `,` `;` and tab outside quotes on the header row (its first
 * physical record; at most 1 MiB of it) and pick the most frequent, `,`
 * on ties or when none occurs: a one-column CSV stays one column, and a
 * `;` export (European spreadsheets) no longer imports as one column
 * named "a;b;c". */
static int detect_delimiter(const char *path, int *delim, cx_error *err)
{
    csv_reader r;
    if (csv_open(&r, path, ',', err) != CX_OK)
        return CX_EIO;
    long counts[3] = {0, 0, 0};
    static const int candidates[3] = {',', ';', '\t'};
    int in_quotes = 0;
    for (long n = 0; n < (1L << 20); n++) {
        int c = getc(r.fp);
        if (c == EOF || (c == '\n' && !in_quotes))
            break;
        if (c == '"')
            in_quotes = !in_quotes;
        for (int k = 0; k < 3 && !in_quotes; k++)
            counts[k] += c == candidates[k];
    }
    csv_close(&r);
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (counts[k] > counts[best])
            best = k;
    *delim = candidates[best];
    return CX_OK;
}

/* ====================================================================== */
/* Columns: what pass 1 learns about each                                 */
/* ====================================================================== */

typedef struct import_column {
    char *name;
    size_t n_values, n_missing;
    int numeric;          /* every non-missing cell is a number     */
    int integral;         /* ... and a whole number that fits int64 */
    long first_text_line; /* line of the first cell that is text    */
    int64_t min, max;
    cx_column_spec spec;
    cx_label_map labels; /* categorical columns, pass 2 */
    char **sorted;       /* the labels in code order    */
} import_column;

typedef struct import_job {
    const char *in;
    const cx_import_options *opt;
    int delim;
    csv_reader csv;
    import_column *cols;
    size_t ncols, nrows;
    cx_name_list force_categorical, force_numeric;
} import_job;

static void job_free(import_job *job)
{
    for (size_t j = 0; j < job->ncols; j++) {
        free(job->cols[j].name);
        free(job->cols[j].sorted);
        cx_label_map_free(&job->cols[j].labels);
    }
    free(job->cols);
    csv_close(&job->csv);
    cx_name_list_free(&job->force_categorical);
    cx_name_list_free(&job->force_numeric);
}

static void observe_cell(import_column *c, const char *s, long line)
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
        c->first_text_line = line;
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

/* A header whose every field is a number is the first data row of a file
 * without a header: refused, since naming columns "1", "2.5" silently
 * loses that row and gives names no config could mean. */
static int check_header_is_names(const import_job *job, cx_error *err)
{
    double d;
    for (size_t j = 0; j < job->csv.nfields; j++)
        if (!parse_decimal(csv_field_text(&job->csv, j), &d))
            return CX_OK;
    return cx_error_set(err, CX_EUSAGE,
                        "%s line 1: the first row looks like data, not column names (every "
                        "field is a number, e.g. '%.20s'); give --no-header to name the columns "
                        "V1..V%zu",
                        job->in, csv_field_text(&job->csv, 0), job->csv.nfields);
}

static int read_header(import_job *job, cx_error *err)
{
    int got;
    if (csv_next(&job->csv, &got, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (!got)
        return cx_error_set(err, CX_EUSAGE, "%s: the file is empty (expected a header row)",
                            job->in);
    if (!job->opt->no_header && check_header_is_names(job, err) != CX_OK)
        return CX_EUSAGE;
    job->cols = cx_calloc(job->csv.nfields, sizeof *job->cols, err);
    if (!job->cols)
        return CX_ENOMEM;
    for (size_t j = 0; j < job->csv.nfields; j++) {
        char generated[32];
        snprintf(generated, sizeof generated, "V%zu", j + 1);
        if (!job->opt->no_header && check_name(job, j, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        const char *name = job->opt->no_header ? generated : csv_field_text(&job->csv, j);
        if (!(job->cols[j].name = cx_strdup(name, err)))
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
        return cx_error_set(err, CX_EUSAGE,
                            "%s line %ld: %zu fields, expected %zu (%s has %zu columns)", job->in,
                            job->csv.record_line, job->csv.nfields, job->ncols,
                            job->opt->no_header ? "the first row" : "header", job->ncols);
    return CX_OK;
}

/* Rewind to the first data row for another pass.  Without a header the
 * first record is data: the reader starts over at it. */
static int restart(import_job *job, cx_error *err)
{
    csv_close(&job->csv);
    int got;
    if (csv_open(&job->csv, job->in, job->delim, err) != CX_OK)
        return CX_EIO;
    if (!job->opt->no_header && csv_next(&job->csv, &got, err) != CX_OK)
        return err ? err->code : CX_EIO;
    return CX_OK;
}

static int pass_infer(import_job *job, cx_error *err)
{
    if (csv_open(&job->csv, job->in, job->delim, err) != CX_OK || read_header(job, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (job->opt->no_header && restart(job, err) != CX_OK)
        return err ? err->code : CX_EIO;
    for (;;) {
        int got;
        if (next_row(job, &got, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
        if (!got)
            return CX_OK;
        for (size_t j = 0; j < job->ncols; j++)
            observe_cell(&job->cols[j], csv_field_text(&job->csv, j), job->csv.record_line);
        job->nrows++;
    }
}

/* ---------- pass 1 result -> storage type ---------- */

/* The rule of import.h, then --categorical and --numeric: a forced
 * categorical column takes its cells' text as labels; a forced numeric
 * one must hold numbers only. */
static int choose_types(import_job *job, size_t *n_categorical, cx_error *err)
{
    *n_categorical = 0;
    for (size_t j = 0; j < job->ncols; j++) {
        import_column *c = &job->cols[j];
        int categorical = cx_name_list_has(&job->force_categorical, c->name);
        int numeric = cx_name_list_has(&job->force_numeric, c->name);
        if (categorical && numeric)
            return cx_error_set(err, CX_EUSAGE,
                                "%s: column '%s' is named by both --categorical and --numeric",
                                job->in, c->name);
        if (numeric && !c->numeric)
            return cx_error_set(err, CX_EUSAGE,
                                "%s line %ld, column '%s': text in a column given to --numeric",
                                job->in, c->first_text_line, c->name);
        c->spec.name = c->name;
        c->spec.kind = CX_COL_FLOAT; /* also for columns with no values at all */
        if (categorical || (c->n_values > 0 && !c->numeric)) {
            c->spec.kind = CX_COL_CATEGORICAL;
            (*n_categorical)++;
        } else if (c->n_values > 0 && c->integral) {
            cx_import_int_type(c->min, c->max, c->n_missing > 0, &c->spec);
        }
    }
    if (cx_name_list_check_used(&job->force_categorical, "--categorical", job->in, err) != CX_OK ||
        cx_name_list_check_used(&job->force_numeric, "--numeric", job->in, err) != CX_OK)
        return CX_EUSAGE;
    return CX_OK;
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
                cx_label_map_add(&job->cols[j].labels, s, err) != CX_OK)
                return CX_ENOMEM;
        }
    }
    for (size_t j = 0; j < job->ncols; j++) {
        import_column *c = &job->cols[j];
        if (c->spec.kind != CX_COL_CATEGORICAL)
            continue;
        if (!(c->sorted = cx_label_map_sort(&c->labels, err)))
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
    b->rows = cx_import_block_rows(ncols);
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
        long code = miss ? -1 : cx_label_map_code(&c->labels, s);
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

static int pass_write(void *ctx, cx_table_writer *w, cx_error *err)
{
    import_job *job = ctx;
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
    job->delim = job->opt->delimiter;
    if (!job->delim && detect_delimiter(job->in, &job->delim, err) != CX_OK)
        return CX_EIO;
    if (job->delim != ',' && job->delim != ';' && job->delim != '\t')
        return cx_error_set(err, CX_EUSAGE, "--delimiter must be ',', ';' or tab");
    if (cx_name_list_parse(&job->force_categorical, job->opt->categorical, "--categorical", err) !=
            CX_OK ||
        cx_name_list_parse(&job->force_numeric, job->opt->numeric, "--numeric", err) != CX_OK ||
        pass_infer(job, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    size_t n_categorical;
    if (choose_types(job, &n_categorical, err) != CX_OK)
        return CX_EUSAGE;
    return n_categorical ? pass_labels(job, err) : CX_OK;
}

int cx_import_csv_file(const char *in, const char *out_h5, const cx_import_options *opt,
                       cx_import_summary *summary, cx_error *err)
{
    import_job job = {.in = in, .opt = opt};
    const char *table = opt->table ? opt->table : CX_IMPORT_DEFAULT_TABLE;
    int rc = infer(&job, err);
    if (rc == CX_OK)
        rc = cx_import_write(out_h5, table, job.nrows, pass_write, &job, err);
    if (rc == CX_OK && summary)
        *summary = (cx_import_summary){CX_IMPORT_CSV, job.nrows, job.ncols, (char)job.delim};
    job_free(&job);
    return rc;
}
