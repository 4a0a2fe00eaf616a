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
    int rc = write_attr_string(g, "model", model) | write_attr_string(g, "status", cx_status_name(r->status)) |
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
