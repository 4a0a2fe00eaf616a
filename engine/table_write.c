/*
 * table_write.c — writing column tables to HDF5 (see table_write.h).
 *
 * Values arrive as doubles or int64 and are converted here, into a
 * contiguous buffer of the stored type, before H5Dwrite: HDF5's own type
 * conversion is slow and needs no help from us (TOOLCHAIN.md).  Datasets
 * are chunked (so they compress and so a reader's chunk cache works per
 * block); integer columns get shuffle + deflate level 1 (Likert columns
 * shrink several times over at little CPU cost), float columns are stored
 * plain (they barely compress, and inflating them dominated reads).  Each dataset gets a chunk
 * cache that holds two chunks, so block writes that do not line up with chunk boundaries do not
 * recompress a chunk per call.
 *
 * HDF5 calls sit inside H5E_BEGIN_TRY: failures come back as cx_error
 * messages, never as HDF5's stack dump on stderr.
 */
#include "table_write.h"
#include "table_chunks.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows per chunk: at most this many, and at most CHUNK_BYTES bytes. */
#define CHUNK_ROWS ((size_t)65536)
#define CHUNK_BYTES ((size_t)256 << 10)
/* Rows converted per H5Dwrite call. */
#define CONVERT_ROWS ((size_t)8192)

typedef struct writer_column {
    char *name;
    hid_t dset;
    hid_t mem_type; /* native type of the stored data (not owned) */
    cx_column_kind kind;
    int bytes, is_unsigned;
    int has_missing_value;
    int64_t missing_value;
    size_t n_categories;
} writer_column;

struct cx_table_writer {
    char *file_name, *group_path;
    char *created_root; /* first path component this writer created */
    hid_t file, group;
    size_t nrows;
    writer_column *cols;
    size_t ncols, cap_cols;
    int deflate; /* 0: no filter; 1..9: shuffle + deflate at that level */
    unsigned char buffer[CONVERT_ROWS * 8];
};

/* ---------- small helpers ---------- */

/* Stored (file) type: little-endian, the layout h5py writes by default. */
static hid_t file_int_type(int bytes, int is_unsigned)
{
    switch (bytes) {
    case 1:
        return is_unsigned ? H5T_STD_U8LE : H5T_STD_I8LE;
    case 2:
        return is_unsigned ? H5T_STD_U16LE : H5T_STD_I16LE;
    case 4:
        return is_unsigned ? H5T_STD_U32LE : H5T_STD_I32LE;
    case 8:
        return is_unsigned ? H5T_STD_U64LE : H5T_STD_I64LE;
    default:
        return -1;
    }
}

/* Range of an integer type, as doubles and int64 (uint64's top is capped
 * at INT64_MAX: values come in as int64). */
static void int_range(int bytes, int is_unsigned, int64_t *lo, int64_t *hi)
{
    if (is_unsigned) {
        *lo = 0;
        *hi = bytes >= 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (8 * bytes)) - 1);
    } else {
        *hi = bytes >= 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (8 * bytes - 1)) - 1);
        *lo = -*hi - 1;
    }
}

/* Smallest signed type holding codes -1..k-1. */
static int code_bytes(size_t k)
{
    return k <= 127 ? 1 : k <= 32767 ? 2 : 4;
}

/* Store `v` (already range-checked) as the column's type at slot i. */
static void store_int(unsigned char *buf, size_t i, int bytes, int is_unsigned, int64_t v)
{
    unsigned char *p = buf + i * (size_t)bytes;
    if (bytes == 1) {
        uint8_t u = (uint8_t)v;
        int8_t s = (int8_t)v;
        memcpy(p, is_unsigned ? (void *)&u : (void *)&s, 1);
    } else if (bytes == 2) {
        uint16_t u = (uint16_t)v;
        int16_t s = (int16_t)v;
        memcpy(p, is_unsigned ? (void *)&u : (void *)&s, 2);
    } else if (bytes == 4) {
        uint32_t u = (uint32_t)v;
        int32_t s = (int32_t)v;
        memcpy(p, is_unsigned ? (void *)&u : (void *)&s, 4);
    } else {
        uint64_t u = (uint64_t)v;
        memcpy(p, is_unsigned ? (void *)&u : (void *)&v, 8);
    }
}

/* ---------- opening the file and the group ---------- */

static hid_t open_or_create_file(const char *file, cx_error *err)
{
    hid_t fid = -1;
    if (access(file, F_OK) == 0) {
        if (H5Fis_hdf5(file) <= 0) {
            cx_error_set(err, CX_EIO, "%s: exists but is not an HDF5 file (not changed)", file);
            return -1;
        }
        fid = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
        if (fid < 0)
            cx_error_set(err, CX_EIO, "%s: cannot open the HDF5 file for writing", file);
        return fid;
    }
    /* Track creation order in the root too: tables list in the order made. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    fid = H5Fcreate(file, H5F_ACC_EXCL, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (fid < 0)
        cx_error_set(err, CX_EIO, "%s: cannot create the file", file);
    return fid;
}

/* The first component of `path` that does not exist yet ("/a" of "/a/b"
 * when /a is new), so abort can remove what this writer made. */
static char *first_missing_component(hid_t file, const char *path, cx_error *err)
{
    char *prefix = cx_strdup(path, err);
    if (!prefix)
        return NULL;
    for (char *p = prefix + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (H5LTpath_valid(file, prefix, 0) <= 0)
            return prefix;
        if (saved == '\0')
            break;
        *p = saved;
    }
    free(prefix);
    return NULL;
}

static int check_group_path(const char *file, const char *path, cx_error *err)
{
    size_t len = strlen(path);
    if (len < 2 || path[0] != '/' || path[len - 1] == '/' || strstr(path, "//"))
        return cx_error_set(err, CX_EUSAGE, "%s: table path '%s' must look like /name or /name/sub",
                            file, path);
    return CX_OK;
}

static hid_t create_group(cx_table_writer *w, cx_error *err)
{
    if (H5LTpath_valid(w->file, w->group_path, 0) > 0) {
        cx_error_set(err, CX_EUSAGE, "%s: group '%s' already exists (not changed)", w->file_name,
                     w->group_path);
        return -1;
    }
    w->created_root = first_missing_component(w->file, w->group_path, err);
    if (!w->created_root) {
        if (!err || err->code == CX_OK)
            cx_error_set(err, CX_EUSAGE, "%s: group '%s' already exists", w->file_name,
                         w->group_path);
        return -1;
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(w->file, w->group_path, lcpl, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    H5Pclose(lcpl);
    if (g < 0)
        cx_error_set(err, CX_EIO,
                     "%s: cannot create group '%s' (is a parent a dataset, not a group?)",
                     w->file_name, w->group_path);
    return g;
}

static void writer_free(cx_table_writer *w)
{
    for (size_t j = 0; j < w->ncols; j++) {
        if (w->cols[j].dset >= 0)
            H5Dclose(w->cols[j].dset);
        free(w->cols[j].name);
    }
    if (w->group >= 0)
        H5Gclose(w->group);
    free(w->cols);
    free(w->file_name);
    free(w->group_path);
    free(w->created_root);
    free(w);
}

static cx_table_writer *writer_alloc_try(const char *file, const char *group_path, size_t nrows,
                                         cx_error *err)
{
    if (check_group_path(file, group_path, err) != CX_OK)
        return NULL;
    cx_table_writer *w = cx_calloc(1, sizeof *w, err);
    if (!w)
        return NULL;
    w->file = w->group = -1;
    w->nrows = nrows;
    w->deflate = CX_WRITER_DEFLATE_DEFAULT;
    w->file_name = cx_strdup(file, err);
    w->group_path = cx_strdup(group_path, err);
    if (!w->file_name || !w->group_path || (w->file = open_or_create_file(file, err)) < 0 ||
        (w->group = create_group(w, err)) < 0) {
        hid_t fid = w->file;
        writer_free(w);
        if (fid >= 0)
            H5Fclose(fid);
        return NULL;
    }
    return w;
}

cx_table_writer *cx_table_writer_alloc(const char *file, const char *group_path, size_t nrows,
                                       cx_error *err)
{
    cx_table_writer *w;
    H5E_BEGIN_TRY
    {
        w = writer_alloc_try(file, group_path, nrows, err);
    }
    H5E_END_TRY;
    return w;
}

void cx_table_writer_set_deflate(cx_table_writer *w, int level)
{
    w->deflate = level < 0 ? 0 : level > 9 ? 9 : level;
}

size_t cx_table_writer_nrows(const cx_table_writer *w)
{
    return w->nrows;
}

/* ---------- adding columns ---------- */

static int check_spec(const cx_table_writer *w, const cx_column_spec *s, cx_error *err)
{
    const char *n = s->name ? s->name : "";
    if (!*n || strlen(n) >= CX_NAME_MAX || strchr(n, '/') || strcmp(n, ".") == 0)
        return cx_error_set(err, CX_EUSAGE,
                            "%s:%s: column name '%s' must have 1 to %d characters, no '/'",
                            w->file_name, w->group_path, n, CX_NAME_MAX - 1);
    for (size_t j = 0; j < w->ncols; j++)
        if (strcmp(w->cols[j].name, n) == 0)
            return cx_error_set(err, CX_EUSAGE, "%s:%s: duplicate column '%s'", w->file_name,
                                w->group_path, n);
    if (s->kind == CX_COL_INT && cx_native_integer_type((size_t)s->bytes, s->is_unsigned) < 0)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: column '%s': %d-byte integers unsupported",
                            w->file_name, w->group_path, n, s->bytes);
    if (s->kind == CX_COL_CATEGORICAL && s->n_categories > 0 && !s->categories)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: column '%s': categories missing", w->file_name,
                            w->group_path, n);
    if (s->kind == CX_COL_STRING)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: column '%s': string columns not supported",
                            w->file_name, w->group_path, n);
    if (s->kind == CX_COL_INT && s->has_missing_value) {
        int64_t lo, hi;
        int_range(s->bytes, s->is_unsigned, &lo, &hi);
        if (s->missing_value < lo || s->missing_value > hi)
            return cx_error_set(err, CX_EUSAGE,
                                "%s:%s: column '%s': missing_value %lld does not fit the type",
                                w->file_name, w->group_path, n, (long long)s->missing_value);
    }
    return CX_OK;
}

/* Fill in the stored layout of a column from its spec. */
static void describe_column(writer_column *c, const cx_column_spec *s)
{
    c->kind = s->kind;
    if (s->kind == CX_COL_FLOAT) {
        c->bytes = 8;
        c->mem_type = H5T_NATIVE_DOUBLE;
        return;
    }
    if (s->kind == CX_COL_CATEGORICAL) {
        c->bytes = code_bytes(s->n_categories);
        c->is_unsigned = 0;
        c->has_missing_value = 1;
        c->missing_value = -1;
        c->n_categories = s->n_categories;
    } else {
        c->bytes = s->bytes;
        c->is_unsigned = s->is_unsigned;
        c->has_missing_value = s->has_missing_value;
        c->missing_value = s->missing_value;
    }
    c->mem_type = cx_native_integer_type((size_t)c->bytes, c->is_unsigned);
}

static hid_t dataset_create_plist(const cx_table_writer *w, const writer_column *c)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0); /* same input, same bytes: no timestamps */
    if (c->kind == CX_COL_FLOAT) {
        double nan = NAN;
        H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan);
    } else if (c->has_missing_value) {
        unsigned char fill[8];
        store_int(fill, 0, c->bytes, c->is_unsigned, c->missing_value);
        H5Pset_fill_value(dcpl, c->mem_type, fill);
    }
    if (w->nrows == 0)
        return dcpl; /* contiguous: a chunk must have at least one row */
    hsize_t chunk = CHUNK_BYTES / (size_t)c->bytes;
    if (chunk > CHUNK_ROWS)
        chunk = CHUNK_ROWS;
    if (chunk > w->nrows)
        chunk = w->nrows;
    H5Pset_chunk(dcpl, 1, &chunk);
    /* Only integer columns are compressed: measured decimals (float64)
     * shrink by ~10% at best, while inflating them cost most of a
     * streaming pass (docs/DECISIONS.md). */
    if (w->deflate > 0 && c->kind != CX_COL_FLOAT && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)w->deflate);
    }
    return dcpl;
}

static int attach_missing_value(cx_table_writer *w, writer_column *c, cx_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    unsigned char v[8];
    store_int(v, 0, c->bytes, c->is_unsigned, c->missing_value);
    hid_t a = H5Acreate2(c->dset, "missing_value", file_int_type(c->bytes, c->is_unsigned), space,
                         H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, c->mem_type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return ok ? CX_OK
              : cx_error_set(err, CX_EIO, "%s:%s: column '%s': cannot write 'missing_value'",
                             w->file_name, w->group_path, c->name);
}

static int all_ascii(char *const *labels, size_t k)
{
    for (size_t i = 0; i < k; i++)
        for (const unsigned char *p = (const unsigned char *)labels[i]; *p; p++)
            if (*p >= 0x80)
                return 0;
    return 1;
}

/* The labels as a variable-length string array.  The character set tag is
 * ASCII when every label is ASCII, else UTF-8: HDF5 does not convert
 * between the two tags, and a reader asking for ASCII (as engine/table.c
 * does) then reads every plain-ASCII file. */
static int attach_categories(cx_table_writer *w, writer_column *c, char *const *labels, size_t k,
                             cx_error *err)
{
    hsize_t dims = k;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, all_ascii(labels, k) ? H5T_CSET_ASCII : H5T_CSET_UTF8);
    hid_t a = H5Acreate2(c->dset, "categories", type, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && (k == 0 || H5Awrite(a, type, labels) >= 0);
    if (a >= 0)
        H5Aclose(a);
    H5Tclose(type);
    H5Sclose(space);
    return ok ? CX_OK
              : cx_error_set(err, CX_EIO, "%s:%s: column '%s': cannot write 'categories'",
                             w->file_name, w->group_path, c->name);
}

static hid_t create_dataset(cx_table_writer *w, const writer_column *c)
{
    hsize_t dims = w->nrows;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t ftype =
        c->kind == CX_COL_FLOAT ? H5T_IEEE_F64LE : file_int_type(c->bytes, c->is_unsigned);
    hid_t dcpl = dataset_create_plist(w, c);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, 2 * CHUNK_BYTES + 4096, 1.0);
    hid_t d = H5Dcreate2(w->group, c->name, ftype, space, H5P_DEFAULT, dcpl, dapl);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

static int add_column_try(cx_table_writer *w, const cx_column_spec *s, size_t *index, cx_error *err)
{
    if (check_spec(w, s, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (w->ncols == w->cap_cols) {
        size_t cap = w->cap_cols ? 2 * w->cap_cols : 16;
        writer_column *cols = realloc(w->cols, cap * sizeof *cols);
        if (!cols)
            return cx_error_set(err, CX_ENOMEM, "%s: out of memory adding a column", w->file_name);
        w->cols = cols;
        w->cap_cols = cap;
    }
    writer_column *c = &w->cols[w->ncols];
    memset(c, 0, sizeof *c);
    c->dset = -1;
    if (!(c->name = cx_strdup(s->name, err)))
        return CX_ENOMEM;
    describe_column(c, s);
    w->ncols++; /* from here on writer_free releases it */
    c->dset = create_dataset(w, c);
    if (c->dset < 0)
        return cx_error_set(err, CX_EIO, "%s:%s: cannot create column '%s'", w->file_name,
                            w->group_path, c->name);
    if (c->has_missing_value && attach_missing_value(w, c, err) != CX_OK)
        return err ? err->code : CX_EIO;
    if (c->kind == CX_COL_CATEGORICAL &&
        attach_categories(w, c, s->categories, s->n_categories, err) != CX_OK)
        return err ? err->code : CX_EIO;
    if (index)
        *index = w->ncols - 1;
    return CX_OK;
}

int cx_table_writer_add(cx_table_writer *w, const cx_column_spec *spec, size_t *index,
                        cx_error *err)
{
    int rc;
    H5E_BEGIN_TRY
    {
        rc = add_column_try(w, spec, index, err);
    }
    H5E_END_TRY;
    return rc;
}

/* ---------- writing rows ---------- */

static int write_raw(cx_table_writer *w, const writer_column *c, size_t row0, size_t n,
                     const void *buf, cx_error *err)
{
    hsize_t start = row0, count = n;
    herr_t status;
    H5E_BEGIN_TRY
    {
        hid_t fspace = H5Dget_space(c->dset);
        hid_t mspace = H5Screate_simple(1, &count, NULL);
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL);
        status = H5Dwrite(c->dset, c->mem_type, mspace, fspace, H5P_DEFAULT, buf);
        H5Sclose(mspace);
        H5Sclose(fspace);
    }
    H5E_END_TRY;
    if (status < 0)
        return cx_error_set(err, CX_EIO, "%s:%s: column '%s': writing rows %zu..%zu failed",
                            w->file_name, w->group_path, c->name, row0 + 1, row0 + n);
    return CX_OK;
}

static int check_rows(const cx_table_writer *w, size_t col, size_t row0, size_t n, cx_error *err)
{
    if (col >= w->ncols)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: no column number %zu", w->file_name,
                            w->group_path, col);
    if (row0 > w->nrows || n > w->nrows - row0)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: column '%s': rows %zu..%zu past the end (%zu)",
                            w->file_name, w->group_path, w->cols[col].name, row0 + 1, row0 + n,
                            w->nrows);
    return CX_OK;
}

/* One integer (or code) into slot i, with the checks that keep the file
 * readable: in range, and not colliding with the missing value. */
static int put_int(cx_table_writer *w, const writer_column *c, size_t i, size_t row, int64_t v,
                   int missing, cx_error *err)
{
    if (missing) {
        if (!c->has_missing_value)
            return cx_error_set(err, CX_EUSAGE,
                                "%s:%s: column '%s', row %zu: missing value in an integer column "
                                "without missing_value",
                                w->file_name, w->group_path, c->name, row + 1);
        v = c->missing_value;
    } else {
        int64_t lo, hi;
        if (c->kind == CX_COL_CATEGORICAL) {
            lo = 0;
            hi = (int64_t)c->n_categories - 1;
        } else {
            int_range(c->bytes, c->is_unsigned, &lo, &hi);
        }
        if (v < lo || v > hi || (c->has_missing_value && v == c->missing_value))
            return cx_error_set(err, CX_EUSAGE,
                                "%s:%s: column '%s', row %zu: value %lld does not fit the column "
                                "(%lld..%lld%s)",
                                w->file_name, w->group_path, c->name, row + 1, (long long)v,
                                (long long)lo, (long long)hi,
                                c->has_missing_value ? ", missing_value excluded" : "");
    }
    store_int(w->buffer, i, c->bytes, c->is_unsigned, v);
    return CX_OK;
}

/* Double -> int64 when whole and within int64; -1 means "missing" for a
 * categorical code. */
static int double_to_int(const writer_column *c, double x, int64_t *v, int *missing)
{
    *missing = isnan(x) || (c->kind == CX_COL_CATEGORICAL && x == -1.0);
    *v = 0;
    if (*missing)
        return 0;
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || x != floor(x))
        return -1;
    *v = (int64_t)x;
    return 0;
}

static int write_double_ints(cx_table_writer *w, const writer_column *c, size_t row0, size_t n,
                             const double *x, cx_error *err)
{
    for (size_t done = 0; done < n;) {
        size_t m = n - done < CONVERT_ROWS ? n - done : CONVERT_ROWS;
        for (size_t i = 0; i < m; i++) {
            int64_t v;
            int missing;
            size_t row = row0 + done + i;
            if (double_to_int(c, x[done + i], &v, &missing) != 0)
                return cx_error_set(err, CX_EUSAGE,
                                    "%s:%s: column '%s', row %zu: %g is not a whole number",
                                    w->file_name, w->group_path, c->name, row + 1, x[done + i]);
            if (put_int(w, c, i, row, v, missing, err) != CX_OK)
                return err ? err->code : CX_EUSAGE;
        }
        if (write_raw(w, c, row0 + done, m, w->buffer, err) != CX_OK)
            return err ? err->code : CX_EIO;
        done += m;
    }
    return CX_OK;
}

int cx_table_writer_write(cx_table_writer *w, size_t col, size_t row0, size_t n,
                          const double *values, cx_error *err)
{
    if (check_rows(w, col, row0, n, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    if (n == 0)
        return CX_OK;
    const writer_column *c = &w->cols[col];
    if (c->kind == CX_COL_FLOAT)
        return write_raw(w, c, row0, n, values, err);
    return write_double_ints(w, c, row0, n, values, err);
}

int cx_table_writer_write_i64(cx_table_writer *w, size_t col, size_t row0, size_t n,
                              const int64_t *values, const unsigned char *missing, cx_error *err)
{
    if (check_rows(w, col, row0, n, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    const writer_column *c = &w->cols[col];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < CONVERT_ROWS ? n - done : CONVERT_ROWS;
        for (size_t i = 0; i < m; i++) {
            int miss = missing && missing[done + i];
            size_t row = row0 + done + i;
            if (c->kind == CX_COL_FLOAT) {
                double d = miss ? NAN : (double)values[done + i];
                memcpy(w->buffer + i * sizeof d, &d, sizeof d);
            } else if (put_int(w, c, i, row, values[done + i], miss, err) != CX_OK) {
                return err ? err->code : CX_EUSAGE;
            }
        }
        if (write_raw(w, c, row0 + done, m, w->buffer, err) != CX_OK)
            return err ? err->code : CX_EIO;
        done += m;
    }
    return CX_OK;
}

/* ---------- further attributes ---------- */

static hid_t string_type(char *const *texts, size_t n)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, all_ascii(texts, n) ? H5T_CSET_ASCII : H5T_CSET_UTF8);
    return type;
}

/* A string attribute: scalar when `scalar`, else an array of n. */
static int write_text_attr(cx_table_writer *w, size_t col, const char *attr, char *const *texts,
                           size_t n, int scalar, cx_error *err)
{
    if (col >= w->ncols)
        return cx_error_set(err, CX_EUSAGE, "%s:%s: no column number %zu", w->file_name,
                            w->group_path, col);
    const writer_column *c = &w->cols[col];
    int ok;
    H5E_BEGIN_TRY
    {
        hsize_t dims = n;
        hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
        hid_t type = string_type(texts, n);
        hid_t a = H5Acreate2(c->dset, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
        ok = a >= 0 && (n == 0 || H5Awrite(a, type, texts) >= 0);
        if (a >= 0)
            H5Aclose(a);
        H5Tclose(type);
        H5Sclose(space);
    }
    H5E_END_TRY;
    return ok ? CX_OK
              : cx_error_set(err, CX_EIO, "%s:%s: column '%s': cannot write '%s'", w->file_name,
                             w->group_path, c->name, attr);
}

int cx_table_writer_set_text(cx_table_writer *w, size_t col, const char *attr, const char *text,
                             cx_error *err)
{
    char *texts[1] = {(char *)text};
    return write_text_attr(w, col, attr, texts, 1, 1, err);
}

int cx_table_writer_set_value_labels(cx_table_writer *w, size_t col, const double *values,
                                     char *const *labels, size_t n, cx_error *err)
{
    if (write_text_attr(w, col, "value_labels", labels, n, 0, err) != CX_OK)
        return err ? err->code : CX_EIO;
    const writer_column *c = &w->cols[col];
    int ok;
    H5E_BEGIN_TRY
    {
        hsize_t dims = n;
        hid_t space = H5Screate_simple(1, &dims, NULL);
        hid_t a = H5Acreate2(c->dset, "value_label_values", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                             H5P_DEFAULT);
        ok = a >= 0 && (n == 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, values) >= 0);
        if (a >= 0)
            H5Aclose(a);
        H5Sclose(space);
    }
    H5E_END_TRY;
    return ok ? CX_OK
              : cx_error_set(err, CX_EIO, "%s:%s: column '%s': cannot write 'value_label_values'",
                             w->file_name, w->group_path, c->name);
}

/* ---------- finishing ---------- */

int cx_table_writer_close(cx_table_writer *w, cx_error *err)
{
    if (!w)
        return CX_OK;
    int rc = CX_OK;
    H5E_BEGIN_TRY
    {
        hid_t fid = w->file;
        for (size_t j = 0; j < w->ncols; j++) {
            if (w->cols[j].dset >= 0 && H5Dclose(w->cols[j].dset) < 0 && rc == CX_OK)
                rc = cx_error_set(err, CX_EIO, "%s:%s: column '%s': cannot finish writing",
                                  w->file_name, w->group_path, w->cols[j].name);
            w->cols[j].dset = -1;
        }
        if (rc == CX_OK && H5Fflush(fid, H5F_SCOPE_LOCAL) < 0)
            rc = cx_error_set(err, CX_EIO, "%s: cannot flush the file", w->file_name);
        char *name = w->file_name;
        w->file_name = NULL;
        writer_free(w);
        if (H5Fclose(fid) < 0 && rc == CX_OK)
            rc = cx_error_set(err, CX_EIO, "%s: cannot close the file", name);
        free(name);
    }
    H5E_END_TRY;
    return rc;
}

void cx_table_writer_abort(cx_table_writer *w)
{
    if (!w)
        return;
    H5E_BEGIN_TRY
    {
        hid_t fid = w->file;
        char *root = w->created_root;
        w->created_root = NULL;
        writer_free(w);
        if (root)
            H5Ldelete(fid, root, H5P_DEFAULT);
        free(root);
        H5Fclose(fid);
    }
    H5E_END_TRY;
}

int cx_h5_path_exists(const char *file, const char *path)
{
    int found = 0;
    H5E_BEGIN_TRY
    {
        if (access(file, F_OK) == 0 && H5Fis_hdf5(file) > 0) {
            hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
            if (fid >= 0) {
                found = strcmp(path, "/") == 0 || H5LTpath_valid(fid, path, 0) > 0;
                H5Fclose(fid);
            }
        }
    }
    H5E_END_TRY;
    return found;
}
