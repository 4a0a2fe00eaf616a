/*
 * formula.h — the R-style model formula, parsed once and shared by every
 * regression-like family (ols, logit, ologit, mlogit, drivers, panel,
 * mixed).  docs/FORMULA.md describes the language for users.
 *
 *   ltr ~ pex + factor(segment) * wave + I(pex^2) + log(spend) - 1
 *   growth ~ lag(nps, 1) + diff(sat)          (panel: needs index = unit time)
 *   ltr ~ pex + (1 + wave | firm/respondent)   (mixed: random-effect bars)
 *
 * Parsing knows no table: it yields variables (a column, factor(column),
 * an arithmetic expression such as I(x^2) or log(x), or a panel transform
 * lag/lead/diff/growth), fixed terms (interactions of variables, in R's
 * order: by interaction order, then by first appearance) and random
 * terms.  design.h resolves all of this against a table.
 *
 * Errors are one line, name the offending text and its 1-based character
 * position and say what was expected; the caller prefixes file, line and
 * key (cx_job_error).  Nesting deeper than CX_FORMULA_MAX_DEPTH and more
 * than CX_FORMULA_MAX_TERMS terms are refused, so hostile input can
 * neither overflow the stack nor exhaust memory.
 */
#ifndef CX_FORMULA_H
#define CX_FORMULA_H

#include <stddef.h>

#include "cx_error.h"

#define CX_FORMULA_MAX_DEPTH 64
#define CX_FORMULA_MAX_TERMS 100000
#define CX_FORMULA_MAX_LAG 1000

/* Arithmetic inside I(), log(), exp(), sqrt(). */
typedef enum cx_fexpr_op {
    CX_FX_NUM,  /* a number                                   */
    CX_FX_NAME, /* a column or score: index into names[]      */
    CX_FX_NEG,  /* -a                                         */
    CX_FX_ADD,
    CX_FX_SUB,
    CX_FX_MUL,
    CX_FX_DIV,
    CX_FX_POW,
    CX_FX_PAREN, /* (a): kept so labels deparse as written     */
    CX_FX_LOG,
    CX_FX_EXP,
    CX_FX_SQRT,
    CX_FX_I /* I(a): the identity, kept for its label       */
} cx_fexpr_op;

typedef struct cx_fexpr {
    cx_fexpr_op op;
    double num;  /* CX_FX_NUM                                  */
    size_t name; /* CX_FX_NAME                                 */
    struct cx_fexpr *a, *b;
} cx_fexpr;

/* Value of `e` for one row; name_values[k] is the row's value of name k.
 * Non-finite results (log(0), 1/0) are returned as they come: the design
 * treats them as missing. */
double cx_fexpr_eval(const cx_fexpr *e, const double *name_values);

typedef enum cx_fvar_kind {
    CX_FVAR_COLUMN, /* a plain name (a factor if the column is categorical) */
    CX_FVAR_FACTOR, /* factor(name): treatment coding                       */
    CX_FVAR_EXPR,   /* I(...), log(...), exp(...), sqrt(...)                */
    CX_FVAR_PANEL   /* lag/lead/diff/growth(name, k): needs the panel index */
} cx_fvar_kind;

typedef enum cx_panel_op {
    CX_PANEL_LAG,   /* x_{t-k}                  */
    CX_PANEL_LEAD,  /* x_{t+k}                  */
    CX_PANEL_DIFF,  /* x_t - x_{t-k}            */
    CX_PANEL_GROWTH /* x_t / x_{t-k} - 1        */
} cx_panel_op;

/* A variable in R's sense: one thing a term multiplies. */
typedef struct cx_fvar {
    cx_fvar_kind kind;
    char *label;    /* as R deparses it: "log(x)", "factor(seg)", "lag(x, 2)" */
    size_t name;    /* COLUMN, FACTOR, PANEL: the column (index into names[]) */
    cx_fexpr *expr; /* EXPR only                                              */
    cx_panel_op panel_op;
    int panel_k; /* PANEL: the lag order k >= 0                            */
    size_t pos;  /* 1-based character position of its first character      */
} cx_fvar;

/* An interaction of variables; the empty term is the intercept. */
typedef struct cx_fterm {
    size_t n_vars;
    size_t *vars; /* ascending variable indices (R's order of appearance) */
    size_t pos;   /* where the term was first written                     */
} cx_fterm;

/* One lme4 bar `(lhs | g1:g2)`; `a/b` nesting gives several of these. */
typedef struct cx_frandom {
    int intercept;  /* the left side has an intercept (default: yes)    */
    int correlated; /* 0 for `||`                                       */
    size_t n_terms; /* the left side's terms, R's order, no intercept   */
    cx_fterm *terms;
    size_t n_group; /* the grouping factor is the interaction of these  */
    size_t *group;  /* names[] indices                                  */
    char *label;    /* "1 | firm:respondent", "x || g"                  */
    size_t pos;
} cx_frandom;

typedef struct cx_formula {
    char *text;
    size_t outcome; /* variable index of the left side                  */
    int intercept;  /* the fixed part has an intercept                  */
    size_t n_vars;
    cx_fvar *vars; /* variable 0 is the outcome                          */
    size_t n_terms;
    cx_fterm *terms; /* fixed terms, R's order; never the empty term     */
    size_t n_random;
    cx_frandom *random;
    size_t n_names;
    char **names;     /* every distinct column/score name the formula uses  */
    size_t *name_pos; /* where each name first appears                  */
    int needs_panel;  /* some variable is lag/lead/diff/growth            */
} cx_formula;

cx_formula *cx_formula_parse(const char *text, cx_error *err);
void cx_formula_free(cx_formula *f);

/* R's term label ("a", "factor(seg):x") into buf; returns buf. */
char *cx_formula_term_label(const cx_formula *f, const cx_fterm *t, char *buf, size_t size);

/* For fixed-effect-only families: CX_EUSAGE naming the first random term. */
int cx_formula_require_fixed(const cx_formula *f, cx_error *err);

/* Panel transforms over rows sorted by (unit, time): out[i] is the
 * transform of x at row i, or NaN when the row k periods away (by the time
 * value, not the row position — gaps give NaN, as plm's lag) is absent or
 * missing.  Times must be integers (waves, years); duplicates of a
 * (unit, time) pair are an error.  Returns CX_OK or CX_EUSAGE. */
int cx_panel_transform(cx_panel_op op, int k, const double *unit, const double *time,
                       const double *x, size_t n, double *out, cx_error *err);

#endif
