/*
 * table.h — column tables: the one data shape cxfit reads and writes.
 *
 * A table is a set of equally long 1-D columns (shared/DESIGN.md §3).  On
 * disk it is an HDF5 group with one dataset per column; in memory it is the
 * same thing held in arrays (used for tables produced by earlier jobs, e.g.
 * `table = @nps_by_firm/nps`, and by tests).
 *
 * Reading is always by row block and by column subset: callers name the
 * columns they need and get them converted to double, column-major, with
 * missing values (NaN in floats, the `missing_value` attribute in integer
 * columns) turned into NaN.  Categorical columns deliver their integer
 * codes 0..k-1 as doubles; their labels are in the column info.
 */
#ifndef CX_TABLE_H
#define CX_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cx_error.h"

#define CX_NAME_MAX 128

/* How a column is stored.  Drives conversion and what models may do with it. */
typedef enum cx_column_kind {
    CX_COL_FLOAT = 0,   /* float32/float64; NaN is missing                    */
    CX_COL_INT = 1,     /* any integer type; `missing_value` attr is missing   */
    CX_COL_CATEGORICAL, /* integer codes 0..k-1 with `categories` labels       */
    CX_COL_STRING,      /* variable-length strings: not readable as numbers    */
    CX_COL_UNUSABLE     /* a dataset that cannot be a column (2-D, 0-D, enum,
                           compound, broken attributes, rows never written):
                           kept so the rest of the table works; `unusable`
                           says why, and any use of it is an error         */
} cx_column_kind;

typedef struct cx_column_info {
    char name[CX_NAME_MAX];
    cx_column_kind kind;
    int is_unsigned;       /* integer columns: stored unsigned               */
    int bytes;             /* size of one stored element (1,2,4,8)           */
    int has_missing_value; /* integer columns: a missing_value attribute set  */
    double missing_value;
    /* Integer columns compare raw values with the missing value in their
     * own type (a double cannot tell 2^53 from 2^53 + 1): the attribute,
     * checked to be a value of the column's type, as int64 / uint64. */
    int64_t missing_int;
    uint64_t missing_uint;
    size_t n_categories; /* categorical columns only                        */
    char **categories;   /* n_categories labels, owned by the table         */
    char unusable[160];  /* CX_COL_UNUSABLE: why, e.g. "it has 2 dimensions" */
    /* 8-byte integer columns whose first value is beyond 2^32 (ids, big
     * counters): a whole number near that value, exact in int64/uint64 and
     * in a double; 0 for every other column.  Relative reads deliver
     * x - origin computed in integer arithmetic, which keeps the spread of
     * values near 2^62 that doubles of x would round away (to 1024). */
    double origin;
    int64_t origin_int;
    uint64_t origin_uint;
    char *label; /* `label` attribute (question text), or NULL      */
} cx_column_info;

typedef struct cx_table cx_table;

/* Open the HDF5 group `group_path` (e.g. "/responses") in `file` read-only.
 * Fails with CX_EIO (missing file/group) or CX_EUSAGE (1-D columns of
 * unequal length, no dataset at all) and a message naming file, table and
 * column.  A dataset that cannot be a column (see CX_COL_UNUSABLE) does not
 * fail the open: only reading it does, so one odd dataset in a shared
 * table does not block the jobs that never read it. */
cx_table *cx_table_open(const char *file, const char *group_path, cx_error *err);

/* An empty in-memory table with `nrows` rows; add columns, then read it like
 * any other table.  The table copies the data it is given. */
cx_table *cx_table_memory_alloc(const char *label, size_t nrows, cx_error *err);
int cx_table_memory_add_column(cx_table *t, const char *name, cx_column_kind kind,
                               const double *values, char *const *categories, size_t n_categories,
                               cx_error *err);

void cx_table_close(cx_table *t);

/* A label for messages: "file.h5:/responses" or "@job/nps". */
const char *cx_table_label(const cx_table *t);
size_t cx_table_nrows(const cx_table *t);
size_t cx_table_ncols(const cx_table *t);
const cx_column_info *cx_table_column(const cx_table *t, size_t index);
/* Index of column `name`, or -1 when the table has no such column. */
int cx_table_find(const cx_table *t, const char *name);
/* CX_OK when column `col` can be read as numbers; else CX_EUSAGE with a
 * message naming the table, the column and what is wrong with it (a
 * string column, or an unusable dataset and why). */
int cx_table_check_numeric(const cx_table *t, size_t col, cx_error *err);

/* Read rows [row0, row0 + nrows) of the columns `cols[0..ncols-1]` into
 * `out`, column-major with leading dimension `ld` >= nrows:
 * out[j * ld + i] is row row0 + i of column cols[j].  Missing values
 * become NaN.  Safe to call from several threads (HDF5 calls are
 * serialized inside). */
int cx_table_read_block(cx_table *t, const int *cols, size_t ncols, size_t row0, size_t nrows,
                        double *out, size_t ld, cx_error *err);

/* As cx_table_read_block, but the first `n_relative` columns are
 * delivered as x - origin (see cx_column_info.origin; a no-op for columns
 * whose origin is 0).  For statistics that add the origin back where
 * location matters (means, medians) and need no more (spreads). */
int cx_table_read_block_relative(cx_table *t, const int *cols, size_t ncols, size_t n_relative,
                                 size_t row0, size_t nrows, double *out, size_t ld, cx_error *err);

/* HDF5 tables decode chunked, deflated columns themselves, outside the
 * HDF5 lock (so threads inflate in parallel).  For tests and benchmarks:
 * enabled = 0 reads every column with H5Dread instead; the count is of
 * column reads the own decoder served.  Not to be changed while other
 * threads read the table. */
void cx_table_set_chunk_path(cx_table *t, int enabled);

/* Small integers: 1-byte integer and categorical columns of an HDF5
 * table can be delivered as int16, missing values as CX_SMALL_MISSING —
 * an eighth of the doubles' memory and no widening, for reducers that add
 * Likert items as integers (reducer.h, takes_small).
 * cx_table_columns_small: 1 when every one of cols qualifies (and the
 * table's small path is on: cx_table_set_small_path, default on).
 * cx_table_read_block_small: rows [row0, row0 + nrows) of cols into out
 * (column-major, leading dimension ld), as cx_table_read_block reads:
 * the same values, and the same error for a code that is no category. */
#define CX_SMALL_MISSING INT16_MIN
int cx_table_columns_small(const cx_table *t, const int *cols, size_t ncols);
int cx_table_read_block_small(cx_table *t, const int *cols, size_t ncols, size_t row0, size_t nrows,
                              int16_t *out, size_t ld, cx_error *err);
void cx_table_set_small_path(cx_table *t, int enabled);
size_t cx_table_direct_chunk_reads(const cx_table *t);
/* The stage's cache of decoded blocks (table_blocks.h): keep up to
 * `budget` bytes of whole blocks as decoded from HDF5, so the jobs (and
 * passes) of a stage that read the same blocks decode them once; a new
 * call empties it (0: no cache).  Memory tables: no-op. */
void cx_table_cache_blocks(cx_table *t, size_t budget);
/* Column blocks decoded and reused since the cache was set; 0 = no cache. */
int cx_table_block_stats(const cx_table *t, size_t *decoded, size_t *reused);

/* Rows per block that the block iterators use (default 65536). */
#define CX_BLOCK_ROWS 65536

#endif
