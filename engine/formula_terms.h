/*
 * formula_terms.h — private to the formula parser: sets of terms and the
 * R formula algebra on them (a + b, a:b, a*b, a/b, (a + b)^k, - a), plus a
 * string-keyed hash used for variable and name de-duplication.  Kept apart
 * from formula.c so the parser reads as the grammar.
 */
#ifndef CX_FORMULA_TERMS_H
#define CX_FORMULA_TERMS_H

#include <stddef.h>

#include "formula.h"

/* Open-addressing map from strings (owned by the caller) to indices. */
typedef struct cx_strmap {
    size_t n, cap;
    const char **keys;
    size_t *values;
} cx_strmap;

void cx_strmap_free(cx_strmap *m);
/* Index stored for key, or (size_t)-1. */
size_t cx_strmap_get(const cx_strmap *m, const char *key);
int cx_strmap_put(cx_strmap *m, const char *key, size_t value, cx_error *err);

typedef enum cx_icpt { CX_ICPT_UNSET = -1, CX_ICPT_OFF = 0, CX_ICPT_ON = 1 } cx_icpt;

/* A set of terms in insertion order; removed terms stay as dead entries so
 * `- a + a` revives `a` in its first place, as R does. */
typedef struct cx_tset {
    size_t n, cap;
    cx_fterm *terms;
    unsigned char *alive;
    size_t *slots; /* hash slots: entry index + 1, 0 = empty */
    size_t n_slots;
    size_t n_alive;
    cx_icpt icpt;
    /* random-effect bars met while parsing this operand (only a top-level
     * sum may take them) */
    size_t n_bars;
    cx_frandom *bars;
} cx_tset;

void cx_tset_free(cx_tset *s);
/* Add a copy of the term (vars must be ascending); reviving a dead one. */
int cx_tset_add(cx_tset *s, const size_t *vars, size_t n_vars, size_t pos, cx_error *err);
void cx_tset_remove(cx_tset *s, const size_t *vars, size_t n_vars);
/* a + b into a (b unchanged); a - b into a. */
int cx_tset_merge(cx_tset *a, const cx_tset *b, cx_error *err);
void cx_tset_subtract(cx_tset *a, const cx_tset *b);
/* out = a:b, a*b, a/b (out must be empty). */
int cx_tset_interact(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err);
int cx_tset_cross(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err);
int cx_tset_nest(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err);
/* The live, non-empty terms in R's order (by order, then insertion); the
 * copies are the caller's. */
int cx_tset_export(const cx_tset *s, cx_fterm **terms, size_t *n, cx_error *err);
void cx_fterms_free(cx_fterm *terms, size_t n);
void cx_frandom_clear(cx_frandom *r);

#endif
