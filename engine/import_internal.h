/*
 * import_internal.h — what the importers (import_csv.c, import_readstat.c)
 * share, implemented in import.c: a string -> code map for categorical
 * labels, the integer storage type rule, the column-name lists of
 * --categorical/--numeric, and writing a table so that nothing partial is
 * ever left behind.  Not part of the library's public interface.
 */
#ifndef CX_IMPORT_INTERNAL_H
#define CX_IMPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cx_error.h"
#include "import.h"
#include "table_write.h"

/* Rows per block when converting: ncols x rows doubles stay within this
 * many bytes (at least 256 rows, at most 65536). */
#define CX_IMPORT_BLOCK_BYTES ((size_t)16 << 20)
size_t cx_import_block_rows(size_t ncols);

/* ---- distinct labels of a categorical column ---- */

typedef struct cx_label_map {
    char **keys; /* slots; NULL = empty */
    size_t *codes;
    size_t nslots, count;
} cx_label_map;

int cx_label_map_add(cx_label_map *m, const char *key, cx_error *err);
/* Code of `key`, or -1 when it is not a label. */
long cx_label_map_code(const cx_label_map *m, const char *key);
/* The labels sorted by byte value (pointers into the map, caller frees the
 * array only); codes 0..count-1 are assigned in that order. */
char **cx_label_map_sort(cx_label_map *m, cx_error *err);
void cx_label_map_free(cx_label_map *m);

/* ---- storage type of whole-number columns ---- */

/* Smallest integer type holding [min, max] plus, when `need_missing`, one
 * spare value for missing (the type's maximum if unsigned, minimum if
 * signed), into s->kind/bytes/is_unsigned/has_missing_value/missing_value.
 * Returns 0 when no integer type does. */
int cx_import_int_type(int64_t min, int64_t max, int need_missing, cx_column_spec *s);

/* ---- --categorical / --numeric column lists ---- */

typedef struct cx_name_list {
    char **names;
    unsigned char *used; /* set by cx_name_list_has: unknown names are errors */
    size_t n;
} cx_name_list;

/* Split "a,b,c" (NULL: empty list).  `option` names the option in errors. */
int cx_name_list_parse(cx_name_list *l, const char *text, const char *option, cx_error *err);
int cx_name_list_has(cx_name_list *l, const char *name);
/* CX_EUSAGE naming the first listed name no column had. */
int cx_name_list_check_used(const cx_name_list *l, const char *option, const char *file,
                            cx_error *err);
void cx_name_list_free(cx_name_list *l);

/* ---- writing without partial output ---- */

/* Fills the table: adds the columns and writes every row. */
typedef int (*cx_import_fill_fn)(void *ctx, cx_table_writer *w, cx_error *err);

/* Create table `table` of `nrows` rows in `out_h5` and call fill.  A new
 * file is written as OUT.h5.tmp and renamed when complete; into an
 * existing file the group is added, and removed again on failure. */
int cx_import_write(const char *out_h5, const char *table, size_t nrows, cx_import_fill_fn fill,
                    void *ctx, cx_error *err);

/* The two importers (summary may be NULL). */
int cx_import_csv_file(const char *in, const char *out_h5, const cx_import_options *opt,
                       cx_import_summary *summary, cx_error *err);
int cx_import_readstat_file(const char *in, const char *out_h5, cx_import_format format,
                            const cx_import_options *opt, cx_import_summary *summary,
                            cx_error *err);

#endif
