/*
 * results_io.c — writing and reading the results HDF5 file (results_io.h).
 *
 * Groups track link creation order so that jobs, tables and columns read
 * back in the order they were written (h5py and hdf5r show them that way
 * too).  Callers serialize calls (HDF5's serial build has one global lock
 * anyway); the run writes from one thread at a time.
 */
#include "results_io.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cx_results_file {
    hid_t file;
    char *path;
};

static hid_t utf8_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* A group whose members keep their creation order. */
static hid_t create_ordered_group(hid_t parent, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static int write_attr_string(hid_t obj, const char *name, const char *value)
{
    hid_t type = utf8_string_type();
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char *v = value ? value : "";
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, &v);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return rc < 0 ? -1 : 0;
}

static int write_attr_double(hid_t obj, const char *name, double value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_DOUBLE, &value);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

cx_results_file *cx_results_create(const char *tmp_path, const cx_provenance *prov, cx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t file = H5Fcreate(tmp_path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (file < 0) {
        cx_error_set(err, CX_EIO, "%s: cannot create results file", tmp_path);
        return NULL;
    }
    char created[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int rc = write_attr_string(file, "cxfit_version", CXFIT_VERSION) |
             write_attr_string(file, "created", created) |
             write_attr_string(file, "config", prov->config_text) |
             write_attr_double(file, "threads", prov->threads) |
             write_attr_double(file, "ranks", prov->ranks);
    if (prov->shard)
        rc |= write_attr_string(file, "shard", prov->shard) |
              write_attr_string(file, "jobs", prov->job_names);
    if (rc) {
        H5Fclose(file);
        cx_error_set(err, CX_EIO, "%s: cannot write root attributes", tmp_path);
        return NULL;
    }
    cx_results_file *f = cx_calloc(1, sizeof *f, err);
    if (!f || !(f->path = cx_strdup(tmp_path, err))) {
        free(f);
        H5Fclose(file);
        return NULL;
    }
    f->file = file;
    return f;
}

static int write_column(hid_t group, const cx_rcolumn *c, size_t n)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t file_type, mem_type;
    const void *data;
    const char **strings = NULL;
    if (c->type == CX_RCOL_DOUBLE) {
        file_type = H5Tcopy(H5T_IEEE_F64LE);
        mem_type = H5Tcopy(H5T_NATIVE_DOUBLE);
        data = c->d;
    } else if (c->type == CX_RCOL_INT) {
        file_type = H5Tcopy(H5T_STD_I64LE);
        mem_type = H5Tcopy(H5T_NATIVE_LLONG);
        data = c->i;
    } else {
        /* HDF5 wants a pointer per row; NULL means "" here. */
        strings = malloc((n ? n : 1) * sizeof *strings);
        if (!strings) {
            H5Sclose(space);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            strings[i] = c->s[i] ? c->s[i] : "";
        file_type = utf8_string_type();
        mem_type = H5Tcopy(file_type);
        data = strings;
    }
    hid_t ds = H5Dcreate2(group, c->name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    /* HDF5 callocs a type-conversion buffer of the transfer list's size
     * (1 MiB by default) for every string write: sized to the column, a
     * study of 300 small jobs stops spending most of its time zeroing and
     * faulting in pages it never uses. */
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    size_t buffer = n * 32 < 4096 ? 4096 : n * 32;
    if (dxpl >= 0 && buffer < 1024 * 1024)
        H5Pset_buffer(dxpl, buffer, NULL, NULL);
    herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, dxpl, data) : 0);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    if (ds >= 0)
        H5Dclose(ds);
    H5Tclose(file_type);
    H5Tclose(mem_type);
    H5Sclose(space);
    free(strings);
    return rc < 0 ? -1 : 0;
}

static int write_table(hid_t job_group, const cx_rtable *t)
{
    hid_t g = create_ordered_group(job_group, t->name);
    if (g < 0)
        return -1;
    int rc = 0;
    for (size_t j = 0; j < t->ncols && rc == 0; j++)
        rc = write_column(g, &t->cols[j], t->nrows);
    H5Gclose(g);
    return rc;
}

int cx_results_write_job(cx_results_file *f, const char *job, const char *model, const char *spec,
                         double elapsed_s, unsigned long seed, const cx_result *r, cx_error *err)
{
    hid_t g = create_ordered_group(f->file, job);
    if (g < 0)
        return cx_error_set(err, CX_EIO, "%s: cannot create group for job '%s'", f->path, job);
    int rc = write_attr_string(g, "model", model) | write_attr_string(g, "status", r->status) |
             write_attr_string(g, "message", r->message ? r->message : "") |
             write_attr_double(g, "nobs", r->nobs) | write_attr_double(g, "elapsed_s", elapsed_s) |
             write_attr_double(g, "seed", (double)seed) | write_attr_string(g, "spec", spec);
    for (size_t i = 0; i < r->n_attrs && rc == 0; i++) {
        const cx_rattr *a = &r->attrs[i];
        rc = a->is_string ? write_attr_string(g, a->name, a->s)
                          : write_attr_double(g, a->name, a->d);
    }
    for (size_t i = 0; i < r->n_tables && rc == 0; i++)
        rc = write_table(g, r->tables[i]);
    H5Gclose(g);
    if (rc)
        return cx_error_set(err, CX_EIO, "%s: cannot write results of job '%s'", f->path, job);
    return CX_OK;
}

int cx_results_copy_job(cx_results_file *f, const char *src_path, const char *job, cx_error *err)
{
    hid_t src = H5Fopen(src_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src < 0)
        return cx_error_set(err, CX_EIO, "%s: cannot open results file", src_path);
    herr_t rc = H5Ocopy(src, job, f->file, job, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(src);
    if (rc < 0)
        return cx_error_set(err, CX_EIO, "%s: cannot copy job '%s'", src_path, job);
    return CX_OK;
}

void cx_results_remove_job(cx_results_file *f, const char *job)
{
    if (job && *job && H5Lexists(f->file, job, H5P_DEFAULT) > 0)
        H5Ldelete(f->file, job, H5P_DEFAULT);
}

void cx_results_flush(cx_results_file *f)
{
    H5Fflush(f->file, H5F_SCOPE_GLOBAL);
}

int cx_results_close(cx_results_file *f, cx_error *err)
{
    if (!f)
        return CX_OK;
    herr_t rc = H5Fclose(f->file);
    int code = CX_OK;
    if (rc < 0)
        code = cx_error_set(err, CX_EIO, "%s: error closing results file", f->path);
    free(f->path);
    free(f);
    return code;
}

/* ---- reading back ---------------------------------------------------- */

/* A string attribute (fixed or variable length) as a new string, or NULL. */
static char *read_attr_string(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0)
        return NULL;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(attr);
    char *out = NULL;
    if (H5Tget_class(type) == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0) {
            hid_t mem = utf8_string_type();
            char *v = NULL;
            if (H5Aread(attr, mem, &v) >= 0 && v) {
                out = strdup(v);
                H5free_memory(v);
            }
            H5Tclose(mem);
        } else {
            size_t n = H5Tget_size(type);
            out = calloc(n + 1, 1);
            if (out && H5Aread(attr, type, out) < 0) {
                free(out);
                out = NULL;
            }
        }
    } else if (H5Tget_class(type) == H5T_FLOAT || H5Tget_class(type) == H5T_INTEGER) {
        double d;
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &d) >= 0) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.17g", d);
            out = strdup(buf);
        }
    }
    H5Tclose(type);
    H5Aclose(attr);
    return out;
}

static double read_attr_double(hid_t obj, const char *name)
{
    double d = NAN;
    if (H5Aexists(obj, name) <= 0)
        return d;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(attr);
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_FLOAT || cls == H5T_INTEGER)
        H5Aread(attr, H5T_NATIVE_DOUBLE, &d);
    H5Tclose(type);
    H5Aclose(attr);
    return d;
}

typedef struct name_list {
    char **names;
    size_t n;
} name_list;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    name_list *l = data;
    char **grown = realloc(l->names, (l->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    l->names = grown;
    l->names[l->n] = strdup(name);
    return l->names[l->n++] ? 0 : -1;
}

/* Member names of a group, in creation order when tracked. */
static int list_members(hid_t g, name_list *out)
{
    out->names = NULL;
    out->n = 0;
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect_name, out) < 0) {
        for (size_t i = 0; i < out->n; i++)
            free(out->names[i]);
        free(out->names);
        out->names = NULL;
        out->n = 0;
        idx = 0;
        return H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, out) < 0 ? -1 : 0;
    }
    return 0;
}

static void free_names(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

int cx_results_list_jobs(const char *path, cx_stored_job **jobs, size_t *n, cx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *jobs = NULL;
    *n = 0;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return cx_error_set(err, CX_EIO, "%s: cannot open results file", path);
    name_list names;
    if (list_members(file, &names) < 0) {
        H5Fclose(file);
        return cx_error_set(err, CX_EIO, "%s: cannot list jobs", path);
    }
    cx_stored_job *out = cx_calloc(names.n, sizeof *out, err);
    for (size_t i = 0; out && i < names.n; i++) {
        hid_t g = H5Gopen2(file, names.names[i], H5P_DEFAULT);
        if (g < 0)
            continue;
        cx_stored_job *j = &out[(*n)++];
        j->name = strdup(names.names[i]);
        j->model = read_attr_string(g, "model");
        j->status = read_attr_string(g, "status");
        j->spec = read_attr_string(g, "spec");
        H5Gclose(g);
    }
    free_names(&names);
    H5Fclose(file);
    if (!out)
        return CX_ENOMEM;
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

/* The result-column type and length of a stored 1-D column. */
static int column_shape(hid_t g, const char *name, cx_rcol_type *type, size_t *n, cx_error *err)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0)
        return cx_error_set(err, CX_EIO, "cannot open column '%s'", name);
    hid_t t = H5Dget_type(ds), space = H5Dget_space(ds);
    H5T_class_t cls = H5Tget_class(t);
    *type = cls == H5T_STRING ? CX_RCOL_STRING : cls == H5T_INTEGER ? CX_RCOL_INT : CX_RCOL_DOUBLE;
    hssize_t points = H5Sget_simple_extent_npoints(space);
    *n = points > 0 ? (size_t)points : 0;
    H5Tclose(t);
    H5Sclose(space);
    H5Dclose(ds);
    return CX_OK;
}

/* Read a stored column into result column c (which has the right length). */
static int read_column_values(hid_t g, const char *name, cx_rcolumn *c, size_t n, cx_error *err)
{
    if (n == 0)
        return CX_OK;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    int failed;
    if (c->type == CX_RCOL_DOUBLE) {
        failed = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->d) < 0;
    } else if (c->type == CX_RCOL_INT) {
        failed = H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->i) < 0;
    } else {
        hid_t mem = utf8_string_type();
        char **raw = calloc(n, sizeof *raw);
        failed = !raw || H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0;
        for (size_t i = 0; !failed && i < n; i++) {
            free(c->s[i]);
            c->s[i] = strdup(raw[i] ? raw[i] : "");
            failed = c->s[i] == NULL;
        }
        if (raw && H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw) < 0)
            failed = 1;
        free(raw);
        H5Tclose(mem);
    }
    H5Sclose(space);
    H5Dclose(ds);
    return failed ? cx_error_set(err, CX_EIO, "cannot read column '%s'", name) : CX_OK;
}

/* A stored table: define every column, add the rows, then read the values
 * (result tables take all their columns before their first row). */
static int read_table(hid_t job_group, const char *name, cx_result *r, cx_error *err)
{
    hid_t g = H5Gopen2(job_group, name, H5P_DEFAULT);
    name_list cols;
    if (g < 0 || list_members(g, &cols) < 0) {
        if (g >= 0)
            H5Gclose(g);
        return cx_error_set(err, CX_EIO, "cannot read table '%s'", name);
    }
    cx_rtable *t = cx_result_table(r, name, err);
    int rc = t ? CX_OK : CX_ENOMEM;
    size_t nrows = 0;
    for (size_t j = 0; j < cols.n && rc == CX_OK; j++) {
        cx_rcol_type type = CX_RCOL_DOUBLE;
        size_t n = 0;
        rc = column_shape(g, cols.names[j], &type, &n, err);
        if (rc == CX_OK && j > 0 && n != nrows)
            rc = cx_error_set(err, CX_EIO, "table '%s': column '%s' has %zu rows, expected %zu",
                              name, cols.names[j], n, nrows);
        nrows = n;
        if (rc == CX_OK)
            rc = cx_rtable_add_column(t, cols.names[j], type, err);
    }
    while (rc == CX_OK && t->nrows < nrows)
        rc = cx_rtable_add_row(t, err) < 0 ? CX_ENOMEM : CX_OK;
    for (size_t j = 0; j < cols.n && rc == CX_OK; j++)
        rc = read_column_values(g, cols.names[j], &t->cols[j], nrows, err);
    free_names(&cols);
    H5Gclose(g);
    return rc;
}

static int read_job_attrs(hid_t g, cx_result *r, cx_error *err)
{
    char *status = read_attr_string(g, "status");
    snprintf(r->status, sizeof r->status, "%s", status ? status : "unknown");
    free(status);
    r->message = read_attr_string(g, "message");
    r->nobs = read_attr_double(g, "nobs");
    int n = H5Aget_num_attrs(g);
    for (int i = 0; i < n; i++) {
        char name[256];
        hid_t a = H5Aopen_by_idx(g, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, (hsize_t)i, H5P_DEFAULT,
                                 H5P_DEFAULT);
        if (a < 0)
            a = H5Aopen_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, H5P_DEFAULT,
                               H5P_DEFAULT);
        if (a < 0)
            continue;
        H5Aget_name(a, sizeof name, name);
        hid_t type = H5Aget_type(a);
        int is_string = H5Tget_class(type) == H5T_STRING;
        H5Tclose(type);
        H5Aclose(a);
        if (strcmp(name, "status") == 0 || strcmp(name, "message") == 0 ||
            strcmp(name, "nobs") == 0)
            continue;
        int rc;
        if (is_string) {
            char *v = read_attr_string(g, name);
            rc = cx_result_set_attr_string(r, name, v ? v : "", err);
            free(v);
        } else {
            rc = cx_result_set_attr_double(r, name, read_attr_double(g, name), err);
        }
        if (rc)
            return rc;
    }
    return CX_OK;
}

cx_result *cx_results_read_job(const char *path, const char *job, cx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        cx_error_set(err, CX_EIO, "%s: cannot open results file", path);
        return NULL;
    }
    hid_t g = H5Lexists(file, job, H5P_DEFAULT) > 0 ? H5Gopen2(file, job, H5P_DEFAULT) : -1;
    if (g < 0) {
        H5Fclose(file);
        cx_error_set(err, CX_EUSAGE, "%s: no job '%s' in this results file", path, job);
        return NULL;
    }
    cx_result *r = cx_result_alloc(0.95, err);
    name_list tables = {0};
    int rc = r ? read_job_attrs(g, r, err) : CX_ENOMEM;
    if (rc == CX_OK && list_members(g, &tables) < 0)
        rc = cx_error_set(err, CX_EIO, "%s: cannot list tables of job '%s'", path, job);
    for (size_t i = 0; rc == CX_OK && i < tables.n; i++)
        rc = read_table(g, tables.names[i], r, err);
    free_names(&tables);
    H5Gclose(g);
    H5Fclose(file);
    if (rc) {
        cx_error_prefix(err, "%s: job '%s'", path, job);
        cx_result_free(r);
        return NULL;
    }
    return r;
}

char *cx_results_root_attr(const char *path, const char *name, cx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        cx_error_set(err, CX_EIO, "%s: cannot open results file", path);
        return NULL;
    }
    char *v = read_attr_string(file, name);
    H5Fclose(file);
    return v ? v : strdup("");
}
