/*
 * h5fixture.h — helpers for tests that need small HDF5 tables on disk.
 *
 * Tests write the exact layouts users produce with h5py/hdf5r (one 1-D
 * dataset per column, attributes `missing_value` and `categories`), plus
 * the broken ones the table reader must reject.  Every helper returns 0 on
 * success and -1 on any HDF5 failure, so a test can assert on it.
 */
#ifndef CX_H5FIXTURE_H
#define CX_H5FIXTURE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Create (truncate) a file; returns the file id or -1. */
hid_t fx_create(const char *path);
/* Create a group that remembers the creation order of its members
 * (track_order != 0) or lists them by name (h5py's default). */
hid_t fx_group(hid_t file, const char *path, int track_order);
/* Write a 1-D dataset of `n` elements: `data` is in `mem_type`, stored as
 * `file_type`; chunk > 0 makes it chunked with that chunk length. */
int fx_column(hid_t group, const char *name, hid_t file_type, hid_t mem_type, const void *data,
              size_t n, size_t chunk);
/* A 2-D dataset (rows x cols of doubles), for the "not 1-D" error. */
int fx_matrix(hid_t group, const char *name, const double *data, size_t rows, size_t cols);
/* A variable-length UTF-8 string column. */
int fx_string_column(hid_t group, const char *name, const char *const *values, size_t n);
/* Scalar numeric attribute on dataset `dset` of `group`. */
int fx_attr_number(hid_t group, const char *dset, const char *attr, hid_t type, double value);
/* String-array attribute, variable length (variable != 0) or fixed. */
int fx_attr_strings(hid_t group, const char *dset, const char *attr, const char *const *labels,
                    size_t n, int variable);
/* Integer attributes written exactly (a double cannot hold 2^53 + 1). */
int fx_attr_int64(hid_t group, const char *dset, const char *attr, hid_t type, int64_t value);
int fx_attr_uint64(hid_t group, const char *dset, const char *attr, hid_t type, uint64_t value);
/* A resizable (unlimited) chunked float64 column that declares `declared`
 * rows of which only the first `written` were ever written (zeros). */
int fx_declared_column(hid_t group, const char *name, size_t declared, size_t written,
                       size_t chunk);
/* A scalar (0-D) float64 dataset. */
int fx_scalar(hid_t group, const char *name, double value);

#endif
