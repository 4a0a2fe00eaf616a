/*
 * ols_internal.h — what the closed-form regression families (ols, drivers)
 * share: the streamed cross-products of [X y] per `by` level and slot
 * (fold, holdout side, bootstrap replicate), the solve of one
 * cross-product matrix as R's lm does it (aliased columns dropped), and the
 * second pass of residual scores (robust and cluster meat, hat values,
 * out-of-sample residuals).
 *
 * Everything here is a function of sums over rows, so the table is never
 * held: pass 1 gives every fit (every level, every fold's training set as
 * the merge of the other folds), pass 2 every robust variance and every
 * validation metric.
 */
#ifndef CX_OLS_INTERNAL_H
#define CX_OLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "design.h"
#include "model.h"
#include "reducer.h"

/* ---- pass 1: cross-products -------------------------------------------- */

/* Sums of one (level, slot): c = Z'WZ with Z = [X y] ((p+1) x (p+1),
 * column-major, upper triangle valid), rows used, rows with w > 0, sum w
 * and sum log w over w > 0 (R's logLik of a weighted lm). */
typedef struct ols_xp {
    double *c;
    double n, npos, sw, slogw;
} ols_xp;

typedef struct ols_pass_params {
    const cx_design *d;
    size_t p;        /* design columns                         */
    size_t n_inputs; /* design input columns at the block start */
    size_t n_levels, n_slots;
    cx_split_kind split; /* NONE, KFOLD, HOLDOUT or BOOTSTRAP       */
    unsigned long seed;
    const cx_filter *holdout;
    size_t holdout_at;       /* block column of the filter's slot 0     */
    long boot_cluster_extra; /* design extra column keying replicates, -1 */
    int weighted;            /* the design has a weights column         */
} ols_pass_params;

/* One pass: xp[l * n_slots + s] for every level l and slot s (allocated
 * here; free with ols_xp_free_all).  For BOOTSTRAP slot 0 is the sample,
 * slot r the replicate r - 1 (weights times Poisson(1) counts). */
int ols_pass_xprod(const cx_job *job, const int *cols, size_t ncols, const ols_pass_params *par,
                   ols_xp **xp, cx_error *err);
void ols_xp_free_all(ols_xp *xp, size_t n);
/* 1 when raw row r of block b is a held-out row: it matches the holdout
 * filter, whose columns start at block column holdout_at. */
int ols_is_holdout_row(const cx_filter *holdout, size_t holdout_at, const cx_block *b, size_t r);
/* a += b (same p). */
void ols_xp_add(ols_xp *a, const ols_xp *b, size_t p);
ols_xp *ols_xp_alloc(size_t p, cx_error *err);
void ols_xp_free(ols_xp *x);

/* Where an unweighted design that cx_design_direct accepts lies in the
 * raw block, for the direct paths of both passes (which read the raw
 * columns in place of the fill): xslot[j] the raw slot of X column j (-1:
 * the intercept), xslot[p] the outcome's; check the slots a row needs
 * present; lo .. lo + q - 1 the raw slot range holding all of them. */
typedef struct ols_direct {
    long *xslot;
    size_t *check, n_check, lo, q;
} ols_direct;

/* Sets *direct to 1 and fills dm when design d (p columns, n_inputs
 * input columns) is direct, else 0; CX_ENOMEM with err set when out of
 * memory.  Free with ols_direct_free either way. */
int ols_direct_init(ols_direct *dm, const cx_design *d, size_t p, size_t n_inputs, int *direct,
                    cx_error *err);
void ols_direct_free(ols_direct *dm);

/* ---- the solve ------------------------------------------------------------ */

typedef struct ols_fit {
    size_t p, q;   /* design columns, rank (non-aliased columns)         */
    int *aliased;  /* p flags                                           */
    size_t *keep;  /* q indices of the non-aliased columns              */
    double *beta;  /* p: NaN where aliased                              */
    double *beta0; /* p: 0 where aliased (for predictions)              */
    double *a;     /* q x q: (X'WX)^-1 over the kept columns            */
    int intercept; /* column 0 is "(Intercept)"                         */
    double n, npos, sw, slogw;
    double rss, tss; /* weighted; tss centred when there is an intercept  */
    double ybar;     /* weighted mean of y                                */
    char alias_msg[512];
} ols_fit;

/* Fit from cross-products; CX_EFAIL with err set when nothing is
 * estimable (no rows, no positive weight, every column aliased). */
int ols_fit_xp(const ols_xp *xp, size_t p, const char *const *names, int intercept, ols_fit *f,
               cx_error *err);
void ols_fit_clear(ols_fit *f);
/* Residual degrees of freedom (R's df.residual: npos - rank). */
double ols_fit_rdf(const ols_fit *f);

/* ---- pass 2: residual scores --------------------------------------------- */

typedef enum ols_se {
    OLS_SE_CLASSICAL,
    OLS_SE_HC0,
    OLS_SE_HC1,
    OLS_SE_HC2,
    OLS_SE_HC3,
    OLS_SE_CLUSTER
} ols_se;

/* Out-of-sample sums of one (level, slot) test set. */
typedef struct ols_oos {
    double n, sw, swe2, swae, swy, swy2;
} ols_oos;

typedef struct ols_score_params {
    const cx_design *d;
    size_t p, n_inputs, n_levels;
    const ols_fit *fits; /* per level (NULL: no robust part)        */
    ols_se se;
    size_t n_cluster; /* 1 or 2 cluster dimensions (extra cols)  */
    long cluster_extra[2];
    /* validation */
    cx_split_kind split; /* NONE, KFOLD or HOLDOUT                   */
    size_t n_slots;
    unsigned long seed;
    const cx_filter *holdout;
    size_t holdout_at;
    const double *const *beta_train; /* [l * n_slots + s]: p values or NULL */
} ols_score_params;

/* Per level after pass 2: the meat (q x q, over the kept columns; for
 * clusters the small-sample-adjusted combination of the dimensions), the
 * number of clusters per dimension, and per (level, slot) the test sums. */
typedef struct ols_scores {
    double *meat;       /* n_levels blocks of q_l x q_l (max p x p each)     */
    double *n_clusters; /* n_levels x 3: dim 1, dim 2, intersection     */
    ols_oos *oos;       /* n_levels x n_slots                                */
} ols_scores;

int ols_pass_scores(const cx_job *job, const int *cols, size_t ncols, const ols_score_params *par,
                    ols_scores *out, cx_error *err);
void ols_scores_clear(ols_scores *s);

/* ---- small linear algebra (ols_solve.c) ---------------------------------- */

/* out = A M A (all q x q, column-major). */
void ols_sandwich(const double *a, const double *m, size_t q, double *out);

/* Key of a cluster value (cx_value_key) for the maps of pass 2. */
uint64_t ols_cluster_key(double v);

#endif
