/*
 * ols_setup.h — a closed-form regression job's keys turned into a design
 * and the column list of its passes (ols_setup.c).
 */
#ifndef CX_OLS_SETUP_H
#define CX_OLS_SETUP_H

#include "ols_internal.h"

typedef struct ols_setup {
    cx_formula *f;
    cx_scores *sc;
    cx_design *d;
    ols_se se;
    size_t n_cluster; /* 0, 1 or 2 (two-way)               */
    char cluster[2][CX_NAME_MAX];
    long cluster_extra[2];   /* design extra column of each       */
    long boot_cluster_extra; /* bootstrap_cluster's, -1 = rows    */
    int *cols;               /* pass columns                      */
    size_t ncols, n_inputs, holdout_at;
    size_t p;           /* design columns (after prepare)    */
    const char **names; /* their names                       */
    int intercept;
} ols_setup;

/* Keys, names and columns, no rows read (`cxfit check` stops here);
 * with_se: the job takes `se`. */
int ols_setup_init(const cx_job *job, int with_se, ols_setup *s, cx_error *err);
/* The design's first pass (factor levels) and the pass columns. */
int ols_setup_prepare(const cx_job *job, ols_setup *s, cx_error *err);
void ols_setup_clear(ols_setup *s);
/* The outcome as R deparses it ("ltr", "log(spend)"). */
const char *ols_setup_outcome(const ols_setup *s);

#endif
