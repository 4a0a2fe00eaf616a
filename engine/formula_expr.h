/*
 * formula_expr.h — private helpers of the formula parser: expression trees
 * (free, deparse into R's label) and a small growing string.
 */
#ifndef CX_FORMULA_EXPR_H
#define CX_FORMULA_EXPR_H

#include <stddef.h>

#include "formula.h"

typedef struct cx_strbuf {
    char *s;
    size_t len, cap;
    int failed; /* an allocation failed: the text is incomplete */
} cx_strbuf;

void cx_strbuf_put(cx_strbuf *b, const char *s);
void cx_fexpr_free(cx_fexpr *e);
/* R's deparse of e (names[] are the formula's names). */
void cx_fexpr_deparse(const cx_fexpr *e, char *const *names, cx_strbuf *b);
/* A name, backquoted when R would (`my item`). */
void cx_deparse_name(cx_strbuf *b, const char *name);
/* A number as R deparses it (2, 0.5, 1e+05). */
void cx_format_number(double x, char *out, size_t size);

#endif
