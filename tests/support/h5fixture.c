/*
 * h5fixture.c — writing small HDF5 tables for tests (see h5fixture.h).
 */
#include "h5fixture.h"

#include <stdlib.h>
#include <string.h>

hid_t fx_create(const char *path)
{
    return H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
}

hid_t fx_group(hid_t file, const char *path, int track_order)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (track_order)
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(file, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

int fx_column(hid_t group, const char *name, hid_t file_type, hid_t mem_type, const void *data,
              size_t n, size_t chunk)
{
    hsize_t dims = n, cdims = chunk;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk > 0)
        H5Pset_chunk(dcpl, 1, &cdims);
    hid_t d = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 ? -1 : 0;
    if (d >= 0 && n > 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = -1;
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

int fx_matrix(hid_t group, const char *name, const double *data, size_t rows, size_t cols)
{
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(space);
    return rc ? -1 : 0;
}

static hid_t utf8_vlen_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int fx_string_column(hid_t group, const char *name, const char *const *values, size_t n)
{
    hid_t type = utf8_vlen_type();
    int rc = fx_column(group, name, type, type, values, n, 0);
    H5Tclose(type);
    return rc;
}

int fx_attr_number(hid_t group, const char *dset, const char *attr, hid_t type, double value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a =
        H5Acreate_by_name(group, dset, attr, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &value) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc ? -1 : 0;
}

int fx_attr_strings(hid_t group, const char *dset, const char *attr, const char *const *labels,
                    size_t n, int variable)
{
    hsize_t dims = n;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t type = H5Tcopy(H5T_C_S1);
    char fixed[64 * 32] = {0};
    const void *buf = labels;
    if (variable) {
        H5Tset_size(type, H5T_VARIABLE);
    } else {
        size_t width = 1;
        for (size_t k = 0; k < n; k++)
            if (strlen(labels[k]) > width)
                width = strlen(labels[k]);
        if (width * n > sizeof fixed) {
            H5Tclose(type);
            H5Sclose(space);
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            memcpy(fixed + k * width, labels[k], strlen(labels[k]));
        H5Tset_size(type, width);
        H5Tset_strpad(type, H5T_STR_NULLPAD);
        buf = fixed;
    }
    hid_t a =
        H5Acreate_by_name(group, dset, attr, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, type, buf) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Tclose(type);
    H5Sclose(space);
    return rc ? -1 : 0;
}

int fx_attr_int64(hid_t group, const char *dset, const char *attr, hid_t type, int64_t value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a =
        H5Acreate_by_name(group, dset, attr, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_INT64, &value) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc ? -1 : 0;
}

int fx_attr_uint64(hid_t group, const char *dset, const char *attr, hid_t type, uint64_t value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a =
        H5Acreate_by_name(group, dset, attr, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT64, &value) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc ? -1 : 0;
}

int fx_declared_column(hid_t group, const char *name, size_t declared, size_t written,
                       size_t chunk)
{
    hsize_t dims = declared, maxdims = H5S_UNLIMITED, cdims = chunk;
    hid_t space = H5Screate_simple(1, &dims, &maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &cdims);
    hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 ? -1 : 0;
    if (d >= 0 && written > 0) {
        double *x = calloc(written, sizeof *x);
        hsize_t start = 0, count = written;
        hid_t mspace = H5Screate_simple(1, &count, NULL);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &count, NULL);
        if (!x || H5Dwrite(d, H5T_NATIVE_DOUBLE, mspace, space, H5P_DEFAULT, x) < 0)
            rc = -1;
        H5Sclose(mspace);
        free(x);
    }
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

int fx_scalar(hid_t group, const char *name, double value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(space);
    return rc ? -1 : 0;
}
