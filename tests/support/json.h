/*
 * json.h — a small JSON reader for tests.
 *
 * Tests compare cxfit's results with reference values stored as JSON
 * (tests/reference/<case>.json, written by scripts/make_refs.R).  This reader
 * parses a whole file or string into a tree that is easy to walk:
 * objects keep their keys in file order, numbers are doubles (strtod),
 * strings are UTF-8 with all escapes decoded (\uXXXX incl. surrogate
 * pairs).  It is for trusted, small files: readability over speed.
 *
 * Accessors are NULL-tolerant so chains like
 *   json_number(json_get(json_array_at(rows, i), "se"))
 * never crash: a missing link yields NULL, and json_number of NULL or of
 * a JSON null is NAN (R's NA is written as null).  json_number therefore
 * cannot tell "absent" from "NA": reference comparisons go through
 * refcheck.h (ref_report_check_field / ref_json_number), which can.
 */
#ifndef CX_TEST_JSON_H
#define CX_TEST_JSON_H

#include <stddef.h>

#include "cx_error.h"

typedef enum json_type {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    int boolean;        /* JSON_BOOL                                  */
    double number;      /* JSON_NUMBER                                */
    char *string;       /* JSON_STRING (NUL-terminated UTF-8)         */
    size_t len;         /* JSON_STRING bytes; ARRAY/OBJECT: elements  */
    json_value **items; /* ARRAY/OBJECT: the elements / member values */
    char **keys;        /* OBJECT: member names, parallel to items    */
};

/* Parse `text` (NUL-terminated).  On a syntax error returns NULL and sets
 * err (CX_EUSAGE) to "line L, column C: what was expected". */
json_value *json_parse_string(const char *text, cx_error *err);
/* Read and parse a file; errors are prefixed with the path (CX_EIO when
 * the file cannot be read). */
json_value *json_parse_file(const char *path, cx_error *err);
void json_free(json_value *v);

json_type json_type_of(const json_value *v); /* JSON_NULL for NULL       */
/* Object member `key` (first match), or NULL (also when v is no object). */
const json_value *json_get(const json_value *obj, const char *key);
size_t json_object_len(const json_value *obj);
const char *json_object_key(const json_value *obj, size_t i);
const json_value *json_object_value(const json_value *obj, size_t i);
size_t json_array_len(const json_value *arr); /* 0 when not an array     */
const json_value *json_array_at(const json_value *arr, size_t i);
/* Number value; NAN for null, missing or non-numbers. */
double json_number(const json_value *v);
/* String value, or NULL when v is not a string. */
const char *json_string(const json_value *v);
/* 1/0 for true/false, -1 otherwise. */
int json_bool(const json_value *v);

#endif
