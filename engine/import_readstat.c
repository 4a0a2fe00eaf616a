/*
 * import_readstat.c — SPSS (.sav .zsav .por), Stata (.dta) and SAS
 * (.sas7bdat .xpt) files into an HDF5 column table, through ReadStat (the
 * parser R's haven and Python's pyreadstat use; no format is parsed here).
 *
 * Two streaming passes, as the CSV importer makes:
 *   1. variables, value label sets, and per column the facts that fix its
 *      storage (row count, whole numbers or not, range, distinct strings);
 *      Stata files store their labels after the data, so only a full pass
 *      knows them all;
 *   2. values converted into row blocks and written as each block fills.
 * Memory is one block of rows plus the labels, whatever the row count.
 *
 * The type of each column (docs/DECISIONS.md, "Import"):
 *   - string variable -> categorical, labels the distinct non-empty
 *     strings (trailing blanks dropped) sorted by byte value, as CSV text;
 *   - numeric variable with a date/time display format -> float64 days
 *     since 1970-01-01 (dates) or seconds since 1970-01-01 00:00:00 UTC
 *     (date-times) or seconds (times of day, durations), attribute `units`;
 *   - numeric variable with value labels whose SPSS measure is nominal ->
 *     categorical: codes 0..k-1 in the order of the labelled values, the
 *     labels as `categories`; a value without a label is an error (the
 *     label set does not fit the values; --numeric keeps the numbers);
 *   - any other numeric variable -> numeric as in a CSV (smallest integer
 *     type when every value is whole, else float64); its value labels, if
 *     any, go to attributes `value_labels` (strings) and
 *     `value_label_values` (float64), so a labelled 1-5 Likert item stays
 *     a number;
 *   - --categorical COL forces the labelled case, --numeric COL the last.
 * User-missing codes and ranges (SPSS), tagged missing values (.a-.z in
 * Stata, SAS special missing) and system missing become missing; their
 * labels are dropped.  A variable's label goes to attribute `label`.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <readstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import_internal.h"

typedef enum rs_time_kind { RS_TIME_NONE = 0, RS_DATE, RS_DATETIME, RS_DURATION } rs_time_kind;

/* One value label set: labelled numeric values in file order. */
typedef struct rs_label_set {
    char *name;
    double *values;
    char **labels;
    size_t n, cap;
} rs_label_set;

typedef struct rs_column {
    char *name, *label, *set_name;
    int is_string;
    readstat_measure_t measure;
    rs_time_kind time;
    double time_scale, time_shift;   /* stored = raw * scale + shift */
    double *missing_lo, *missing_hi; /* user-missing ranges (a code: lo == hi) */
    size_t n_missing_ranges;
    /* pass 1 */
    size_t n_values, n_missing;
    int integral; /* every value whole and within int64 */
    double min, max;
    cx_label_map strings;
    /* storage */
    cx_column_spec spec;
    char **sorted;        /* string categories                              */
    double *label_values; /* labelled values kept (sorted for categoricals) */
    char **label_texts;   /* their labels (pointers into the label set)     */
    size_t n_labels;
} rs_column;

typedef struct rs_block {
    size_t rows, row0, filled;
    double *dbl;
    int64_t *ints;
    unsigned char *missing;
} rs_block;

typedef struct rs_job {
    const char *in;
    cx_import_format format;
    const cx_import_options *opt;
    rs_column *cols;
    size_t ncols, cap_cols;
    rs_label_set *sets;
    size_t nsets, cap_sets;
    size_t nrows;
    cx_name_list force_categorical, force_numeric;
    cx_error *err;
    int handler_failed;     /* a handler set err and aborted the parse */
    char readstat_msg[256]; /* ReadStat's own last message             */
    char *scratch;          /* trimmed copy of a string value          */
    size_t scratch_cap;
    /* pass 2 */
    cx_table_writer *w;
    rs_block block;
} rs_job;

/* ====================================================================== */
/* Small helpers                                                          */
/* ====================================================================== */

/* A handler's failure: keep the error, stop the parse. */
static int handler_fail(rs_job *job)
{
    job->handler_failed = 1;
    return READSTAT_HANDLER_ABORT;
}

static int grow(void **items, size_t *cap, size_t need, size_t size, cx_error *err)
{
    if (need <= *cap)
        return CX_OK;
    size_t n = *cap ? 2 * *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*items, n * size);
    if (!p)
        return cx_error_set(err, CX_ENOMEM, "out of memory reading the file");
    *items = p;
    *cap = n;
    return CX_OK;
}

/* `format` names display format `name` ("DATE" matches DATE11, not DATETIME20). */
static int format_is(const char *format, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(format, name, n) == 0 && !isalpha((unsigned char)format[n]);
}

static int format_in(const char *format, const char *const *names)
{
    for (; *names; names++)
        if (format_is(format, *names))
            return 1;
    return 0;
}

/* Date and time display formats, and the conversion to the Unix epoch:
 * SPSS counts seconds from 1582-10-14, Stata days or milliseconds from
 * 1960-01-01, SAS days or seconds from 1960-01-01. */
#define SPSS_EPOCH_SECONDS 12219379200.0 /* 1582-10-14 to 1970-01-01 */
#define DAYS_1960_1970 3653.0
static rs_time_kind time_kind(cx_import_format f, const char *fmt, double *scale, double *shift)
{
    static const char *const spss_date[] = {"DATE", "ADATE", "EDATE", "JDATE", "SDATE",
                                            "QYR",  "MOYR",  "WKYR",  NULL};
    static const char *const spss_datetime[] = {"DATETIME", "YMDHMS", NULL};
    static const char *const spss_time[] = {"TIME", "DTIME", "MTIME", NULL};
    static const char *const sas_date[] = {
        "DATE",     "DAY",     "DDMMYY",  "DDMMYYB", "DDMMYYC",  "DDMMYYD",  "DDMMYYN",
        "DDMMYYP",  "DDMMYYS", "MMDDYY",  "MMDDYYB", "MMDDYYC",  "MMDDYYD",  "MMDDYYN",
        "MMDDYYP",  "MMDDYYS", "YYMMDD",  "YYMMDDB", "YYMMDDC",  "YYMMDDD",  "YYMMDDN",
        "YYMMDDP",  "YYMMDDS", "MONYY",   "YYMON",   "WEEKDATE", "WEEKDATX", "WORDDATE",
        "WORDDATX", "JULIAN",  "E8601DA", "B8601DA", "IS8601DA", "YYQ",      NULL};
    static const char *const sas_datetime[] = {"DATETIME", "DATEAMPM", "E8601DT",
                                               "B8601DT",  "IS8601DT", NULL};
    static const char *const sas_time[] = {"TIME",    "HHMM",    "TOD",      "HOUR",
                                           "E8601TM", "B8601TM", "IS8601TM", NULL};
    *scale = 1;
    *shift = 0;
    if (!fmt || !*fmt)
        return RS_TIME_NONE;
    if (f == CX_IMPORT_SAV || f == CX_IMPORT_POR) {
        if (format_in(fmt, spss_datetime))
            return *shift = -SPSS_EPOCH_SECONDS, RS_DATETIME;
        if (format_in(fmt, spss_date))
            return *scale = 1 / 86400.0, *shift = -SPSS_EPOCH_SECONDS / 86400.0, RS_DATE;
        return format_in(fmt, spss_time) ? RS_DURATION : RS_TIME_NONE;
    }
    if (f == CX_IMPORT_DTA) {
        const char *p = fmt + (*fmt == '%');
        p += *p == '-';
        if (*p == 't')
            p++;
        else if (*p != 'd')
            return RS_TIME_NONE; /* %tw %tm %tq %th %ty stay numbers */
        if (*p == 'd')
            return *shift = -DAYS_1960_1970, RS_DATE;
        if (*p == 'c' || *p == 'C')
            return *scale = 1e-3, *shift = -DAYS_1960_1970 * 86400, RS_DATETIME;
        return RS_TIME_NONE;
    }
    if (format_in(fmt, sas_datetime))
        return *shift = -DAYS_1960_1970 * 86400, RS_DATETIME;
    if (format_in(fmt, sas_date))
        return *shift = -DAYS_1960_1970, RS_DATE;
    return format_in(fmt, sas_time) ? RS_DURATION : RS_TIME_NONE;
}

static const char *time_units(rs_time_kind kind)
{
    return kind == RS_DATE       ? "days since 1970-01-01"
           : kind == RS_DATETIME ? "seconds since 1970-01-01 00:00:00 UTC"
                                 : "seconds";
}

static int is_user_missing(const rs_column *c, double x)
{
    for (size_t i = 0; i < c->n_missing_ranges; i++)
        if (x >= c->missing_lo[i] && x <= c->missing_hi[i])
            return 1;
    return 0;
}

/* *out: the string value without trailing blanks (SPSS pads to the
 * width), or NULL when it is missing or empty. */
static int trimmed_string(rs_job *job, readstat_value_t value, readstat_variable_t *v,
                          const char **out)
{
    const char *s = readstat_string_value(value);
    *out = NULL;
    if (!s || readstat_value_is_missing(value, v))
        return CX_OK;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    if (n == 0)
        return CX_OK;
    if (grow((void **)&job->scratch, &job->scratch_cap, n + 1, 1, job->err) != CX_OK)
        return CX_ENOMEM;
    memcpy(job->scratch, s, n);
    job->scratch[n] = '\0';
    *out = job->scratch;
    return CX_OK;
}

/* ====================================================================== */
/* Pass 1 handlers                                                        */
/* ====================================================================== */

static int copy_missing_ranges(rs_column *c, readstat_variable_t *v, cx_error *err)
{
    int n = readstat_variable_get_missing_ranges_count(v);
    if (n <= 0 || readstat_variable_get_type_class(v) != READSTAT_TYPE_CLASS_NUMERIC)
        return CX_OK;
    c->missing_lo = cx_malloc((size_t)n * sizeof(double), err);
    c->missing_hi = cx_malloc((size_t)n * sizeof(double), err);
    if (!c->missing_lo || !c->missing_hi)
        return CX_ENOMEM;
    for (int i = 0; i < n; i++) {
        c->missing_lo[i] = readstat_double_value(readstat_variable_get_missing_range_lo(v, i));
        c->missing_hi[i] = readstat_double_value(readstat_variable_get_missing_range_hi(v, i));
    }
    c->n_missing_ranges = (size_t)n;
    return CX_OK;
}

static int on_variable(int index, readstat_variable_t *v, const char *val_labels, void *ctx)
{
    rs_job *job = ctx;
    cx_error *err = job->err;
    if (index < 0 || (size_t)index != job->ncols)
        return cx_error_set(err, CX_EIO, "%s: variables out of order", job->in), handler_fail(job);
    if (grow((void **)&job->cols, &job->cap_cols, job->ncols + 1, sizeof *job->cols, err) != CX_OK)
        return handler_fail(job);
    rs_column *c = &job->cols[job->ncols++];
    memset(c, 0, sizeof *c);
    const char *label = readstat_variable_get_label(v);
    c->name = cx_strdup(readstat_variable_get_name(v), err);
    c->label = label && *label ? cx_strdup(label, err) : NULL;
    c->set_name = val_labels && *val_labels ? cx_strdup(val_labels, err) : NULL;
    if (!c->name || (label && *label && !c->label) || (val_labels && *val_labels && !c->set_name))
        return handler_fail(job);
    c->is_string = readstat_variable_get_type_class(v) == READSTAT_TYPE_CLASS_STRING;
    c->measure = readstat_variable_get_measure(v);
    c->integral = 1;
    if (!c->is_string)
        c->time =
            time_kind(job->format, readstat_variable_get_format(v), &c->time_scale, &c->time_shift);
    return copy_missing_ranges(c, v, err) == CX_OK ? READSTAT_HANDLER_OK : handler_fail(job);
}

static rs_label_set *find_set(rs_job *job, const char *name)
{
    for (size_t i = 0; name && i < job->nsets; i++)
        if (strcmp(job->sets[i].name, name) == 0)
            return &job->sets[i];
    return NULL;
}

/* Labels of numeric values; labels of strings and of tagged missing
 * values (.a in Stata) are not kept (see the top). */
static int on_value_label(const char *set_name, readstat_value_t value, const char *label,
                          void *ctx)
{
    rs_job *job = ctx;
    cx_error *err = job->err;
    if (readstat_value_type_class(value) != READSTAT_TYPE_CLASS_NUMERIC ||
        readstat_value_is_tagged_missing(value) || readstat_value_is_system_missing(value))
        return READSTAT_HANDLER_OK;
    rs_label_set *s = find_set(job, set_name);
    if (!s) {
        if (grow((void **)&job->sets, &job->cap_sets, job->nsets + 1, sizeof *job->sets, err))
            return handler_fail(job);
        s = &job->sets[job->nsets++];
        memset(s, 0, sizeof *s);
        if (!(s->name = cx_strdup(set_name, err)))
            return handler_fail(job);
    }
    size_t cap = s->cap; /* values and labels grow alike: s->cap serves both */
    if (grow((void **)&s->values, &cap, s->n + 1, sizeof *s->values, err) != CX_OK ||
        grow((void **)&s->labels, &s->cap, s->n + 1, sizeof *s->labels, err) != CX_OK)
        return handler_fail(job);
    if (!(s->labels[s->n] = cx_strdup(label ? label : "", err)))
        return handler_fail(job);
    s->values[s->n++] = readstat_double_value(value);
    return READSTAT_HANDLER_OK;
}

static int observe_number(rs_column *c, double x)
{
    if (isnan(x) || is_user_missing(c, x)) {
        c->n_missing++;
        return READSTAT_HANDLER_OK;
    }
    c->min = c->n_values == 0 || x < c->min ? x : c->min;
    c->max = c->n_values == 0 || x > c->max ? x : c->max;
    c->n_values++;
    if (c->integral && !(x == floor(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        c->integral = 0;
    return READSTAT_HANDLER_OK;
}

static int on_value_observe(int obs, readstat_variable_t *v, readstat_value_t value, void *ctx)
{
    rs_job *job = ctx;
    int j = readstat_variable_get_index(v);
    if (obs < 0 || j < 0 || (size_t)j >= job->ncols)
        return cx_error_set(job->err, CX_EIO, "%s: a value outside the variables", job->in),
               handler_fail(job);
    if ((size_t)obs + 1 > job->nrows)
        job->nrows = (size_t)obs + 1;
    rs_column *c = &job->cols[j];
    if (!c->is_string)
        return observe_number(
            c, readstat_value_is_missing(value, v) ? NAN : readstat_double_value(value));
    const char *s;
    if (trimmed_string(job, value, v, &s) != CX_OK)
        return handler_fail(job);
    if (!s) {
        c->n_missing++;
        return READSTAT_HANDLER_OK;
    }
    c->n_values++;
    return cx_label_map_add(&c->strings, s, job->err) == CX_OK ? READSTAT_HANDLER_OK
                                                               : handler_fail(job);
}

static void on_error(const char *message, void *ctx)
{
    rs_job *job = ctx;
    snprintf(job->readstat_msg, sizeof job->readstat_msg, "%s", message ? message : "");
    size_t n = strlen(job->readstat_msg);
    while (n > 0 && isspace((unsigned char)job->readstat_msg[n - 1]))
        job->readstat_msg[--n] = '\0'; /* messages end in a newline */
}

/* ====================================================================== */
/* Parsing and its errors                                                 */
/* ====================================================================== */

/* What the first bytes say the file is (CX_IMPORT_CSV: none of ours), for
 * the message when the extension's parser refused it: a .dta renamed
 * .sav, or a damaged file of the right kind. */
static cx_import_format sniff(const char *path)
{
    unsigned char b[512] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    static const unsigned char sas_magic[] = {0xC2, 0xEA, 0x81, 0x60, 0xB3, 0x14, 0x11, 0xCF};
    if (n >= 4 && (memcmp(b, "$FL2", 4) == 0 || memcmp(b, "$FL3", 4) == 0))
        return CX_IMPORT_SAV;
    if (n >= 11 && memcmp(b, "<stata_dta>", 11) == 0)
        return CX_IMPORT_DTA;
    if (n >= 4 && b[0] >= 104 && b[0] <= 115 && (b[1] == 1 || b[1] == 2) && b[2] == 1)
        return CX_IMPORT_DTA; /* Stata 8-13: version byte, byte order, filetype 1 */
    if (n >= 20 && memcmp(b + 12, sas_magic, sizeof sas_magic) == 0)
        return CX_IMPORT_SAS7BDAT;
    if (n >= 6 && memcmp(b, "HEADER", 6) == 0)
        return CX_IMPORT_XPORT;
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(b + i, "SPSSPORT", 8) == 0)
            return CX_IMPORT_POR;
    return CX_IMPORT_CSV;
}

static int parse_failed(rs_job *job, readstat_error_t rc)
{
    if (job->handler_failed)
        return job->err->code ? job->err->code : CX_EIO;
    FILE *f = fopen(job->in, "rb");
    if (!f)
        return cx_error_set(job->err, CX_EIO, "%s: cannot open: %s", job->in, strerror(errno));
    fclose(f);
    cx_import_format is = sniff(job->in);
    char hint[128] = "";
    if (is == job->format)
        snprintf(hint, sizeof hint, "; the file is truncated or damaged");
    else if (is != CX_IMPORT_CSV)
        snprintf(hint, sizeof hint, "; its format is %s: give it that extension",
                 cx_import_format_name(is));
    return cx_error_set(job->err, CX_EIO, "%s: not a readable %s file (ReadStat: %s%s%s)%s",
                        job->in, cx_import_format_name(job->format), readstat_error_message(rc),
                        job->readstat_msg[0] ? ": " : "", job->readstat_msg, hint);
}

/* One pass over the file with the handlers given. */
static int parse(rs_job *job, readstat_variable_handler on_var, readstat_value_label_handler on_lab,
                 readstat_value_handler on_val)
{
    readstat_parser_t *p = readstat_parser_init();
    if (!p)
        return cx_error_set(job->err, CX_ENOMEM, "%s: out of memory", job->in);
    readstat_set_error_handler(p, on_error);
    if (on_var)
        readstat_set_variable_handler(p, on_var);
    if (on_lab)
        readstat_set_value_label_handler(p, on_lab);
    readstat_set_value_handler(p, on_val);
    job->readstat_msg[0] = '\0';
    readstat_error_t rc;
    switch (job->format) {
    case CX_IMPORT_SAV:
        rc = readstat_parse_sav(p, job->in, job);
        break;
    case CX_IMPORT_POR:
        rc = readstat_parse_por(p, job->in, job);
        break;
    case CX_IMPORT_DTA:
        rc = readstat_parse_dta(p, job->in, job);
        break;
    case CX_IMPORT_SAS7BDAT:
        rc = readstat_parse_sas7bdat(p, job->in, job);
        break;
    default:
        rc = readstat_parse_xport(p, job->in, job);
        break;
    }
    readstat_parser_free(p);
    return rc == READSTAT_OK && !job->handler_failed ? CX_OK : parse_failed(job, rc);
}

/* ====================================================================== */
/* Storage of each column                                                 */
/* ====================================================================== */

/* The labels of set `s` that apply to column c (user-missing codes
 * dropped), sorted by value when `sort`. */
static int take_labels(rs_job *job, rs_column *c, const rs_label_set *s, int sort)
{
    c->label_values = cx_malloc((s->n ? s->n : 1) * sizeof *c->label_values, job->err);
    c->label_texts = cx_malloc((s->n ? s->n : 1) * sizeof *c->label_texts, job->err);
    if (!c->label_values || !c->label_texts)
        return CX_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        if (is_user_missing(c, s->values[i]))
            continue;
        size_t at = c->n_labels++;
        while (sort && at > 0 && c->label_values[at - 1] > s->values[i]) { /* insertion */
            c->label_values[at] = c->label_values[at - 1];
            c->label_texts[at] = c->label_texts[at - 1];
            at--;
        }
        c->label_values[at] = s->values[i];
        c->label_texts[at] = s->labels[i];
    }
    return CX_OK;
}

/* A categorical column from value labels: each labelled value one
 * category, and two values may not share a label (the codes would be
 * ambiguous to anyone reading the labels). */
static int labelled_categorical(rs_job *job, rs_column *c, const rs_label_set *s)
{
    if (!s || s->n == 0)
        return cx_error_set(job->err, CX_EUSAGE,
                            "%s: --categorical %s: column '%s' has no value labels to name its "
                            "categories",
                            job->in, c->name, c->name);
    if (take_labels(job, c, s, 1) != CX_OK)
        return CX_ENOMEM;
    for (size_t a = 0; a < c->n_labels; a++)
        for (size_t b = a + 1; b < c->n_labels; b++)
            if (strcmp(c->label_texts[a], c->label_texts[b]) == 0)
                return cx_error_set(
                    job->err, CX_EUSAGE,
                    "%s: column '%s': value labels %g and %g are both '%s' (label set '%s'); "
                    "give --numeric %s to keep the numbers",
                    job->in, c->name, c->label_values[a], c->label_values[b], c->label_texts[a],
                    s->name, c->name);
    c->spec.kind = CX_COL_CATEGORICAL;
    c->spec.categories = c->label_texts;
    c->spec.n_categories = c->n_labels;
    return CX_OK;
}

static int choose_column(rs_job *job, rs_column *c)
{
    int categorical = cx_name_list_has(&job->force_categorical, c->name);
    int numeric = cx_name_list_has(&job->force_numeric, c->name);
    const rs_label_set *set = find_set(job, c->set_name);
    c->spec.name = c->name;
    c->spec.kind = CX_COL_FLOAT;
    if (categorical && numeric)
        return cx_error_set(job->err, CX_EUSAGE,
                            "%s: column '%s' is named by both --categorical and --numeric", job->in,
                            c->name);
    if (c->is_string) {
        if (numeric)
            return cx_error_set(job->err, CX_EUSAGE,
                                "%s: --numeric %s: column '%s' holds text, not numbers", job->in,
                                c->name, c->name);
        if (!(c->sorted = cx_label_map_sort(&c->strings, job->err)))
            return CX_ENOMEM;
        c->spec.kind = CX_COL_CATEGORICAL;
        c->spec.categories = c->sorted;
        c->spec.n_categories = c->strings.count;
        return CX_OK;
    }
    if (categorical || (!numeric && c->time == RS_TIME_NONE && set && set->n > 0 &&
                        c->measure == READSTAT_MEASURE_NOMINAL))
        return labelled_categorical(job, c, set);
    if (set && take_labels(job, c, set, 0) != CX_OK)
        return CX_ENOMEM;
    if (c->time != RS_TIME_NONE || !c->integral || c->n_values == 0)
        return CX_OK; /* float64 */
    cx_import_int_type((int64_t)c->min, (int64_t)c->max, c->n_missing > 0, &c->spec);
    return CX_OK;
}

static int choose_types(rs_job *job)
{
    for (size_t j = 0; j < job->ncols; j++)
        if (choose_column(job, &job->cols[j]) != CX_OK)
            return job->err->code;
    if (cx_name_list_check_used(&job->force_categorical, "--categorical", job->in, job->err) ||
        cx_name_list_check_used(&job->force_numeric, "--numeric", job->in, job->err))
        return CX_EUSAGE;
    return CX_OK;
}

/* ====================================================================== */
/* Pass 2: converting and writing                                         */
/* ====================================================================== */

static int flush_block(rs_job *job)
{
    rs_block *b = &job->block;
    for (size_t j = 0; b->filled > 0 && j < job->ncols; j++) {
        int rc =
            job->cols[j].spec.kind == CX_COL_INT
                ? cx_table_writer_write_i64(job->w, j, b->row0, b->filled, b->ints + j * b->rows,
                                            b->missing + j * b->rows, job->err)
                : cx_table_writer_write(job->w, j, b->row0, b->filled, b->dbl + j * b->rows,
                                        job->err);
        if (rc != CX_OK)
            return rc;
    }
    b->row0 += b->filled;
    b->filled = 0;
    return CX_OK;
}

/* Code of labelled value x (binary search; values sorted), or -1. */
static long label_code(const rs_column *c, double x)
{
    size_t lo = 0, hi = c->n_labels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->label_values[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_labels && c->label_values[lo] == x ? (long)lo : -1;
}

static int unlabelled_value(rs_job *job, const rs_column *c, size_t row, double x)
{
    char range[96] = "no labels";
    if (c->n_labels)
        snprintf(range, sizeof range, "%zu labels, values %g to %g", c->n_labels,
                 c->label_values[0], c->label_values[c->n_labels - 1]);
    return cx_error_set(job->err, CX_EUSAGE,
                        "%s: column '%s', row %zu: value %g has no value label (label set '%s': "
                        "%s); give --numeric %s to keep the numbers",
                        job->in, c->name, row + 1, x, c->set_name ? c->set_name : "", range,
                        c->name);
}

/* Value (x, or string s) of column j into the block row i. */
static int convert_value(rs_job *job, size_t j, size_t i, size_t row, double x, const char *s)
{
    rs_column *c = &job->cols[j];
    rs_block *b = &job->block;
    size_t at = j * b->rows + i;
    int miss = c->is_string ? s == NULL : isnan(x) || is_user_missing(c, x);
    if (c->spec.kind == CX_COL_INT) {
        b->missing[at] = (unsigned char)miss;
        b->ints[at] = miss ? 0 : (int64_t)x;
    } else if (c->spec.kind == CX_COL_FLOAT) {
        b->dbl[at] = miss ? NAN : c->time ? x * c->time_scale + c->time_shift : x;
    } else {
        long code = miss ? -1 : c->is_string ? cx_label_map_code(&c->strings, s) : label_code(c, x);
        if (code < 0 && !miss)
            return c->is_string
                       ? cx_error_set(job->err, CX_EIO,
                                      "%s: the file changed while it was being imported", job->in)
                       : unlabelled_value(job, c, row, x);
        b->dbl[at] = (double)code;
    }
    return CX_OK;
}

static int on_value_write(int obs, readstat_variable_t *v, readstat_value_t value, void *ctx)
{
    rs_job *job = ctx;
    rs_block *b = &job->block;
    int j = readstat_variable_get_index(v);
    if (obs < 0 || (size_t)obs >= job->nrows || j < 0 || (size_t)j >= job->ncols ||
        (size_t)obs < b->row0)
        return cx_error_set(job->err, CX_EIO, "%s: the file changed while it was being imported",
                            job->in),
               handler_fail(job);
    if ((size_t)obs >= b->row0 + b->rows && flush_block(job) != CX_OK)
        return handler_fail(job);
    size_t i = (size_t)obs - b->row0;
    if (i + 1 > b->filled)
        b->filled = i + 1;
    const char *s = NULL;
    double x = NAN;
    if (job->cols[j].is_string) {
        if (trimmed_string(job, value, v, &s) != CX_OK)
            return handler_fail(job);
    } else if (!readstat_value_is_missing(value, v)) {
        x = readstat_double_value(value);
    }
    return convert_value(job, (size_t)j, i, (size_t)obs, x, s) == CX_OK ? READSTAT_HANDLER_OK
                                                                        : handler_fail(job);
}

/* ReadStat's SAV reader needs a variable handler in every pass (it
 * crashes without one); pass 2 checks the variables did not change. */
static int on_variable_again(int index, readstat_variable_t *v, const char *val_labels, void *ctx)
{
    (void)val_labels;
    rs_job *job = ctx;
    if (index < 0 || (size_t)index >= job->ncols ||
        strcmp(job->cols[index].name, readstat_variable_get_name(v)) != 0)
        return cx_error_set(job->err, CX_EIO, "%s: the file changed while it was being imported",
                            job->in),
               handler_fail(job);
    return READSTAT_HANDLER_OK;
}

/* Attributes: `label`, `units`, and the value labels of numeric columns. */
static int add_column(rs_job *job, size_t j)
{
    rs_column *c = &job->cols[j];
    cx_table_writer *w = job->w;
    if (cx_table_writer_add(w, &c->spec, NULL, job->err) != CX_OK)
        return job->err->code;
    if (c->label && cx_table_writer_set_text(w, j, "label", c->label, job->err) != CX_OK)
        return job->err->code;
    if (c->spec.kind == CX_COL_FLOAT && c->time &&
        cx_table_writer_set_text(w, j, "units", time_units(c->time), job->err) != CX_OK)
        return job->err->code;
    if (c->spec.kind != CX_COL_CATEGORICAL && c->n_labels &&
        cx_table_writer_set_value_labels(w, j, c->label_values, c->label_texts, c->n_labels,
                                         job->err) != CX_OK)
        return job->err->code;
    return CX_OK;
}

static int fill_table(void *ctx, cx_table_writer *w, cx_error *err)
{
    rs_job *job = ctx;
    rs_block *b = &job->block;
    job->w = w;
    for (size_t j = 0; j < job->ncols; j++)
        if (add_column(job, j) != CX_OK)
            return err->code;
    b->rows = cx_import_block_rows(job->ncols);
    b->dbl = cx_malloc(job->ncols * b->rows * sizeof *b->dbl, err);
    b->ints = cx_malloc(job->ncols * b->rows * sizeof *b->ints, err);
    b->missing = cx_malloc(job->ncols * b->rows, err);
    if (!b->dbl || !b->ints || !b->missing)
        return CX_ENOMEM;
    if (parse(job, on_variable_again, NULL, on_value_write) != CX_OK || flush_block(job) != CX_OK)
        return err->code;
    if (b->row0 != job->nrows)
        return cx_error_set(err, CX_EIO, "%s: the file changed while it was being imported",
                            job->in);
    return CX_OK;
}

/* ====================================================================== */
/* The whole import                                                       */
/* ====================================================================== */

static void job_free(rs_job *job)
{
    for (size_t j = 0; j < job->ncols; j++) {
        rs_column *c = &job->cols[j];
        free(c->name);
        free(c->label);
        free(c->set_name);
        free(c->missing_lo);
        free(c->missing_hi);
        cx_label_map_free(&c->strings);
        free(c->sorted);
        free(c->label_values);
        free(c->label_texts);
    }
    for (size_t i = 0; i < job->nsets; i++) {
        for (size_t k = 0; k < job->sets[i].n; k++)
            free(job->sets[i].labels[k]);
        free(job->sets[i].labels);
        free(job->sets[i].values);
        free(job->sets[i].name);
    }
    free(job->cols);
    free(job->sets);
    free(job->scratch);
    free(job->block.dbl);
    free(job->block.ints);
    free(job->block.missing);
    cx_name_list_free(&job->force_categorical);
    cx_name_list_free(&job->force_numeric);
}

int cx_import_readstat_file(const char *in, const char *out_h5, cx_import_format format,
                            const cx_import_options *opt, cx_import_summary *summary, cx_error *err)
{
    cx_error local = {0};
    if (!err)
        err = &local;
    rs_job job = {.in = in, .format = format, .opt = opt, .err = err};
    const char *table = opt->table ? opt->table : CX_IMPORT_DEFAULT_TABLE;
    int rc = cx_name_list_parse(&job.force_categorical, opt->categorical, "--categorical", err);
    if (rc == CX_OK)
        rc = cx_name_list_parse(&job.force_numeric, opt->numeric, "--numeric", err);
    if (rc == CX_OK)
        rc = parse(&job, on_variable, on_value_label, on_value_observe);
    if (rc == CX_OK && job.ncols == 0)
        rc = cx_error_set(err, CX_EUSAGE, "%s: the file has no variables", in);
    if (rc == CX_OK)
        rc = choose_types(&job);
    if (rc == CX_OK)
        rc = cx_import_write(out_h5, table, job.nrows, fill_table, &job, err);
    if (rc == CX_OK && summary)
        *summary = (cx_import_summary){format, job.nrows, job.ncols, 0};
    job_free(&job);
    return rc;
}
