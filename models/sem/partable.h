/*
 * partable.h — a structural equation model as a parameter table.
 *
 * This is lavaan's "partable" convention: one row per model parameter
 * (loading, regression, (co)variance, intercept, threshold, defined
 * parameter), per group.  The syntax parser (syntax.c) and the default
 * rules of cfa()/sem()/growth() (partable.c) produce it; the estimator
 * (estimate.c) reads it, maps rows to model matrices and writes est/se
 * back into it; the model glue (sem_model.c) turns it into the results'
 * `estimates` table.  Row order is lavaan's parameterEstimates() order so
 * results line up with lavaan's row for row.
 */
#ifndef CX_SEM_PARTABLE_H
#define CX_SEM_PARTABLE_H

#include <stddef.h>

#include "../../engine/cx_error.h"

#define SEM_NAME_MAX 64

typedef enum sem_op {
    SEM_OP_LOADING = 0, /* lhs =~ rhs   (lhs latent, rhs indicator)   */
    SEM_OP_REGRESSION,  /* lhs ~ rhs                                   */
    SEM_OP_COVARIANCE,  /* lhs ~~ rhs (variance when lhs == rhs)       */
    SEM_OP_INTERCEPT,   /* lhs ~1 (rhs empty)                          */
    SEM_OP_THRESHOLD,   /* lhs | t1                                    */
    SEM_OP_DEFINED,     /* lhs := expression                           */
    SEM_OP_EQUAL,       /* lhs == rhs  (explicit equality constraint)  */
    SEM_OP_LESS,        /* lhs < rhs                                   */
    SEM_OP_GREATER      /* lhs > rhs                                   */
} sem_op;

/* "=~", "~", "~~", "~1", "|", ":=", "==", "<", ">" */
const char *sem_op_string(sem_op op);

typedef struct sem_expr sem_expr; /* arithmetic of labels, for := and == */

/* Evaluate a defined-parameter expression given the value of every
 * labelled parameter: `lookup(label, ctx)` returns the value (NaN if
 * unknown).  Implemented by the syntax module. */
double sem_expr_eval(const sem_expr *e, double (*lookup)(const char *label, void *ctx), void *ctx);
void sem_expr_free(sem_expr *e);

typedef struct sem_param {
    char lhs[SEM_NAME_MAX];
    char rhs[SEM_NAME_MAX]; /* "" for intercepts; "t1".. for thresholds  */
    sem_op op;
    int group;                 /* 0-based group index (results write group+1
                                  when multi-group, 0 when single-group)  */
    int user;                  /* 1: written by the user; 0: added default */
    int free;                  /* 0: fixed; k >= 1: free parameter k (rows
                                  sharing k are constrained equal)          */
    double fixed_value;        /* value when fixed (NaN when free)           */
    char label[SEM_NAME_MAX];  /* user label or "" */
    char plabel[SEM_NAME_MAX]; /* lavaan's ".p1." style internal label  */
    int exo;                   /* 1: exogenous covariate moment fixed to its
                                  sample value (fixed.x)                    */
    double start;              /* starting value                           */
    double est, se;            /* filled by the estimator                  */
    double std_lv, std_all;    /* standardized solutions (NaN if undefined)*/
    sem_expr *expr;            /* := and == rows only                      */
} sem_param;

typedef enum sem_kind { SEM_KIND_CFA = 0, SEM_KIND_SEM, SEM_KIND_GROWTH } sem_kind;

/* Options that change lavaan's defaults. */
typedef struct sem_options {
    sem_kind kind;
    int std_lv;           /* latent variances fixed to 1, all loadings free */
    int meanstructure;    /* -1: lavaan's default (on with groups/growth)   */
    size_t n_groups;      /* >= 1                                           */
    unsigned group_equal; /* bit set of SEM_EQ_* below                      */
    int fixed_x;          /* lavaan's fixed.x (default 1 for sem)           */
    char **ordered;       /* NULL-terminated names of ordinal items or NULL */
} sem_options;

enum {
    SEM_EQ_LOADINGS = 1u << 0,
    SEM_EQ_INTERCEPTS = 1u << 1,
    SEM_EQ_RESIDUALS = 1u << 2,
    SEM_EQ_RESIDUAL_COVARIANCES = 1u << 3,
    SEM_EQ_LV_VARIANCES = 1u << 4,
    SEM_EQ_LV_COVARIANCES = 1u << 5,
    SEM_EQ_MEANS = 1u << 6,
    SEM_EQ_REGRESSIONS = 1u << 7,
    SEM_EQ_THRESHOLDS = 1u << 8
};

typedef struct sem_partable {
    sem_param *rows;
    size_t n_rows, capacity;
    size_t n_free; /* number of distinct free parameters          */
    size_t n_groups;
    int meanstructure;
    /* observed and latent variable names in lavaan's order
       (lavNames(fit, "ov") / "lv") — same for every group */
    char **ov_names;
    size_t n_ov;
    char **lv_names;
    size_t n_lv;
} sem_partable;

/* Parse lavaan model syntax and apply the defaults of `opt`.  Errors say
 * where: "line 2, column 14: expected a variable name after '=~', found '+'". */
sem_partable *sem_partable_build(const char *syntax, const sem_options *opt, cx_error *err);
void sem_partable_free(sem_partable *pt);

#endif
