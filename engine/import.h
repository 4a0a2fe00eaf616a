/*
 * import.h — `cxfit import`: a survey file into an HDF5 column table.
 *
 * Two families of input, chosen by the file name's extension:
 *
 *   .sav .zsav .por (SPSS), .dta (Stata), .sas7bdat .xpt (SAS): read
 *     through ReadStat (import_readstat.c).  Value labels, variable labels
 *     and user-missing codes are kept; the rules are in docs/DECISIONS.md
 *     ("Import") and in import_readstat.c.
 *   anything else: CSV (import_csv.c).  The delimiter (`,` `;` or tab) is
 *     detected from the header row unless given; a first row that looks
 *     like data is refused unless `no_header` says there is none.
 *
 * Column types follow one rule for both: whole numbers become the smallest
 * integer type that holds them (uint8 for Likert items), with a
 * `missing_value` attribute when some cells are missing; other numbers
 * float64 (NaN missing); text categorical.  The input is streamed (one
 * pass to learn the types and labels, one to write), so its size is not
 * limited by memory.
 *
 * Nothing partial is left behind: a new OUT.h5 is written as OUT.h5.tmp
 * and renamed when complete; into an existing file the table group is
 * added, and deleted again if the import fails.
 */
#ifndef CX_IMPORT_H
#define CX_IMPORT_H

#include <stddef.h>

#include "cx_error.h"

#define CX_IMPORT_DEFAULT_TABLE "/data"

typedef enum cx_import_format {
    CX_IMPORT_CSV = 0,
    CX_IMPORT_SAV, /* .sav and .zsav */
    CX_IMPORT_POR,
    CX_IMPORT_DTA,
    CX_IMPORT_SAS7BDAT,
    CX_IMPORT_XPORT
} cx_import_format;

typedef struct cx_import_options {
    const char *table;       /* table group; NULL means CX_IMPORT_DEFAULT_TABLE      */
    char delimiter;          /* CSV: ',' ';' or '\t'; 0 detects it from the header  */
    int no_header;           /* CSV: no header row; columns are named V1..Vn        */
    const char *categorical; /* "a,b": columns forced categorical (NULL: none)      */
    const char *numeric;     /* "a,b": columns forced numeric (NULL: none)          */
} cx_import_options;

/* What was written, for the one line `cxfit import` prints. */
typedef struct cx_import_summary {
    cx_import_format format;
    size_t nrows, ncols;
    char delimiter; /* CSV only */
} cx_import_summary;

/* The format `path`'s extension selects (case-insensitive). */
cx_import_format cx_import_format_of(const char *path);
const char *cx_import_format_name(cx_import_format format);

/* Import `in` as a table of `out_h5` (summary may be NULL).  Errors:
 * CX_EUSAGE for input the options cannot turn into a table (a malformed
 * CSV, a value label set that does not fit the values; one line naming
 * file, line or row, and column), a bad option or an existing table group;
 * CX_EIO for unreadable, truncated or unwritable files. */
int cx_import(const char *in, const char *out_h5, const cx_import_options *opt,
              cx_import_summary *summary, cx_error *err);

/* A CSV with the default options (kept for callers of the first version). */
int cx_import_csv(const char *in_csv, const char *out_h5, const char *table_path, cx_error *err);

#endif
