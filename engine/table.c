/*
 * table.c — column tables: HDF5 groups of 1-D datasets, or arrays in memory.
 *
 * Implements engine/table.h.  An HDF5 table keeps its file and one open
 * dataset per column for its whole life, so a block read is just a
 * hyperslab H5Dread per column.  Each column is read in its own native
 * type into the caller's (contiguous) output column and widened to double
 * in place, from the last element down: HDF5 never converts into strided
 * memory (TOOLCHAIN.md: 300x slower), and no extra buffer is needed.
 *
 * All HDF5 calls run inside `#pragma omp critical(cx_hdf5)`, the one lock
 * every part of cxfit that touches HDF5 shares; conversion runs outside
 * it, so threads reading different blocks overlap their conversion work.
 * Chunked, deflated columns go further: only the raw chunk bytes are
 * fetched under the lock and inflated outside it (table_chunks.c), since
 * inflate is most of their read and HDF5 would serialise it.
 */
#include "table.h"
#include "table_blocks.h"
#include "table_chunks.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for at least this many chunks of every column in its chunk cache:
 * one block of CX_BLOCK_ROWS rows plus the chunk that straddles its end. */
#define CACHE_MAX_BYTES ((size_t)64 << 20)
#define CACHE_SLOTS 12421 /* a prime, as HDF5 recommends */

typedef struct hdf5_column {
    hid_t dset;         /* open dataset                                  */
    hid_t mem_type;     /* native type read into memory (not owned)      */
    cx_chunk_plan plan; /* decode chunks outside the lock when usable */
} hdf5_column;

struct cx_table {
    char *label;
    size_t nrows;
    size_t ncols, cap_cols;
    long sized_by; /* the first 1-D column, which set nrows; -1: none yet */
    cx_column_info *info;
    /* HDF5 backend (file < 0 for memory tables) */
    hid_t file;
    hdf5_column *h5;
    int chunk_path;         /* 0: always H5Dread (tests compare the two)  */
    int chunk_fd;           /* cx_chunk_file_fd of file, or -1            */
    int no_small;           /* 1: cx_table_columns_small always says no   */
    size_t direct_chunks;   /* column block reads served by table_chunks.c */
    cx_block_cache *blocks; /* decoded blocks kept for the stage (table_blocks.h) */
    /* memory backend: one double array per column */
    double **values;
};

/* ---------- shared helpers ---------- */

static void free_categories(cx_column_info *c)
{
    if (c->categories) {
        for (size_t k = 0; k < c->n_categories; k++)
            free(c->categories[k]);
        free(c->categories);
    }
    c->categories = NULL;
    c->n_categories = 0;
    free(c->label); /* the other owned attribute */
    c->label = NULL;
}

static int grow_columns(cx_table *t, cx_error *err)
{
    if (t->ncols < t->cap_cols)
        return CX_OK;
    size_t cap = t->cap_cols ? 2 * t->cap_cols : 16;
    cx_column_info *info = realloc(t->info, cap * sizeof *info);
    if (!info)
        return cx_error_set(err, CX_ENOMEM, "%s: out of memory adding a column", t->label);
    t->info = info;
    if (t->file >= 0) {
        hdf5_column *h5 = realloc(t->h5, cap * sizeof *h5);
        if (!h5)
            return cx_error_set(err, CX_ENOMEM, "%s: out of memory adding a column", t->label);
        t->h5 = h5;
    } else {
        double **values = realloc(t->values, cap * sizeof *values);
        if (!values)
            return cx_error_set(err, CX_ENOMEM, "%s: out of memory adding a column", t->label);
        t->values = values;
    }
    t->cap_cols = cap;
    return CX_OK;
}

static cx_table *table_alloc(const char *label, hid_t file, cx_error *err)
{
    cx_table *t = cx_calloc(1, sizeof *t, err);
    if (!t)
        return NULL;
    t->file = file;
    t->chunk_fd = -1;
    t->sized_by = -1;
    t->label = cx_strdup(label, err);
    if (!t->label) {
        free(t);
        return NULL;
    }
    return t;
}

const char *cx_table_label(const cx_table *t)
{
    return t->label;
}
size_t cx_table_nrows(const cx_table *t)
{
    return t->nrows;
}
size_t cx_table_ncols(const cx_table *t)
{
    return t->ncols;
}

const cx_column_info *cx_table_column(const cx_table *t, size_t index)
{
    return index < t->ncols ? &t->info[index] : NULL;
}

int cx_table_find(const cx_table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->info[j].name, name) == 0)
            return (int)j;
    return -1;
}

/* ---------- in-memory backend ---------- */

cx_table *cx_table_memory_alloc(const char *label, size_t nrows, cx_error *err)
{
    cx_table *t = table_alloc(label, -1, err);
    if (t)
        t->nrows = nrows;
    return t;
}

static int copy_categories(cx_column_info *c, char *const *labels, size_t n, cx_error *err)
{
    c->categories = cx_calloc(n, sizeof *c->categories, err);
    if (!c->categories)
        return err ? err->code : CX_ENOMEM;
    c->n_categories = n;
    for (size_t k = 0; k < n; k++) {
        c->categories[k] = cx_strdup(labels[k] ? labels[k] : "", err);
        if (!c->categories[k]) {
            free_categories(c);
            return err ? err->code : CX_ENOMEM;
        }
    }
    return CX_OK;
}

int cx_table_memory_add_column(cx_table *t, const char *name, cx_column_kind kind,
                               const double *values, char *const *categories, size_t n_categories,
                               cx_error *err)
{
    if (t->file >= 0)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: cannot add column '%s' to a table read from a file", t->label,
                            name);
    if (strlen(name) == 0 || strlen(name) >= CX_NAME_MAX)
        return cx_error_set(err, CX_EUSAGE, "%s: column name '%s' must have 1 to %d characters",
                            t->label, name, CX_NAME_MAX - 1);
    if (cx_table_find(t, name) >= 0)
        return cx_error_set(err, CX_EUSAGE, "%s: duplicate column '%s'", t->label, name);
    if (kind == CX_COL_STRING)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: column '%s': in-memory tables hold numeric columns only", t->label,
                            name);
    if (kind == CX_COL_CATEGORICAL && n_categories > 0 && !categories)
        return cx_error_set(err, CX_EUSAGE, "%s: column '%s': categories missing", t->label, name);
    if (grow_columns(t, err) != CX_OK)
        return err ? err->code : CX_ENOMEM;

    cx_column_info *c = &t->info[t->ncols];
    memset(c, 0, sizeof *c);
    strcpy(c->name, name);
    c->kind = kind;
    c->bytes = (int)sizeof(double);
    if (kind == CX_COL_CATEGORICAL && copy_categories(c, categories, n_categories, err) != CX_OK)
        return err ? err->code : CX_ENOMEM;
    double *copy = cx_malloc(t->nrows * sizeof *copy, err);
    if (!copy) {
        free_categories(c);
        return err ? err->code : CX_ENOMEM;
    }
    if (t->nrows)
        memcpy(copy, values, t->nrows * sizeof *copy);
    t->values[t->ncols] = copy;
    t->ncols++;
    return CX_OK;
}

/* ---------- HDF5 backend: reading the column descriptions ---------- */

/* A dataset that cannot be a column is kept as an unusable column: its
 * reason is reported when a job reads it (cx_table_check_numeric), so one
 * odd dataset does not block the jobs that never touch it.  Returns -1,
 * the "not usable" outcome of the describe_* helpers below. */
static int unusable(cx_column_info *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unusable(cx_column_info *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->unusable, sizeof c->unusable, fmt, ap);
    va_end(ap);
    c->kind = CX_COL_UNUSABLE;
    return -1;
}

/* Labels of a string-array attribute, fixed or variable length.  Returns
 * CX_OK, CX_ENOMEM, or -1 (column marked unusable). */
static int read_string_array(hid_t attr, cx_column_info *c, cx_error *err)
{
    int rc = CX_OK;
    hid_t ftype = H5Aget_type(attr), space = H5Aget_space(attr), mtype = -1;
    int rank = H5Sget_simple_extent_ndims(space);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (H5Tget_class(ftype) != H5T_STRING || rank > 1 || n < 0) {
        rc = unusable(c, "attribute 'categories' must be a 1-D array of strings");
        goto done;
    }
    c->categories = cx_calloc((size_t)n ? (size_t)n : 1, sizeof *c->categories, err);
    if (!c->categories) {
        rc = CX_ENOMEM;
        goto done;
    }
    c->n_categories = (size_t)n;
    mtype = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mtype, H5Tget_cset(ftype)); /* h5py writes UTF-8 labels */
    if (H5Tis_variable_str(ftype) > 0) {
        H5Tset_size(mtype, H5T_VARIABLE);
        char **vl = cx_calloc((size_t)n ? (size_t)n : 1, sizeof *vl, err);
        if (!vl) {
            rc = CX_ENOMEM;
            goto done;
        }
        int read_ok = H5Aread(attr, mtype, vl) >= 0;
        if (!read_ok)
            rc = unusable(c, "cannot read its attribute 'categories'");
        for (hssize_t k = 0; rc == CX_OK && k < n; k++)
            if (!(c->categories[k] = cx_strdup(vl[k] ? vl[k] : "", err)))
                rc = CX_ENOMEM;
        if (read_ok)
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, vl);
        free(vl);
    } else {
        size_t len = H5Tget_size(ftype);
        H5Tset_size(mtype, len);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        char *buf = cx_calloc((size_t)n + 1, len, err);
        if (!buf) {
            rc = CX_ENOMEM;
            goto done;
        }
        if (H5Aread(attr, mtype, buf) < 0)
            rc = unusable(c, "cannot read its attribute 'categories'");
        for (hssize_t k = 0; rc == CX_OK && k < n; k++) {
            const char *s = buf + (size_t)k * len;
            size_t l = strnlen(s, len);
            if (!(c->categories[k] = cx_malloc(l + 1, err))) {
                rc = CX_ENOMEM;
                break;
            }
            memcpy(c->categories[k], s, l);
            c->categories[k][l] = '\0';
        }
        free(buf);
    }
done:
    if (mtype >= 0)
        H5Tclose(mtype);
    H5Sclose(space);
    H5Tclose(ftype);
    if (rc != CX_OK)
        free_categories(c);
    return rc;
}

/* The optional `label` attribute (a variable's question text, as `cxfit
 * import` keeps it from SPSS/Stata/SAS files): one string; anything else
 * is ignored, since a label only decorates output. */
static int read_label(hid_t dset, cx_column_info *c, cx_error *err)
{
    if (H5Aexists(dset, "label") <= 0)
        return CX_OK;
    int rc = CX_OK;
    hid_t attr = H5Aopen(dset, "label", H5P_DEFAULT);
    hid_t ftype = H5Aget_type(attr), space = H5Aget_space(attr);
    if (H5Tget_class(ftype) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
        hid_t mtype = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mtype, H5Tget_cset(ftype));
        if (H5Tis_variable_str(ftype) > 0) {
            char *s = NULL;
            H5Tset_size(mtype, H5T_VARIABLE);
            if (H5Aread(attr, mtype, &s) >= 0 && s) {
                rc = (c->label = cx_strdup(s, err)) ? CX_OK : CX_ENOMEM;
                H5free_memory(s);
            }
        } else {
            size_t len = H5Tget_size(ftype);
            char *buf = cx_calloc(len + 1, 1, err);
            H5Tset_size(mtype, len);
            H5Tset_strpad(mtype, H5T_STR_NULLPAD);
            if (!buf)
                rc = CX_ENOMEM;
            else if (H5Aread(attr, mtype, buf) >= 0)
                c->label = buf, buf = NULL;
            free(buf);
        }
        H5Tclose(mtype);
    }
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(attr);
    return rc;
}

/* The attribute `missing_value` of an integer column as a value of the
 * column's own type, in c->missing_int (signed) or c->missing_uint: the
 * raw values are compared with it in that type, since a double cannot
 * tell 2^53 from 2^53 + 1.  Integer attributes are read as int64 or
 * uint64 (by their sign), float ones must hold a whole number; either way
 * the value must fit the column's type, or nothing could ever match it. */
static int integer_missing_value(hid_t attr, hid_t atype, cx_column_info *c)
{
    int negative = 0;
    uint64_t magnitude = 0; /* |value|, as two's complement allows */
    if (H5Tget_class(atype) == H5T_INTEGER && H5Tget_sign(atype) != H5T_SGN_NONE) {
        int64_t v;
        if (H5Aread(attr, H5T_NATIVE_INT64, &v) < 0)
            return unusable(c, "cannot read its attribute 'missing_value'");
        negative = v < 0;
        magnitude = negative ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    } else if (H5Tget_class(atype) == H5T_INTEGER) {
        if (H5Aread(attr, H5T_NATIVE_UINT64, &magnitude) < 0)
            return unusable(c, "cannot read its attribute 'missing_value'");
    } else {
        double d;
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &d) < 0)
            return unusable(c, "cannot read its attribute 'missing_value'");
        if (!(d == floor(d) && fabs(d) < 18446744073709551616.0))
            return unusable(c, "attribute 'missing_value' is %g, not a value of its integer type",
                            d);
        negative = d < 0;
        magnitude = (uint64_t)fabs(d);
    }
    int bits = 8 * c->bytes;
    uint64_t max_pos = c->is_unsigned ? (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1)
                                      : ((uint64_t)1 << (bits - 1)) - 1;
    uint64_t max_neg = c->is_unsigned ? 0 : (uint64_t)1 << (bits - 1);
    if (negative ? magnitude > max_neg : magnitude > max_pos)
        return unusable(c,
                        "attribute 'missing_value' (%s%llu) is outside the range of its %s%d "
                        "type, so no value could match it",
                        negative ? "-" : "", (unsigned long long)magnitude,
                        c->is_unsigned ? "uint" : "int", bits);
    c->missing_uint = magnitude;
    c->missing_int = negative
                         ? (magnitude == max_neg && bits == 64 ? INT64_MIN : -(int64_t)magnitude)
                         : (int64_t)magnitude;
    c->missing_value = negative ? -(double)magnitude : (double)magnitude;
    return CX_OK;
}

/* The `missing_value` attribute: one number, compared in the column's type. */
static int read_missing_value(hid_t dset, cx_column_info *c)
{
    hid_t attr = H5Aopen(dset, "missing_value", H5P_DEFAULT);
    hid_t space = H5Aget_space(attr), type = H5Aget_type(attr);
    H5T_class_t cls = H5Tget_class(type);
    int rc;
    if (H5Sget_simple_extent_npoints(space) != 1 || (cls != H5T_INTEGER && cls != H5T_FLOAT))
        rc = unusable(c, "attribute 'missing_value' must be one number");
    else if (c->kind == CX_COL_INT)
        rc = integer_missing_value(attr, type, c);
    else
        rc = H5Aread(attr, H5T_NATIVE_DOUBLE, &c->missing_value) >= 0
                 ? CX_OK
                 : unusable(c, "cannot read its attribute 'missing_value'");
    H5Tclose(type);
    H5Sclose(space);
    H5Aclose(attr);
    if (rc == CX_OK)
        c->has_missing_value = 1;
    return rc;
}

/* The `missing_value` and `categories` attributes of a numeric column. */
static int read_column_attributes(hid_t dset, cx_column_info *c, cx_error *err)
{
    if (H5Aexists(dset, "missing_value") > 0 && read_missing_value(dset, c) != CX_OK)
        return -1;
    if (H5Aexists(dset, "categories") > 0) {
        if (c->kind != CX_COL_INT)
            return unusable(c, "'categories' needs integer codes, not floats");
        hid_t attr = H5Aopen(dset, "categories", H5P_DEFAULT);
        int rc = read_string_array(attr, c, err);
        H5Aclose(attr);
        if (rc != CX_OK)
            return rc;
        c->kind = CX_COL_CATEGORICAL;
    }
    return CX_OK;
}

hid_t cx_native_integer_type(size_t size, int is_unsigned)
{
    switch (size) {
    case 1:
        return is_unsigned ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8;
    case 2:
        return is_unsigned ? H5T_NATIVE_UINT16 : H5T_NATIVE_INT16;
    case 4:
        return is_unsigned ? H5T_NATIVE_UINT32 : H5T_NATIVE_INT32;
    case 8:
        return is_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
    default:
        return -1;
    }
}

static const char *class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_ENUM:
        return "an enum (e.g. a bool)";
    case H5T_COMPOUND:
        return "a compound (record)";
    case H5T_ARRAY:
        return "an array";
    case H5T_VLEN:
        return "a variable-length sequence";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_REFERENCE:
        return "a reference";
    case H5T_BITFIELD:
        return "a bitfield";
    case H5T_TIME:
        return "a time";
    default:
        return "an unknown class";
    }
}

/* Kind, element size and memory type from the dataset's stored type;
 * -1 when no column can have that type. */
static int classify_type(hid_t dset, cx_column_info *c, hid_t *mem_type)
{
    hid_t ftype = H5Dget_type(dset);
    H5T_class_t cls = H5Tget_class(ftype);
    size_t size = H5Tget_size(ftype);
    int rc = CX_OK;
    *mem_type = -1;
    if (cls == H5T_INTEGER) {
        c->kind = CX_COL_INT;
        c->is_unsigned = H5Tget_sign(ftype) == H5T_SGN_NONE;
        *mem_type = cx_native_integer_type(size, c->is_unsigned);
        c->bytes = (int)size;
    } else if (cls == H5T_FLOAT) {
        /* float16/long double are widened by HDF5 into a contiguous buffer */
        c->kind = CX_COL_FLOAT;
        *mem_type = size <= 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        c->bytes = size <= 4 ? 4 : 8;
    } else if (cls == H5T_STRING) {
        c->kind = CX_COL_STRING;
        c->bytes = (int)size;
    }
    if (cls == H5T_INTEGER && *mem_type < 0)
        rc = unusable(c, "its HDF5 type is a %zu-byte integer; expected 1, 2, 4 or 8 bytes", size);
    else if (cls != H5T_STRING && *mem_type < 0)
        rc = unusable(c,
                      "its HDF5 type is %s (%zu bytes); expected an integer, float or string "
                      "dataset",
                      class_name(cls), size);
    H5Tclose(ftype);
    return rc;
}

/* Rows a column declares that no write ever stored (chunks never
 * allocated, or a contiguous dataset with no storage) read as HDF5's fill
 * value.  A few are a valid sparse layout (a writer that left blocks
 * missing), so they are kept; but a resizable column "declared" 2^40 rows
 * and never written would be read as 2^40 fill values, hours of work with
 * nothing to show.  So a column is refused when its never-written rows
 * are more than its written ones and more than UNWRITTEN_MAX_ROWS (about
 * a second of reading). */
#define UNWRITTEN_MAX_ROWS ((hsize_t)1 << 24)
static int check_rows_stored(hid_t dset, hsize_t len, cx_column_info *c)
{
    if (len <= UNWRITTEN_MAX_ROWS)
        return CX_OK;
    hid_t dcpl = H5Dget_create_plist(dset);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    hsize_t chunk = 0, written = len;
    if (layout == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &chunk) != 1)
        chunk = 0;
    H5Pclose(dcpl);
    if (layout == H5D_CHUNKED && chunk > 0) {
        hsize_t allocated = 0;
        hid_t space = H5Dget_space(dset); /* HDF5 1.10.8 refuses H5S_ALL here */
        if (H5Dget_num_chunks(dset, space, &allocated) >= 0)
            written = allocated * chunk < len ? allocated * chunk : len;
        H5Sclose(space);
    } else if (layout == H5D_CONTIGUOUS && H5Dget_storage_size(dset) == 0) {
        written = 0;
    }
    hsize_t unwritten = len - written;
    if (unwritten > written && unwritten > UNWRITTEN_MAX_ROWS)
        return unusable(c,
                        "it declares %llu rows but only %llu were ever written (a resized, "
                        "unfilled dataset?); cxfit refuses columns whose never-written rows "
                        "exceed both their written rows and %llu",
                        (unsigned long long)len, (unsigned long long)written,
                        (unsigned long long)UNWRITTEN_MAX_ROWS);
    return CX_OK;
}

/* Give the dataset a chunk cache big enough for one block of rows. */
static hid_t open_with_cache(hid_t group, const char *name, hid_t dset)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    hsize_t chunk = 0;
    int chunked = H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &chunk) == 1;
    H5Pclose(dcpl);
    if (!chunked || chunk == 0)
        return dset;
    hid_t ftype = H5Dget_type(dset);
    size_t chunk_bytes = (size_t)chunk * H5Tget_size(ftype);
    H5Tclose(ftype);
    size_t nchunks = (CX_BLOCK_ROWS + (size_t)chunk - 1) / (size_t)chunk + 1;
    size_t bytes = nchunks * chunk_bytes;
    if (bytes < ((size_t)1 << 20))
        bytes = (size_t)1 << 20;
    if (bytes > CACHE_MAX_BYTES)
        bytes = chunk_bytes > CACHE_MAX_BYTES ? chunk_bytes : CACHE_MAX_BYTES;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, CACHE_SLOTS, bytes, 1.0);
    hid_t cached = H5Dopen2(group, name, dapl);
    H5Pclose(dapl);
    if (cached < 0)
        return dset;
    H5Dclose(dset);
    return cached;
}

/* The origin of an 8-byte integer column (see table.h): its first present
 * value among the first rows, low 11 bits cleared so that it is a double
 * too, when that value is beyond 2^32; else 0 (reads are unchanged, so
 * ordinary int64 columns give bit-identical results).  2^32, not 2^53: a
 * column starting at 2^53 - 1 may go on to 2^53 + 1. */
#define ORIGIN_PROBE_ROWS 4096
#define ORIGIN_FROM 4294967296.0 /* 2^32 */
static void choose_origin(hid_t dset, hid_t mem_type, hsize_t len, cx_column_info *c)
{
    uint64_t raw[ORIGIN_PROBE_ROWS];
    hsize_t start = 0, count = len < ORIGIN_PROBE_ROWS ? len : ORIGIN_PROBE_ROWS;
    if (count == 0)
        return;
    hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(1, &count, NULL);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL);
    herr_t st = H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, raw);
    H5Sclose(mspace);
    H5Sclose(fspace);
    for (hsize_t i = 0; st >= 0 && i < count; i++) {
        if (c->is_unsigned) {
            uint64_t x = raw[i];
            if (c->has_missing_value && x == c->missing_uint)
                continue;
            if ((double)x >= ORIGIN_FROM) {
                c->origin_uint = x & ~(uint64_t)0x7FF;
                c->origin = (double)c->origin_uint;
            }
        } else {
            int64_t x;
            memcpy(&x, raw + i, sizeof x);
            if (c->has_missing_value && x == c->missing_int)
                continue;
            if (fabs((double)x) >= ORIGIN_FROM) {
                /* rounds down by < 2^11: never out of range (INT64_MIN
                 * has those bits clear already) */
                c->origin_int = x - (x & 0x7FF);
                c->origin = (double)c->origin_int;
            }
        }
        return;
    }
}

/* Shape of a dataset: 1-D with its length, else -1 (column unusable). */
static int column_shape(hid_t dset, cx_column_info *c, hsize_t *len)
{
    hid_t space = H5Dget_space(dset);
    int rank = H5Sget_simple_extent_ndims(space);
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    *len = 0;
    if (rank == 1)
        H5Sget_simple_extent_dims(space, len, NULL);
    H5Sclose(space);
    if (cls == H5S_NULL)
        return unusable(c, "it is an empty (null) dataset; table columns are 1-D arrays");
    if (rank == 0)
        return unusable(c, "it is a scalar (0-D dataset); table columns are 1-D arrays");
    if (rank != 1)
        return unusable(c, "it has %d dimensions; table columns must be 1-D", rank);
    return CX_OK;
}

/* Check one dataset and append it as a column.  Only a 1-D column of
 * another length than the others fails the whole table (which length is
 * right cannot be known); any other problem makes just the column
 * unusable. */
static int add_hdf5_column(cx_table *t, hid_t group, const char *name, hid_t dset, cx_error *err)
{
    if (strlen(name) >= CX_NAME_MAX) {
        H5Dclose(dset);
        return cx_error_set(err, CX_EUSAGE, "%s: column name '%.40s...' is longer than %d",
                            t->label, name, CX_NAME_MAX - 1);
    }
    if (grow_columns(t, err) != CX_OK) {
        H5Dclose(dset);
        return err ? err->code : CX_ENOMEM;
    }
    cx_column_info *c = &t->info[t->ncols];
    memset(c, 0, sizeof *c);
    strcpy(c->name, name);
    hsize_t len = 0;
    int one_d = column_shape(dset, c, &len) == CX_OK;
    if (one_d && t->sized_by >= 0 && (size_t)len != t->nrows) {
        H5Dclose(dset);
        return cx_error_set(err, CX_EUSAGE, "%s: column '%s' has %llu rows but column '%s' has %zu",
                            t->label, name, (unsigned long long)len, t->info[t->sized_by].name,
                            t->nrows);
    }
    hid_t mem_type = -1;
    int rc = one_d ? classify_type(dset, c, &mem_type) : -1;
    if (rc == CX_OK && c->kind != CX_COL_STRING)
        rc = read_column_attributes(dset, c, err);
    if (rc == CX_OK)
        rc = check_rows_stored(dset, len, c);
    if (rc == CX_OK)
        rc = read_label(dset, c, err);
    if (rc == CX_ENOMEM) {
        free_categories(c);
        H5Dclose(dset);
        return rc;
    }
    if (rc != CX_OK) { /* unusable: keep its name, read nothing from it */
        free_categories(c);
        c->kind = CX_COL_UNUSABLE;
        mem_type = -1;
    }
    if (rc == CX_OK && c->kind == CX_COL_INT && c->bytes == 8)
        choose_origin(dset, mem_type, len, c);
    t->h5[t->ncols].dset = rc == CX_OK ? open_with_cache(group, name, dset) : dset;
    t->h5[t->ncols].mem_type = mem_type;
    cx_chunk_plan_init(t->h5[t->ncols].dset, mem_type, t->chunk_fd, &t->h5[t->ncols].plan);
    if (one_d && t->sized_by < 0) {
        t->nrows = (size_t)len;
        t->sized_by = (long)t->ncols;
    }
    t->ncols++;
    return CX_OK;
}

/* Columns in creation order when the group tracks it (our own files do),
 * else in name order (h5py's default). */
static H5_index_t column_order(hid_t group)
{
    hid_t gcpl = H5Gget_create_plist(group);
    unsigned flags = 0;
    H5Pget_link_creation_order(gcpl, &flags);
    H5Pclose(gcpl);
    return (flags & H5P_CRT_ORDER_TRACKED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
}

static int add_all_columns(cx_table *t, hid_t group, cx_error *err)
{
    H5G_info_t ginfo;
    if (H5Gget_info(group, &ginfo) < 0)
        return cx_error_set(err, CX_EIO, "%s: cannot list the group", t->label);
    H5_index_t order = column_order(group);
    for (hsize_t i = 0; i < ginfo.nlinks; i++) {
        char name[1024];
        ssize_t len =
            H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        if (len < 0 || (size_t)len >= sizeof name)
            return cx_error_set(err, CX_EIO, "%s: cannot read the name of member %llu", t->label,
                                (unsigned long long)i);
        hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
        if (obj < 0)
            continue; /* dangling link: not a column */
        if (H5Iget_type(obj) != H5I_DATASET) {
            H5Oclose(obj); /* sub-groups (e.g. nested result tables) are not columns */
            continue;
        }
        if (add_hdf5_column(t, group, name, obj, err) != CX_OK)
            return err ? err->code : CX_EUSAGE;
    }
    if (t->ncols == 0)
        return cx_error_set(err, CX_EUSAGE, "%s: the group holds no datasets (columns)", t->label);
    return CX_OK;
}

static void close_locked(cx_table *t)
{
    cx_block_cache_free(t->blocks);
    for (size_t j = 0; j < t->ncols; j++) {
        free_categories(&t->info[j]);
        if (t->file >= 0)
            H5Dclose(t->h5[j].dset);
        else
            free(t->values[j]);
    }
    if (t->file >= 0)
        H5Fclose(t->file);
    free(t->h5);
    free(t->values);
    free(t->info);
    free(t->label);
    free(t);
}

static cx_table *open_locked(const char *file, const char *group_path, cx_error *err)
{
    char label[2048];
    snprintf(label, sizeof label, "%s:%s", file, group_path);
    if (access(file, R_OK) != 0) {
        cx_error_set(err, CX_EIO, "%s: file not found or not readable", file);
        return NULL;
    }
    hid_t fid, gid = -1;
    H5E_BEGIN_TRY
    {
        fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (fid < 0) {
        cx_error_set(err, CX_EIO, "%s: not an HDF5 file", file);
        return NULL;
    }
    H5E_BEGIN_TRY
    {
        hid_t obj = H5Oopen(fid, group_path, H5P_DEFAULT);
        if (obj >= 0 && H5Iget_type(obj) == H5I_GROUP)
            gid = obj;
        else if (obj >= 0)
            H5Oclose(obj);
    }
    H5E_END_TRY;
    if (gid < 0) {
        H5Fclose(fid);
        cx_error_set(err, CX_EIO, "%s: no table (HDF5 group) '%s' in the file", label, group_path);
        return NULL;
    }
    cx_table *t = table_alloc(label, fid, err);
    if (t) {
        t->chunk_path = 1;
        t->chunk_fd = cx_chunk_file_fd(fid);
    }
    if (!t) {
        H5Gclose(gid);
        H5Fclose(fid);
        return NULL;
    }
    int rc;
    H5E_BEGIN_TRY
    {
        rc = add_all_columns(t, gid, err);
    }
    H5E_END_TRY;
    H5Gclose(gid);
    if (rc != CX_OK) {
        close_locked(t);
        return NULL;
    }
    return t;
}

cx_table *cx_table_open(const char *file, const char *group_path, cx_error *err)
{
    cx_table *t;
#pragma omp critical(cx_hdf5)
    t = open_locked(file, group_path, err);
    return t;
}

void cx_table_close(cx_table *t)
{
    if (!t)
        return;
    if (t->file >= 0) {
#pragma omp critical(cx_hdf5)
        close_locked(t);
    } else {
        close_locked(t);
    }
}

/* ---------- block reads ---------- */

/* Widen n elements of TYPE stored at the start of `out` to doubles, in
 * place, from the last element down, WIDEN_RUN elements at a time: each
 * run is first copied to a local array, so the inner loops neither alias
 * nor depend on each other and vectorise.  A run's doubles land at or
 * beyond its own raw bytes, never on the raw bytes of earlier runs not yet
 * read (a double is at least as wide as TYPE).  The missing-value test is
 * hoisted so the common no-missing-value column has no compare at all. */
#define WIDEN_RUN 256
#define DEFINE_WIDEN(fn, TYPE)                                                                     \
    static void fn(double *out, size_t n, int has_mv, TYPE mv)                                     \
    {                                                                                              \
        const unsigned char *raw = (const unsigned char *)out;                                     \
        TYPE run[WIDEN_RUN];                                                                       \
        for (size_t end = n; end > 0;) {                                                           \
            size_t len = end < WIDEN_RUN ? end : WIDEN_RUN, start = end - len;                     \
            memcpy(run, raw + start * sizeof(TYPE), len * sizeof(TYPE));                           \
            double *dst = out + start;                                                             \
            if (has_mv) {                                                                          \
                for (size_t i = 0; i < len; i++)                                                   \
                    dst[i] = run[i] == mv ? NAN : (double)run[i];                                  \
            } else {                                                                               \
                for (size_t i = 0; i < len; i++)                                                   \
                    dst[i] = (double)run[i];                                                       \
            }                                                                                      \
            end = start;                                                                           \
        }                                                                                          \
    }
DEFINE_WIDEN(widen_u8, uint8_t)
DEFINE_WIDEN(widen_i8, int8_t)
DEFINE_WIDEN(widen_u16, uint16_t)
DEFINE_WIDEN(widen_i16, int16_t)
DEFINE_WIDEN(widen_u32, uint32_t)
DEFINE_WIDEN(widen_i32, int32_t)
DEFINE_WIDEN(widen_u64, uint64_t)
DEFINE_WIDEN(widen_i64, int64_t)
DEFINE_WIDEN(widen_f32, float)

/* Integer columns compare their missing value in their own type (the
 * attribute was checked to be one of its values, so the casts are exact). */
static void widen(const cx_column_info *c, double *out, size_t n)
{
    int mv = c->has_missing_value;
    double m = c->missing_value;
    int64_t mi = c->missing_int;
    uint64_t mu = c->missing_uint;
    if (c->kind == CX_COL_FLOAT && c->bytes == 8) {
        if (mv)
            for (size_t i = 0; i < n; i++)
                if (out[i] == m)
                    out[i] = NAN;
        return;
    }
    if (c->kind == CX_COL_FLOAT) {
        /* a float32 value equals m exactly when its widened double does */
        widen_f32(out, n, mv && (double)(float)m == m, (float)m);
        return;
    }
    switch (c->bytes * (c->is_unsigned ? 1 : -1)) {
    case 1:
        widen_u8(out, n, mv, (uint8_t)mu);
        break;
    case -1:
        widen_i8(out, n, mv, (int8_t)mi);
        break;
    case 2:
        widen_u16(out, n, mv, (uint16_t)mu);
        break;
    case -2:
        widen_i16(out, n, mv, (int16_t)mi);
        break;
    case 4:
        widen_u32(out, n, mv, (uint32_t)mu);
        break;
    case -4:
        widen_i32(out, n, mv, (int32_t)mi);
        break;
    case 8:
        widen_u64(out, n, mv, mu);
        break;
    default:
        widen_i64(out, n, mv, mi);
        break;
    }
}

/* Relative reads of 8-byte integer columns: x - origin in integer
 * arithmetic, exact while the difference is below 2^53 (a difference
 * beyond int64 falls back to the difference of the two doubles, whose
 * rounding is then far below the spread). */
static void widen_relative(const cx_column_info *c, double *out, size_t n)
{
    int mv = c->has_missing_value;
    if (c->is_unsigned) {
        const uint64_t *raw = (const uint64_t *)out;
        uint64_t o = c->origin_uint;
        for (size_t i = 0; i < n; i++) {
            uint64_t x;
            memcpy(&x, raw + i, sizeof x);
            out[i] = mv && x == c->missing_uint ? NAN : x >= o ? (double)(x - o) : -(double)(o - x);
        }
        return;
    }
    const int64_t *raw = (const int64_t *)out;
    int64_t o = c->origin_int;
    for (size_t i = 0; i < n; i++) {
        int64_t x, d;
        memcpy(&x, raw + i, sizeof x);
        if (mv && x == c->missing_int)
            out[i] = NAN;
        else if (__builtin_sub_overflow(x, o, &d))
            out[i] = (double)x - (double)o;
        else
            out[i] = (double)d;
    }
}

/* Categorical codes must index the labels; anything else is a broken file.
 * One message for the double and the small-integer reads (the same file
 * fails the same way on either path). */
static int bad_code(const cx_table *t, const cx_column_info *c, size_t row, double code,
                    cx_error *err)
{
    return cx_error_set(err, CX_EUSAGE,
                        "%s: column '%s', row %zu: code %g is outside the %zu categories "
                        "(expected 0..%zu)",
                        t->label, c->name, row + 1, code, c->n_categories,
                        c->n_categories ? c->n_categories - 1 : 0);
}

static int check_codes(const cx_table *t, const cx_column_info *c, const double *x, size_t n,
                       size_t row0, cx_error *err)
{
    double k = (double)c->n_categories;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !(x[i] >= 0 && x[i] < k))
            return bad_code(t, c, row0 + i, x[i], err);
    return CX_OK;
}

/* check_codes for int16 codes, CX_SMALL_MISSING where the doubles hold NaN. */
static int check_codes_small(const cx_table *t, const cx_column_info *c, const int16_t *x, size_t n,
                             size_t row0, cx_error *err)
{
    /* A scan with no branch and no early exit vectorises; the row is
     * looked for only when there is a bad code.  As uint16, a negative
     * code is at least 32768, beyond any k (1-byte codes are below 256). */
    uint16_t k = c->n_categories < 256 ? (uint16_t)c->n_categories : 256;
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= (x[i] != CX_SMALL_MISSING) & ((uint16_t)x[i] >= k);
    for (size_t i = 0; bad && i < n; i++)
        if (x[i] != CX_SMALL_MISSING && (uint16_t)x[i] >= k)
            return bad_code(t, c, row0 + i, (double)x[i], err);
    return CX_OK;
}

static int read_hdf5_column(cx_table *t, int col, size_t row0, size_t n, double *out)
{
    hsize_t start = row0, count = n;
    herr_t status;
#pragma omp critical(cx_hdf5)
    {
        hid_t fspace = H5Dget_space(t->h5[col].dset);
        hid_t mspace = H5Screate_simple(1, &count, NULL);
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL);
        status = H5Dread(t->h5[col].dset, t->h5[col].mem_type, mspace, fspace, H5P_DEFAULT, out);
        H5Sclose(mspace);
        H5Sclose(fspace);
    }
    return status < 0 ? -1 : 0;
}

static int check_block_request(const cx_table *t, const int *cols, size_t ncols, size_t row0,
                               size_t nrows, size_t ld, cx_error *err)
{
    if (row0 > t->nrows || nrows > t->nrows - row0)
        return cx_error_set(err, CX_EUSAGE, "%s: rows %zu..%zu requested, the table has %zu",
                            t->label, row0 + 1, row0 + nrows, t->nrows);
    if (ld < nrows)
        return cx_error_set(err, CX_EUSAGE, "%s: leading dimension %zu < %zu rows", t->label, ld,
                            nrows);
    for (size_t j = 0; j < ncols; j++) {
        if (cols[j] < 0 || (size_t)cols[j] >= t->ncols)
            return cx_error_set(err, CX_EUSAGE, "%s: no column number %d (the table has %zu)",
                                t->label, cols[j], t->ncols);
        if (cx_table_check_numeric(t, (size_t)cols[j], err) != CX_OK)
            return CX_EUSAGE;
    }
    return CX_OK;
}

int cx_table_check_numeric(const cx_table *t, size_t col, cx_error *err)
{
    const cx_column_info *c = &t->info[col];
    if (c->kind == CX_COL_STRING)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: column '%s' holds strings and cannot be read as numbers", t->label,
                            c->name);
    if (c->kind == CX_COL_UNUSABLE)
        return cx_error_set(err, CX_EUSAGE, "%s: column '%s' cannot be used: %s", t->label, c->name,
                            c->unusable);
    return CX_OK;
}

/* One column's rows in its native type: decoded by hand when the column
 * qualifies, else (or when that declines) by H5Dread. */
static int read_native(cx_table *t, int col, size_t row0, size_t n, double *out,
                       cx_chunk_scratch *scratch)
{
    if (t->chunk_path && t->h5[col].plan.usable &&
        cx_chunk_read(t->h5[col].dset, &t->h5[col].plan, row0, n, out, scratch) == 0) {
#pragma omp atomic
        t->direct_chunks++;
        return 0;
    }
    return read_hdf5_column(t, col, row0, n, out);
}

/* read_native through the stage's block cache: whole blocks only (what
 * views read), stored in their native bytes.  Only columns whose reads
 * decode (a filter: deflate, shuffle) are kept: an unfiltered block is one
 * copy from the OS's page cache, which is what a hit would cost, so
 * keeping it would only add a copy into fresh memory (a third of an OLS
 * run's CPU on 1M float64 rows, bench/README.md). */
static int read_native_cached(cx_table *t, int col, size_t row0, size_t n, double *out,
                              cx_chunk_scratch *scratch)
{
    cx_block_cache *bc = t->h5[col].plan.filtered ? t->blocks : NULL;
    size_t bytes = n * (size_t)t->info[col].bytes, block = row0 / CX_BLOCK_ROWS;
    int whole = bc && row0 % CX_BLOCK_ROWS == 0 && (n == CX_BLOCK_ROWS || row0 + n == t->nrows);
    if (whole && cx_block_cache_get(bc, (size_t)col, block, out, bytes))
        return 0;
    if (read_native(t, col, row0, n, out, scratch) != 0)
        return -1;
    if (whole)
        cx_block_cache_put(bc, (size_t)col, block, out, bytes);
    return 0;
}

void cx_table_cache_blocks(cx_table *t, size_t budget)
{
    cx_block_cache_free(t->blocks);
    t->blocks = NULL;
    if (budget && t->file >= 0 && t->ncols && t->nrows)
        t->blocks =
            cx_block_cache_alloc(t->ncols, (t->nrows + CX_BLOCK_ROWS - 1) / CX_BLOCK_ROWS, budget);
}

int cx_table_block_stats(const cx_table *t, size_t *decoded, size_t *reused)
{
    *decoded = *reused = 0;
    if (!t->blocks)
        return 0;
    cx_block_cache_stats(t->blocks, decoded, reused);
    return 1;
}

int cx_table_read_block(cx_table *t, const int *cols, size_t ncols, size_t row0, size_t nrows,
                        double *out, size_t ld, cx_error *err)
{
    return cx_table_read_block_relative(t, cols, ncols, 0, row0, nrows, out, ld, err);
}

int cx_table_read_block_relative(cx_table *t, const int *cols, size_t ncols, size_t n_relative,
                                 size_t row0, size_t nrows, double *out, size_t ld, cx_error *err)
{
    if (check_block_request(t, cols, ncols, row0, nrows, ld, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (nrows == 0)
        return CX_OK;
    cx_chunk_scratch scratch = {0};
    int rc = CX_OK;
    for (size_t j = 0; j < ncols && rc == CX_OK; j++) {
        const cx_column_info *c = &t->info[cols[j]];
        double *dst = out + j * ld;
        if (t->file < 0) {
            memcpy(dst, t->values[cols[j]] + row0, nrows * sizeof *dst);
            continue;
        }
        if (read_native_cached(t, cols[j], row0, nrows, dst, &scratch) != 0) {
            rc = cx_error_set(err, CX_EIO, "%s: column '%s': reading rows %zu..%zu failed",
                              t->label, c->name, row0 + 1, row0 + nrows);
            break;
        }
        if (j < n_relative && c->origin != 0)
            widen_relative(c, dst, nrows);
        else
            widen(c, dst, nrows);
        if (c->kind == CX_COL_CATEGORICAL)
            rc = check_codes(t, c, dst, nrows, row0, err);
    }
    cx_chunk_scratch_free(&scratch);
    return rc;
}

int cx_table_columns_small(const cx_table *t, const int *cols, size_t ncols)
{
    if (t->file < 0 || t->no_small)
        return 0;
    for (size_t j = 0; j < ncols; j++) {
        const cx_column_info *c = &t->info[cols[j]];
        if ((c->kind != CX_COL_INT && c->kind != CX_COL_CATEGORICAL) || c->bytes != 1)
            return 0;
    }
    return 1;
}

void cx_table_set_small_path(cx_table *t, int enabled)
{
    t->no_small = !enabled;
}

/* n native bytes at the start of out as int16, in place, the missing
 * value code as CX_SMALL_MISSING.  As the widen_* functions do: from the
 * last run of SMALL_RUN bytes down, each run copied out first, so that no
 * byte is overwritten before it is read and the loops vectorise. */
#define SMALL_RUN 256
static void small_from_bytes(const cx_column_info *c, int16_t *out, size_t n)
{
    const unsigned char *raw = (const unsigned char *)out;
    unsigned char run[SMALL_RUN];
    /* no byte equals -1000: a column without a missing value needs no test */
    int m = !c->has_missing_value ? -1000
            : c->is_unsigned      ? (int)(uint8_t)c->missing_uint
                                  : (int)(int8_t)c->missing_int;
    for (size_t end = n; end > 0;) {
        size_t len = end < SMALL_RUN ? end : SMALL_RUN, start = end - len;
        memcpy(run, raw + start, len);
        int16_t *dst = out + start;
        if (c->is_unsigned) {
            for (size_t i = 0; i < len; i++)
                dst[i] = run[i] == m ? CX_SMALL_MISSING : (int16_t)run[i];
        } else {
            for (size_t i = 0; i < len; i++)
                dst[i] = (int8_t)run[i] == m ? CX_SMALL_MISSING : (int16_t)(int8_t)run[i];
        }
        end = start;
    }
}

int cx_table_read_block_small(cx_table *t, const int *cols, size_t ncols, size_t row0, size_t nrows,
                              int16_t *out, size_t ld, cx_error *err)
{
    if (check_block_request(t, cols, ncols, row0, nrows, ld, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (!cx_table_columns_small(t, cols, ncols))
        return cx_error_set(err, CX_EUSAGE,
                            "%s: not every column is a 1-byte integer or categorical", t->label);
    cx_chunk_scratch scratch = {0};
    int rc = CX_OK;
    for (size_t j = 0; j < ncols && rc == CX_OK && nrows > 0; j++) {
        const cx_column_info *c = &t->info[cols[j]];
        int16_t *dst = out + j * ld;
        /* the native bytes fit: n bytes in room for n int16 */
        if (read_native_cached(t, cols[j], row0, nrows, (double *)(void *)dst, &scratch) != 0) {
            rc = cx_error_set(err, CX_EIO, "%s: column '%s': reading rows %zu..%zu failed",
                              t->label, c->name, row0 + 1, row0 + nrows);
            break;
        }
        small_from_bytes(c, dst, nrows);
        if (c->kind == CX_COL_CATEGORICAL)
            rc = check_codes_small(t, c, dst, nrows, row0, err);
    }
    cx_chunk_scratch_free(&scratch);
    return rc;
}

void cx_table_set_chunk_path(cx_table *t, int enabled)
{
    t->chunk_path = enabled != 0;
}

size_t cx_table_direct_chunk_reads(const cx_table *t)
{
    size_t n;
#pragma omp atomic read
    n = t->direct_chunks;
    return n;
}
