/*
 * results_read.c — reading a results file back (results_io.h): `show`,
 * `run --resume` and `@job` tables.
 *
 * A results file is untrusted input: it may have been edited with h5py,
 * truncated by a crash, or crafted.  So every attribute and dataset is
 * checked before it is read: link kind (only hard links: a soft or external
 * link could point anywhere, even into another file), object kind (group
 * where a group is expected, dataset where a dataset is), dataspace (one
 * element for an attribute, 1-D for a column), datatype class and string
 * kind (fixed or variable length, ASCII or UTF-8), and size (what a column
 * asks us to allocate must be stored in the file).  Anything else is
 * refused with one line naming the file, the object and what was expected.
 */
#include "results_io.h"

#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest fixed-length string (attribute or cell) we agree to read. */
#define MAX_STRING_BYTES ((size_t)64 << 20)
/* A filtered (compressed) column may expand this much over its stored
 * bytes: deflate cannot do better than about 1032:1. */
#define MAX_FILTER_RATIO 1100
/* Bytes a column may have beyond its storage (fill values of tiny tables). */
#define SLACK_BYTES ((hsize_t)1 << 20)

/* Where a read happens, for one-line errors and size limits. */
typedef struct reader {
    const char *path; /* the file, as the user named it */
    hsize_t file_size;
    cx_error *err;
} reader;

/* ---- describing what was found --------------------------------------- */

/* `name` as it may appear in a one-line message: control bytes become '?',
 * long names are cut. */
static const char *printable(const char *name, char *buf, size_t size)
{
    size_t n = 0;
    for (; name[n] && n + 4 < size; n++)
        buf[n] = (unsigned char)name[n] < 0x20 || name[n] == 0x7f ? '?' : name[n];
    if (name[n]) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static const char *class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER: return "an integer";
    case H5T_FLOAT: return "a float";
    case H5T_STRING: return "a string";
    case H5T_TIME: return "a time";
    case H5T_BITFIELD: return "a bitfield";
    case H5T_OPAQUE: return "an opaque value";
    case H5T_COMPOUND: return "a compound";
    case H5T_REFERENCE: return "a reference";
    case H5T_ENUM: return "an enum";
    case H5T_VLEN: return "a variable-length sequence";
    case H5T_ARRAY: return "an array type";
    default: return "an unknown type";
    }
}

/* "a scalar", "a 1-D array of 3", "a 2-D array of 2 x 3", "an empty dataspace". */
static void describe_space(hid_t space, char *buf, size_t size)
{
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    int rank = cls == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : -1;
    if (cls == H5S_SCALAR) {
        snprintf(buf, size, "a scalar");
        return;
    }
    if (cls == H5S_NULL || rank < 0 || rank > H5S_MAX_RANK) {
        snprintf(buf, size, "an empty dataspace");
        return;
    }
    hsize_t dims[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(space, dims, NULL);
    size_t len = (size_t)snprintf(buf, size, "a %d-D array of ", rank);
    for (int k = 0; k < rank && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%llu", k ? " x " : "",
                                (unsigned long long)dims[k]);
}

/* ---- attributes ------------------------------------------------------ */

/* The attribute classes a reader accepts. */
typedef enum attr_want { WANT_STRING, WANT_NUMBER, WANT_STRING_OR_NUMBER } attr_want;

/* Open attribute `name` of `obj` (named `where` in messages) after checking
 * it holds one element of an accepted class; *cls gets the class. */
static hid_t open_single_attr(const reader *rd, hid_t obj, const char *where, const char *name,
                              const char *expected, attr_want want, H5T_class_t *cls)
{
    char pname[80];
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) {
        cx_error_set(rd->err, CX_EIO, "%s: %s attribute '%s': cannot be opened", rd->path, where,
                     printable(name, pname, sizeof pname));
        return -1;
    }
    hid_t space = H5Aget_space(attr), type = H5Aget_type(attr);
    H5S_class_t scls = H5Sget_simple_extent_type(space);
    int one = scls == H5S_SCALAR ||
              (scls == H5S_SIMPLE && H5Sget_simple_extent_ndims(space) == 1 &&
               H5Sget_simple_extent_npoints(space) == 1);
    *cls = H5Tget_class(type);
    int number = *cls == H5T_FLOAT || *cls == H5T_INTEGER, string = *cls == H5T_STRING;
    int class_ok = want == WANT_STRING   ? string
                   : want == WANT_NUMBER ? number
                                         : string || number;
    if (!one || !class_ok || space < 0 || type < 0) {
        char found[96];
        if (!one)
            describe_space(space, found, sizeof found);
        else
            snprintf(found, sizeof found, "%s", class_name(*cls));
        cx_error_set(rd->err, CX_EIO, "%s: %s attribute '%s': expected %s, found %s", rd->path,
                     where, printable(name, pname, sizeof pname), expected, found);
        H5Aclose(attr);
        attr = -1;
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return attr;
}

/* A memory string type matching file type `ftype`'s character set (HDF5
 * does not convert between ASCII and UTF-8); -1 for other sets. */
static hid_t memory_string_type(hid_t ftype, int variable)
{
    H5T_cset_t cset = H5Tget_cset(ftype);
    if (cset != H5T_CSET_ASCII && cset != H5T_CSET_UTF8)
        return -1;
    hid_t mem = H5Tcopy(H5T_C_S1);
    size_t size = variable ? H5T_VARIABLE : H5Tget_size(ftype);
    if (mem < 0 || H5Tset_size(mem, size) < 0 || H5Tset_cset(mem, cset) < 0 ||
        (!variable && H5Tset_strpad(mem, H5Tget_strpad(ftype)) < 0)) {
        if (mem >= 0)
            H5Tclose(mem);
        return -1;
    }
    return mem;
}

/* A fixed-length cell of `size` bytes as a new string: up to its first NUL,
 * without the blanks of a space-padded type. */
static char *fixed_cell(const char *raw, size_t size, H5T_str_t pad)
{
    size_t n = strnlen(raw, size);
    while (pad == H5T_STR_SPACEPAD && n > 0 && raw[n - 1] == ' ')
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, raw, n);
        s[n] = '\0';
    }
    return s;
}

/* The string of an open one-element string attribute. */
static int read_string_attr(const reader *rd, hid_t attr, const char *where, const char *name,
                            char **out)
{
    char pname[80];
    hid_t ftype = H5Aget_type(attr);
    htri_t variable = H5Tis_variable_str(ftype);
    size_t size = H5Tget_size(ftype);
    hid_t mem = variable < 0 ? -1 : memory_string_type(ftype, variable > 0);
    int rc = CX_OK;
    if (mem < 0 || (!variable && (size == 0 || size > MAX_STRING_BYTES))) {
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s attribute '%s': expected an ASCII or UTF-8 string of at most "
                          "%zu bytes",
                          rd->path, where, printable(name, pname, sizeof pname), MAX_STRING_BYTES);
    } else if (variable) {
        char *v = NULL;
        if (H5Aread(attr, mem, &v) < 0)
            rc = CX_EIO;
        else if (!(*out = strdup(v ? v : "")))
            rc = cx_error_set(rd->err, CX_ENOMEM, "out of memory");
        if (v)
            H5free_memory(v);
    } else {
        char *raw = calloc(size + 1, 1);
        if (!raw)
            rc = cx_error_set(rd->err, CX_ENOMEM, "out of memory");
        else if (H5Aread(attr, mem, raw) < 0)
            rc = CX_EIO;
        else if (!(*out = fixed_cell(raw, size, H5Tget_strpad(ftype))))
            rc = cx_error_set(rd->err, CX_ENOMEM, "out of memory");
        free(raw);
    }
    if (rc == CX_EIO)
        cx_error_set(rd->err, CX_EIO, "%s: %s attribute '%s': cannot be read", rd->path, where,
                     printable(name, pname, sizeof pname));
    if (mem >= 0)
        H5Tclose(mem);
    H5Tclose(ftype);
    return rc;
}

/* String attribute `name`: *out is a new string, or NULL when absent. */
static int read_attr_string(const reader *rd, hid_t obj, const char *where, const char *name,
                            char **out)
{
    *out = NULL;
    if (H5Aexists(obj, name) <= 0)
        return CX_OK;
    H5T_class_t cls;
    hid_t attr = open_single_attr(rd, obj, where, name, "a scalar string", WANT_STRING, &cls);
    if (attr < 0)
        return CX_EIO;
    int rc = read_string_attr(rd, attr, where, name, out);
    H5Aclose(attr);
    return rc;
}

/* Number attribute `name`: *out is NaN when absent. */
static int read_attr_double(const reader *rd, hid_t obj, const char *where, const char *name,
                            double *out)
{
    *out = NAN;
    if (H5Aexists(obj, name) <= 0)
        return CX_OK;
    H5T_class_t cls;
    hid_t attr = open_single_attr(rd, obj, where, name, "a scalar number", WANT_NUMBER, &cls);
    if (attr < 0)
        return CX_EIO;
    int rc = CX_OK;
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, out) < 0) {
        char pname[80];
        *out = NAN;
        rc = cx_error_set(rd->err, CX_EIO, "%s: %s attribute '%s': cannot be read as a number",
                          rd->path, where, printable(name, pname, sizeof pname));
    }
    H5Aclose(attr);
    return rc;
}

/* ---- group members --------------------------------------------------- */

typedef struct name_list {
    char **names;
    int *hard; /* 1 for a hard link: the only kind we follow */
    size_t n;
} name_list;

static void free_names(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->hard);
    l->names = NULL;
    l->hard = NULL;
    l->n = 0;
}

static herr_t collect_link(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    name_list *l = data;
    char **names = realloc(l->names, (l->n + 1) * sizeof *names);
    if (names)
        l->names = names;
    int *hard = realloc(l->hard, (l->n + 1) * sizeof *hard);
    if (hard)
        l->hard = hard;
    if (!names || !hard || !(l->names[l->n] = strdup(name)))
        return -1;
    l->hard[l->n++] = info->type == H5L_TYPE_HARD;
    return 0;
}

/* One HDF5 iteration over the names of obj in `order` into out. */
typedef herr_t (*name_iteration)(hid_t obj, H5_index_t order, name_list *out);

/* The names of obj by `iterate`, in creation order when the file tracks
 * it, else by name; -1 when neither works. */
static int list_names(hid_t obj, name_iteration iterate, name_list *out)
{
    memset(out, 0, sizeof *out);
    if (iterate(obj, H5_INDEX_CRT_ORDER, out) >= 0)
        return 0;
    free_names(out);
    if (iterate(obj, H5_INDEX_NAME, out) >= 0)
        return 0;
    free_names(out);
    return -1;
}

static herr_t iterate_links(hid_t g, H5_index_t order, name_list *out)
{
    hsize_t idx = 0;
    return H5Literate(g, order, H5_ITER_INC, &idx, collect_link, out);
}

/* Member names of a group, in creation order when tracked. */
static int list_members(hid_t g, name_list *out)
{
    return list_names(g, iterate_links, out);
}

/* Open member i of `l` in `parent` (named `where`) as a group (want_group)
 * or a dataset, or fail with a message saying what was found. */
static hid_t open_member(const reader *rd, hid_t parent, const char *where, const name_list *l,
                         size_t i, int want_group, const char *role)
{
    char pname[80];
    const char *found = "a soft or external link";
    hid_t obj = l->hard[i] ? H5Oopen(parent, l->names[i], H5P_DEFAULT) : -1;
    if (obj >= 0) {
        H5I_type_t kind = H5Iget_type(obj);
        if (kind == (want_group ? H5I_GROUP : H5I_DATASET))
            return obj;
        found = kind == H5I_GROUP ? "a group" : kind == H5I_DATASET ? "a dataset" : "a named datatype";
        H5Oclose(obj);
    } else if (l->hard[i]) {
        found = "an object that cannot be opened";
    }
    cx_error_set(rd->err, CX_EIO, "%s: %s/%s: expected %s (%s), found %s", rd->path, where,
                 printable(l->names[i], pname, sizeof pname), want_group ? "a group" : "a dataset",
                 role, found);
    return -1;
}

/* ---- columns ----------------------------------------------------------- */

/* What a stored column is, once checked. */
typedef struct column_info {
    cx_rcol_type type;
    size_t nrows;
    int variable;  /* variable-length strings */
    size_t width;  /* bytes per fixed-length string */
} column_info;

/* Storage the dataset may be read from: its own, in this file. */
static int storage_is_local(hid_t ds)
{
    hid_t dcpl = H5Dget_create_plist(ds);
    if (dcpl < 0)
        return 0;
    int local = H5Pget_external_count(dcpl) == 0 && H5Pget_layout(dcpl) != H5D_VIRTUAL;
    H5Pclose(dcpl);
    return local;
}

/* Whether `bytes` of column data can really come from what `ds` stores:
 * a corrupt or crafted file may declare 2^40 rows in a few bytes. */
static int size_is_plausible(const reader *rd, hid_t ds, hsize_t bytes)
{
    hsize_t stored = H5Dget_storage_size(ds);
    if (stored > rd->file_size)
        stored = rd->file_size;
    hid_t dcpl = H5Dget_create_plist(ds);
    int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    hsize_t limit = (filtered ? MAX_FILTER_RATIO : 1) * stored + SLACK_BYTES;
    return bytes <= limit;
}

/* Check column `name` of the open dataset `ds`, in table `where`. */
static int column_shape(const reader *rd, hid_t ds, const char *where, const char *name,
                        column_info *ci)
{
    char pname[80], found[96];
    hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(type);
    int rank = H5Sget_simple_extent_type(space) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space)
                                                                : -1;
    hsize_t dims[1] = {0};
    if (rank == 1)
        H5Sget_simple_extent_dims(space, dims, NULL);
    size_t tsize = H5Tget_size(type);
    htri_t variable = cls == H5T_STRING ? H5Tis_variable_str(type) : 0;
    H5T_cset_t cset = cls == H5T_STRING ? H5Tget_cset(type) : H5T_CSET_ASCII;
    int rc = CX_OK;
    printable(name, pname, sizeof pname);
    if (space < 0 || type < 0) {
        rc = cx_error_set(rd->err, CX_EIO, "%s: %s/%s: cannot read the column's type and shape",
                          rd->path, where, pname);
    } else if (rank != 1) {
        describe_space(space, found, sizeof found);
        rc = cx_error_set(rd->err, CX_EIO, "%s: %s/%s: expected a 1-D column, found %s",
                          rd->path, where, pname, found);
    } else if (cls != H5T_FLOAT && cls != H5T_INTEGER && cls != H5T_STRING) {
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s/%s: expected a column of numbers or strings, found %s",
                          rd->path, where, pname, class_name(cls));
    } else if (cls == H5T_STRING && (variable < 0 || (cset != H5T_CSET_ASCII &&
                                                      cset != H5T_CSET_UTF8) ||
                                     (!variable && (tsize == 0 || tsize > MAX_STRING_BYTES)))) {
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s/%s: expected ASCII or UTF-8 strings of at most %zu bytes",
                          rd->path, where, pname, MAX_STRING_BYTES);
    } else if (!storage_is_local(ds)) {
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s/%s: expected data stored in this file, found external or "
                          "virtual storage",
                          rd->path, where, pname);
    } else if (tsize == 0 || dims[0] > (hsize_t)(SIZE_MAX / 2) / tsize ||
               !size_is_plausible(rd, ds, dims[0] * tsize)) {
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s/%s: declares %llu rows, more than the file stores", rd->path,
                          where, pname, (unsigned long long)dims[0]);
    } else {
        ci->type = cls == H5T_STRING    ? CX_RCOL_STRING
                   : cls == H5T_INTEGER ? CX_RCOL_INT
                                        : CX_RCOL_DOUBLE;
        ci->nrows = (size_t)dims[0];
        ci->variable = variable > 0;
        ci->width = tsize;
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Variable-length strings into c->s (n rows). */
static int read_variable_strings(hid_t ds, cx_rcolumn *c, size_t n)
{
    hid_t ftype = H5Dget_type(ds), space = H5Dget_space(ds);
    hid_t mem = memory_string_type(ftype, 1);
    char **raw = calloc(n, sizeof *raw);
    int failed = mem < 0 || space < 0 || !raw ||
                 H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0;
    for (size_t i = 0; !failed && i < n; i++) {
        free(c->s[i]);
        c->s[i] = strdup(raw[i] ? raw[i] : "");
        failed = c->s[i] == NULL;
    }
    if (raw && mem >= 0 && space >= 0)
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
    free(raw);
    if (mem >= 0)
        H5Tclose(mem);
    if (space >= 0)
        H5Sclose(space);
    H5Tclose(ftype);
    return failed ? -1 : 0;
}

/* Fixed-length strings of `width` bytes into c->s (n rows). */
static int read_fixed_strings(hid_t ds, cx_rcolumn *c, size_t n, size_t width)
{
    hid_t ftype = H5Dget_type(ds);
    hid_t mem = memory_string_type(ftype, 0);
    H5T_str_t pad = H5Tget_strpad(ftype);
    char *raw = malloc(n * width);
    int failed = mem < 0 || !raw || H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0;
    for (size_t i = 0; !failed && i < n; i++) {
        free(c->s[i]);
        c->s[i] = fixed_cell(raw + i * width, width, pad);
        failed = c->s[i] == NULL;
    }
    free(raw);
    if (mem >= 0)
        H5Tclose(mem);
    H5Tclose(ftype);
    return failed ? -1 : 0;
}

/* Read the checked column `ds` into result column c (n rows). */
static int read_column_values(const reader *rd, hid_t ds, const char *where, const char *name,
                              const column_info *ci, cx_rcolumn *c)
{
    if (ci->nrows == 0)
        return CX_OK;
    int failed;
    if (c->type == CX_RCOL_DOUBLE)
        failed = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->d) < 0;
    else if (c->type == CX_RCOL_INT)
        failed = H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->i) < 0;
    else if (ci->variable)
        failed = read_variable_strings(ds, c, ci->nrows);
    else
        failed = read_fixed_strings(ds, c, ci->nrows, ci->width);
    char pname[80];
    return failed ? cx_error_set(rd->err, CX_EIO, "%s: %s/%s: cannot read the column's values",
                                 rd->path, where, printable(name, pname, sizeof pname))
                  : CX_OK;
}

/* ---- tables and jobs ------------------------------------------------- */

/* Open every column of table group `g`, check each and their lengths, and
 * define them in t (result tables take their columns before any row). */
static int define_columns(const reader *rd, hid_t g, const char *where, const name_list *cols,
                          cx_rtable *t, hid_t *ds, column_info *info)
{
    char pname[80];
    for (size_t j = 0; j < cols->n; j++) {
        ds[j] = open_member(rd, g, where, cols, j, 0, "a column");
        if (ds[j] < 0 || column_shape(rd, ds[j], where, cols->names[j], &info[j]))
            return CX_EIO;
        if (j > 0 && info[j].nrows != info[0].nrows)
            return cx_error_set(rd->err, CX_EIO, "%s: %s/%s: has %zu rows, expected %zu like '%s'",
                                rd->path, where, printable(cols->names[j], pname, sizeof pname),
                                info[j].nrows, info[0].nrows, cols->names[0]);
        if (cx_rtable_add_column(t, cols->names[j], info[j].type, rd->err))
            return rd->err ? rd->err->code : CX_ENOMEM;
    }
    return CX_OK;
}

/* Table group `g` (named `where`) into a new table `name` of r. */
static int read_table(const reader *rd, hid_t g, const char *where, const char *name,
                      cx_result *r)
{
    name_list cols;
    if (list_members(g, &cols) < 0)
        return cx_error_set(rd->err, CX_EIO, "%s: %s: cannot list the table's columns", rd->path,
                            where);
    cx_rtable *t = cx_result_table(r, name, rd->err);
    hid_t *ds = calloc(cols.n ? cols.n : 1, sizeof *ds);
    column_info *info = calloc(cols.n ? cols.n : 1, sizeof *info);
    int rc = !t || !ds || !info ? cx_error_set(rd->err, CX_ENOMEM, "out of memory") : CX_OK;
    for (size_t j = 0; ds && j < cols.n; j++)
        ds[j] = -1;
    if (rc == CX_OK)
        rc = define_columns(rd, g, where, &cols, t, ds, info);
    size_t nrows = cols.n ? info[0].nrows : 0;
    while (rc == CX_OK && t->nrows < nrows)
        rc = cx_rtable_add_row(t, rd->err) < 0 ? CX_ENOMEM : CX_OK;
    for (size_t j = 0; rc == CX_OK && j < cols.n; j++)
        rc = read_column_values(rd, ds[j], where, cols.names[j], &info[j], &t->cols[j]);
    for (size_t j = 0; ds && j < cols.n; j++)
        if (ds[j] >= 0)
            H5Dclose(ds[j]);
    free(ds);
    free(info);
    free_names(&cols);
    return rc;
}

/* The attributes' names of `obj`, in creation order when tracked. */
static herr_t collect_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)obj;
    (void)info;
    name_list *l = data;
    H5L_info_t hard = {.type = H5L_TYPE_HARD};
    return collect_link(obj, name, &hard, l);
}

static herr_t iterate_attrs(hid_t obj, H5_index_t order, name_list *out)
{
    hsize_t idx = 0;
    return H5Aiterate2(obj, order, H5_ITER_INC, &idx, collect_attr, out);
}

/* Attribute names of obj, in creation order when tracked. */
static int list_attrs(hid_t obj, name_list *out)
{
    return list_names(obj, iterate_attrs, out);
}

/* One of a job's extra attributes (iterations, elapsed_s, ...): a string
 * or a number. */
static int read_extra_attr(const reader *rd, hid_t g, const char *where, const char *name,
                           cx_result *r)
{
    H5T_class_t cls;
    hid_t attr = open_single_attr(rd, g, where, name, "a scalar string or number",
                                  WANT_STRING_OR_NUMBER, &cls);
    if (attr < 0)
        return CX_EIO;
    H5Aclose(attr);
    if (cls == H5T_STRING) {
        char *v = NULL;
        int rc = read_attr_string(rd, g, where, name, &v);
        if (rc == CX_OK)
            rc = cx_result_set_attr_string(r, name, v ? v : "", rd->err);
        free(v);
        return rc;
    }
    double d;
    int rc = read_attr_double(rd, g, where, name, &d);
    return rc ? rc : cx_result_set_attr_double(r, name, d, rd->err);
}

static int read_job_attrs(const reader *rd, hid_t g, const char *where, cx_result *r)
{
    char *status = NULL;
    int rc = read_attr_string(rd, g, where, "status", &status);
    if (rc == CX_OK && cx_status_parse(status, &r->status) != 0)
        rc = cx_error_set(rd->err, CX_EIO,
                          "%s: %s attribute 'status': expected ok, not_converged or failed",
                          rd->path, where);
    free(status);
    if (rc == CX_OK)
        rc = read_attr_string(rd, g, where, "message", &r->message);
    if (rc == CX_OK)
        rc = read_attr_double(rd, g, where, "nobs", &r->nobs);
    name_list attrs = {0};
    if (rc == CX_OK && list_attrs(g, &attrs) < 0)
        return cx_error_set(rd->err, CX_EIO, "%s: %s: cannot list the job's attributes", rd->path,
                            where);
    for (size_t i = 0; rc == CX_OK && i < attrs.n; i++)
        if (strcmp(attrs.names[i], "status") != 0 && strcmp(attrs.names[i], "message") != 0 &&
            strcmp(attrs.names[i], "nobs") != 0)
            rc = read_extra_attr(rd, g, where, attrs.names[i], r);
    free_names(&attrs);
    return rc;
}

/* Open `path` read-only for reading back, HDF5's own error printing off
 * (we report errors our way). */
static hid_t open_results(reader *rd, const char *path, cx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    rd->path = path;
    rd->err = err;
    struct stat st;
    rd->file_size = stat(path, &st) == 0 ? (hsize_t)st.st_size : 0;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        cx_error_set(err, CX_EIO, "%s: cannot open as an HDF5 results file", path);
    return file;
}

int cx_results_list_jobs(const char *path, cx_stored_job **jobs, size_t *n, cx_error *err)
{
    reader rd;
    *jobs = NULL;
    *n = 0;
    hid_t file = open_results(&rd, path, err);
    if (file < 0)
        return CX_EIO;
    name_list names;
    if (list_members(file, &names) < 0) {
        H5Fclose(file);
        return cx_error_set(err, CX_EIO, "%s: cannot list the jobs", path);
    }
    cx_stored_job *out = cx_calloc(names.n, sizeof *out, err);
    int rc = out ? CX_OK : CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < names.n; i++) {
        hid_t g = open_member(&rd, file, "", &names, i, 1, "a job");
        if (g < 0) {
            rc = CX_EIO;
            break;
        }
        char where[96] = "/";
        printable(names.names[i], where + 1, sizeof where - 1);
        cx_stored_job *j = &out[(*n)++];
        if (!(j->name = strdup(names.names[i])))
            rc = cx_error_set(err, CX_ENOMEM, "out of memory");
        if (rc == CX_OK)
            rc = read_attr_string(&rd, g, where, "model", &j->model);
        if (rc == CX_OK)
            rc = read_attr_string(&rd, g, where, "status", &j->status);
        if (rc == CX_OK)
            rc = read_attr_string(&rd, g, where, "spec", &j->spec);
        H5Oclose(g);
    }
    free_names(&names);
    H5Fclose(file);
    if (rc != CX_OK) {
        cx_stored_jobs_free(out, *n);
        *n = 0;
        return rc;
    }
    *jobs = out;
    return CX_OK;
}

void cx_stored_jobs_free(cx_stored_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++) {
        free(jobs[i].name);
        free(jobs[i].model);
        free(jobs[i].status);
        free(jobs[i].spec);
    }
    free(jobs);
}

/* The tables of job group g (named `where`) into r. */
static int read_job_tables(const reader *rd, hid_t g, const char *where, cx_result *r)
{
    name_list tables;
    if (list_members(g, &tables) < 0)
        return cx_error_set(rd->err, CX_EIO, "%s: %s: cannot list the job's tables", rd->path,
                            where);
    int rc = CX_OK;
    for (size_t i = 0; rc == CX_OK && i < tables.n; i++) {
        hid_t tg = open_member(rd, g, where, &tables, i, 1, "a table");
        if (tg < 0) {
            rc = CX_EIO;
            break;
        }
        char twhere[192];
        char pname[80];
        snprintf(twhere, sizeof twhere, "%s/%s", where,
                 printable(tables.names[i], pname, sizeof pname));
        rc = read_table(rd, tg, twhere, tables.names[i], r);
        H5Oclose(tg);
    }
    free_names(&tables);
    return rc;
}

/* Job `job` of the open file as a group, refusing names that are paths
 * (".", "a/b") and links. */
static hid_t open_job(const reader *rd, hid_t file, const char *job)
{
    char pname[80];
    printable(job, pname, sizeof pname);
    H5L_info_t info;
    if (!*job || strchr(job, '/') || strcmp(job, ".") == 0 || H5Lexists(file, job, H5P_DEFAULT) <= 0 ||
        H5Lget_info(file, job, &info, H5P_DEFAULT) < 0) {
        cx_error_set(rd->err, CX_EUSAGE, "%s: no job '%s' in this results file", rd->path, pname);
        return -1;
    }
    name_list one = {.names = (char **)&job, .hard = (int[]){info.type == H5L_TYPE_HARD}, .n = 1};
    return open_member(rd, file, "", &one, 0, 1, "a job");
}

cx_result *cx_results_read_job(const char *path, const char *job, cx_error *err)
{
    reader rd;
    hid_t file = open_results(&rd, path, err);
    if (file < 0)
        return NULL;
    hid_t g = open_job(&rd, file, job);
    if (g < 0) {
        H5Fclose(file);
        return NULL;
    }
    char where[96] = "/";
    printable(job, where + 1, sizeof where - 1);
    cx_result *r = cx_result_alloc(0.95, err);
    int rc = r ? read_job_attrs(&rd, g, where, r) : CX_ENOMEM;
    if (rc == CX_OK)
        rc = read_job_tables(&rd, g, where, r);
    H5Oclose(g);
    H5Fclose(file);
    if (rc) {
        cx_result_free(r);
        return NULL;
    }
    return r;
}

char *cx_results_root_attr(const char *path, const char *name, cx_error *err)
{
    reader rd;
    hid_t file = open_results(&rd, path, err);
    if (file < 0)
        return NULL;
    char *v = NULL;
    int rc = read_attr_string(&rd, file, "/", name, &v);
    H5Fclose(file);
    if (rc)
        return NULL;
    if (!v && !(v = strdup("")))
        cx_error_set(err, CX_ENOMEM, "out of memory");
    return v;
}
