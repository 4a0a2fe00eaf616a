/*
 * syntax.h — the lavaan model syntax parser (internal to models/sem).
 *
 * sem_syntax_parse() turns model syntax into a "flat" list: the elements the
 * user wrote (lhs op rhs with their modifiers, in the order written, with
 * repeated elements merged as lavaan does) and the constraint / defined
 * parameter formulas (:=, ==, <, >).  partable.c then adds lavaan's
 * defaults.  Nothing here knows about groups or data; a modifier vector
 * such as c(a, b) is kept as written and checked against the number of
 * groups later.
 */
#ifndef CX_SEM_SYNTAX_H
#define CX_SEM_SYNTAX_H

#include <stddef.h>

#include "partable.h"

/* Modifiers of one element.  Each part is absent (n = 0), a single value
 * (recycled over groups) or one value per group, e.g. c(a, b)*x. */
typedef struct sem_modifier {
    size_t n_fixed;
    double *fixed; /* fixed value; NaN means NA: explicitly free */
    size_t n_start;
    double *start; /* start(...) values */
    size_t n_label;
    char (*label)[SEM_NAME_MAX]; /* "" means no label for that group */
} sem_modifier;

typedef struct sem_flat_elem {
    char lhs[SEM_NAME_MAX];
    char rhs[SEM_NAME_MAX]; /* "" for intercepts */
    sem_op op;              /* LOADING, REGRESSION, COVARIANCE, INTERCEPT, THRESHOLD */
    int line, column;       /* where the rhs was written (1-based) */
    sem_modifier mod;
} sem_flat_elem;

/* A := definition or a ==, <, > constraint. */
typedef struct sem_flat_con {
    sem_op op;
    char lhs[SEM_NAME_MAX]; /* name (:=) or expression text, blanks removed */
    char rhs[SEM_NAME_MAX]; /* expression text, blanks removed, as lavaan */
    sem_expr *expr;         /* := the rhs; ==, <, >: lhs - rhs (compared to 0) */
    int line, column;
} sem_flat_con;

typedef struct sem_flat {
    sem_flat_elem *elems;
    size_t n_elems, cap_elems;
    sem_flat_con *cons;
    size_t n_cons, cap_cons;
} sem_flat;

/* Parse `text` into `flat` (which must be zeroed).  On error returns
 * CX_EUSAGE with "line L, column C: ..." in err; `flat` is then left
 * for sem_flat_clear() to release. */
int sem_syntax_parse(const char *text, sem_flat *flat, cx_error *err);
void sem_flat_clear(sem_flat *flat);

/* Parse one arithmetic expression such as "c + a*b" (tests, tools). */
sem_expr *sem_expr_parse(const char *text, cx_error *err);

#endif
