/*
 * sem_data.h — the sample statistics of a cfa/sem/growth job, for every
 * `by` level, group, bootstrap replicate and validation split, from one
 * streaming pass over the job's rows (internal to models/sem).
 *
 * The pass view is the job's view regrouped by (by columns..., group
 * column): its levels ("cells") are sorted tuples, so the cells of one
 * `by` level are contiguous.  One pass of reducers (engine/reducer.h)
 * gives each cell's moments, first row (lavaan numbers groups by first
 * appearance), Poisson-weighted moments per bootstrap replicate and
 * moments per fold or holdout side; MLR adds a second pass for the fourth
 * moments about each cell's mean.  Fits then read finished statistics
 * only, so the levels, replicates and folds can be fitted in any order
 * on any thread.
 */
#ifndef CX_SEM_DATA_H
#define CX_SEM_DATA_H

#include "../../engine/model.h"
#include "../../engine/reducer.h"
#include "estimate.h"
#include "fiml.h"

/* One `by` level (the whole job without `by`). */
typedef struct sem_level {
    size_t n_groups;
    size_t *cell;         /* group g (lavaan's order) is cell cell[g]       */
    double *label;        /* the group column's value of group g            */
    cx_moments **moments; /* n_groups                                       */
    double *cov;          /* n_groups x p x p, divisor N                    */
    double *fourth;       /* mlr: n_groups x pstar x pstar, else NULL       */
    double *fourth_first; /* mlr with weights: n_groups x pstar, else NULL  */
    sem_sample *samples;  /* n_groups                                       */
    sem_patterns **patterns; /* missing = fiml: n_groups, else NULL          */
} sem_level;

/* What the job's `weights` column means (`weights_are`). */
typedef enum sem_weights {
    SEM_WEIGHTS_NONE = 0,
    SEM_WEIGHTS_SAMPLING,  /* lavaan's sampling.weights: normalized to sum to
                              N over the groups of a fit; N_g = their sum   */
    SEM_WEIGHTS_FREQUENCY, /* row i stands for w_i rows: N_g = sum w        */
} sem_weights;

typedef struct sem_data_request {
    size_t p;
    const int *cols;     /* the p observed variables' table columns        */
    int mlr;             /* also the fourth moments                       */
    sem_weights weights; /* NONE when the job has no `weights`            */
    int fiml;            /* missing = fiml: the missing patterns (fiml.h) */
    const unsigned char *required; /* fiml: p flags, rows missing one are
                                      dropped (fixed.x covariates); NULL */
} sem_data_request;

typedef struct sem_data {
    size_t p, n_levels;  /* `by` levels (1 without `by`)                   */
    sem_weights weights;
    cx_view pass;        /* the job's rows grouped by (by..., group)       */
    int have_pass;
    const cx_view *view; /* &pass, or the job's view without `group`       */
    int group_col;
    size_t n_cells;
    size_t *level_of_cell;
    sem_level *levels;
    cx_moments_params main_par, boot_par, valid_par;
    cx_first_row_params first_par;
    cx_reducer main, first, boot, valid; /* acc NULL when not computed   */
    sem_fiml_params fiml_par, fiml_boot_par, fiml_valid_par;
    cx_reducer fiml;      /* missing = fiml: the patterns                  */
    cx_reducer fiml_boot; /* missing = fiml with bootstrap: every replicate's */
    cx_reducer fiml_valid; /* missing = fiml with validate: every split's    */
    long n_replicates;
    size_t n_splits; /* kfold: K; holdout: 1; none: 0                      */
} sem_data;

/* The cells of every level (group_col -1 without `group`): after this,
 * levels[l].n_groups is known; no rows of the variables are read. */
int sem_data_prepare(const cx_job *job, int group_col, sem_data *d, cx_error *err);
/* Run the pass(es) for `job` and build every level's samples. */
int sem_data_load(const cx_job *job, const sem_data_request *rq, sem_data *d, cx_error *err);
void sem_data_clear(sem_data *d);

/* Samples of level l's groups for bootstrap replicate r, or for split k's
 * training (test = 0) or held-out (test = 1) rows.  `owned` (n_groups
 * moments, freed with sem_owned_free) and `cov` (n_groups x p x p) back
 * the samples. */
int sem_data_replicate(const sem_data *d, size_t l, size_t r, sem_sample *samples,
                       cx_moments **owned, double *cov, cx_error *err);
int sem_data_split(const sem_data *d, size_t l, size_t k, int test, sem_sample *samples,
                   cx_moments **owned, double *cov, cx_error *err);
/* missing = fiml: replicate r of level l's groups from the replicates'
 * missing patterns (owned: n_groups, freed with sem_patterns_free). */
int sem_data_replicate_fiml(const sem_data *d, size_t l, size_t r, sem_sample *samples,
                            sem_patterns **owned, cx_error *err);
/* missing = fiml: split k's training (test = 0) or held-out (test = 1)
 * patterns of level l's groups (owned as above). */
int sem_data_split_fiml(const sem_data *d, size_t l, size_t k, int test, sem_sample *samples,
                        sem_patterns **owned, cx_error *err);
void sem_owned_free(cx_moments **owned, size_t n);

/* The `groups` table: group g's label is the group column's category or
 * value `values[g]`, its N is nobs[g]. */
int sem_data_write_groups(cx_result *res, const sem_data *d, size_t n_groups,
                          const double *values, const double *nobs, cx_error *err);

#endif
