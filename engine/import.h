/*
 * import.h — `cxfit import`: a CSV file into an HDF5 column table.
 *
 * The first row names the columns.  Each column's type is inferred from
 * all its cells: whole numbers become the smallest integer type that holds
 * them (uint8 for Likert items), with a `missing_value` attribute when
 * some cells are missing (empty, NA, NaN or "."); any other number makes
 * the column float64 (NaN missing); any other text makes it categorical,
 * labels sorted like R's factor().  The CSV is streamed (one pass to infer
 * types, one to collect labels when there are categorical columns, one to
 * write), so its size is not limited by memory.
 *
 * Nothing partial is left behind: a new OUT.h5 is written as OUT.h5.tmp
 * and renamed when complete; into an existing file the table group is
 * added, and deleted again if the import fails.
 */
#ifndef CX_IMPORT_H
#define CX_IMPORT_H

#include "cx_error.h"

/* Import `in_csv` as table `table_path` (e.g. "/data") of `out_h5`.
 * Errors: CX_EUSAGE for a malformed CSV (one line naming file, line and
 * column) or an existing table group, CX_EIO for unreadable or unwritable
 * files. */
int cx_import_csv(const char *in_csv, const char *out_h5, const char *table_path, cx_error *err);

#endif
