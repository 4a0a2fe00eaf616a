/*
 * table_write.h — writing column tables (shared/DESIGN.md §3) to HDF5.
 *
 * The writing side of engine/table.h, used by `cxfit import` and `cxfit
 * simulate`: one HDF5 group per table, one chunked, lightly compressed 1-D
 * dataset per column, all of the same length fixed when the writer is
 * made.  Columns are filled by row blocks, so a table never needs to be in
 * memory whole.  What is written reads back with cx_table_open():
 *
 *   float     float64, NaN is missing;
 *   integer   any width and signedness, optional scalar `missing_value`
 *             attribute of the same type as the data;
 *   categorical  integer codes 0..k-1 (int8/16/32, chosen from k), missing
 *             stored as -1 with `missing_value` = -1, and a variable-length
 *             string-array attribute `categories` with the k labels
 *             (tagged ASCII when all labels are, else UTF-8).
 *
 * Groups track link creation order, so columns read back in the order they
 * were added.
 */
#ifndef CX_TABLE_WRITE_H
#define CX_TABLE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "cx_error.h"
#include "table.h"

typedef struct cx_table_writer cx_table_writer;

/* How one column is stored.  `kind` is CX_COL_FLOAT, CX_COL_INT or
 * CX_COL_CATEGORICAL; the other fields apply to the kinds named. */
typedef struct cx_column_spec {
    const char *name;
    cx_column_kind kind;
    int bytes;               /* INT: 1, 2, 4 or 8                               */
    int is_unsigned;         /* INT                                             */
    int has_missing_value;   /* INT: write a `missing_value` attribute          */
    int64_t missing_value;   /* INT: the stored value that means missing        */
    char *const *categories; /* CATEGORICAL: labels of codes 0..k-1 (copied)  */
    size_t n_categories;     /* CATEGORICAL: k                                */
} cx_column_spec;

/* Open `file` (created when absent, else opened read-write) and create the
 * table group `group_path` ("/data", or nested like "/a/b": missing parents
 * are created) for `nrows` rows.  Fails with CX_EUSAGE when the group (or
 * any object of that name) already exists, CX_EIO when the file cannot be
 * created or is not HDF5; messages name the file and group. */
cx_table_writer *cx_table_writer_alloc(const char *file, const char *group_path, size_t nrows,
                                       cx_error *err);

/* Add a column; its index (0, 1, ... in order of adding) goes to *index
 * when index is not NULL.  Every row starts out missing (NaN, the
 * missing_value, or 0 for an integer column without one). */
int cx_table_writer_add(cx_table_writer *w, const cx_column_spec *spec, size_t *index,
                        cx_error *err);

/* Write rows [row0, row0 + n) of column `col` from doubles: NaN becomes the
 * column's missing value (an error for an integer column without one);
 * categorical codes are 0..k-1, with NaN or -1 for missing.  Integer values
 * must be whole and fit the stored type. */
int cx_table_writer_write(cx_table_writer *w, size_t col, size_t row0, size_t n,
                          const double *values, cx_error *err);

/* The same from int64 values (exact for 64-bit integers): rows whose
 * `missing` flag is set (missing may be NULL) get the missing value. */
int cx_table_writer_write_i64(cx_table_writer *w, size_t col, size_t row0, size_t n,
                              const int64_t *values, const unsigned char *missing, cx_error *err);

/* Scalar string attribute `attr` (UTF-8) of column `col`, e.g. `label`
 * (a variable's question text) or `units`. */
int cx_table_writer_set_text(cx_table_writer *w, size_t col, const char *attr, const char *text,
                             cx_error *err);

/* Value labels of a numeric column: attributes `value_labels` (n
 * strings) and `value_label_values` (n float64), pairwise. */
int cx_table_writer_set_value_labels(cx_table_writer *w, size_t col, const double *values,
                                     char *const *labels, size_t n, cx_error *err);

/* Finish: close the group and the file.  Returns CX_OK when everything the
 * writer wrote is on disk.  The writer is freed either way. */
int cx_table_writer_close(cx_table_writer *w, cx_error *err);

/* Give up: delete the group (and any parent groups this writer created)
 * from the file, close it and free the writer.  The file itself stays. */
void cx_table_writer_abort(cx_table_writer *w);

/* Compression of the columns added from now on: 0 writes them unfiltered,
 * 1..9 with shuffle + deflate at that level.  The default is
 * CX_WRITER_DEFLATE_DEFAULT (docs/DECISIONS.md, "Storage layout"). */
#define CX_WRITER_DEFLATE_DEFAULT 1
void cx_table_writer_set_deflate(cx_table_writer *w, int level);

size_t cx_table_writer_nrows(const cx_table_writer *w);

/* Whether `file` holds an object at `path` (0 also when the file cannot
 * be opened). */
int cx_h5_path_exists(const char *file, const char *path);

#endif
