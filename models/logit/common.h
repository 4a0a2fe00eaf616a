/*
 * common.h — what the regression families of models/logit/ (logit, mlogit,
 * ologit) share: the parsed keys of a job (formula, scores, se), the design
 * for them, their Newton run, their covariance matrices and the fit
 * measures of a categorical outcome.
 */
#ifndef CX_LOGIT_COMMON_H
#define CX_LOGIT_COMMON_H

#include "clusters.h"
#include "design.h"
#include "model.h"
#include "optimize.h"
#include "rowpass.h"

/* SE_HC2 / SE_HC3: logit only (hat values of the weighted design);
 * ologit and mlogit refuse them (lg_refuse_hat_se). */
typedef enum logit_se { SE_CLASSICAL, SE_HC0, SE_HC1, SE_HC2, SE_HC3, SE_CLUSTER } logit_se;

/* A job's parsed keys. */
typedef struct logit_spec {
    cx_formula *formula;
    cx_scores *scores;
    logit_se se;
    char cluster[CX_NAME_MAX];
    const char *weights;
    long boot_extra; /* design extra column of `bootstrap_cluster`, -1 */
} logit_spec;

/* `formula`, `scores`, `se`; errors name file, line and key. */
int lg_parse_spec(const cx_job *job, logit_spec *s, cx_error *err);
void lg_spec_free(logit_spec *s);
/* The design of the job's formula (cluster column as extra 0). */
cx_design *lg_design_for(const cx_job *job, const logit_spec *s, cx_error *err);
/* lg_parse_spec, then lg_design_for into *d (NULL on error); the caller
 * frees both (lg_spec_free, cx_design_free) whatever it returns. */
int lg_open_job(const cx_job *job, logit_spec *s, cx_design **d, cx_error *err);
/* check(): keys parse and every column exists. */
int lg_check(const cx_job *job, cx_error *err);
/* ologit / mlogit: `se = hc2 | hc3` refused (CX_EUSAGE naming the key). */
int lg_refuse_hat_se(const cx_job *job, const logit_spec *s, const char *model, cx_error *err);

/* Inverse of a q x q symmetric positive definite matrix in place
 * (column-major, full result); CX_EFAIL when singular. */
int lg_invert_spd(double *a, size_t q);
/* V = scale B M B (all q x q, symmetric, column-major). */
void lg_sandwich(const double *B, const double *M, size_t q, double scale, double *V);
/* Fill the lower triangle of a column-major upper triangle. */
void lg_symmetrize(double *a, size_t q);
/* lhs of every estimate: the outcome's column (or its label). */
const char *lg_outcome_name(const cx_formula *f);
/* Index (< n) of the least determined of the first n parameters: the
 * largest variance inflation V_jj info_jj (both d x d, column-major). */
size_t lg_weakest(const double *V, const double *info, size_t d, size_t n);
/* The sums of a Newton pass over d parameters of a K-level outcome
 * (mlogit, ologit): log-likelihood, weights, level counts, score and
 * information (column-major upper triangle); for the final pass (`meat`
 * allocated) the HC meat and, with `cluster`, the score sums per cluster;
 * u is one row's score. */
typedef struct lg_newton_sums {
    size_t K, d;
    double ll, sum_w, nobs;
    double *count, *grad, *info, *meat, *u;
    lg_clusters clusters;
    int cluster;
    /* a prediction pass (validation): rows, weighted correct predictions
     * and weighted Brier sum (lg_sums_predict) */
    double rows, hits, brier;
} lg_newton_sums;

/* CX_ENOMEM (err not set) when out of memory; free with lg_sums_free
 * either way. */
int lg_sums_init(lg_newton_sums *s, size_t K, size_t d, int final, int cluster);
void lg_sums_free(lg_newton_sums *s);
void lg_sums_reset(lg_newton_sums *s);
/* A predicted row of level y with weight w, prob the K level
 * probabilities: the predicted level is the most probable one (the first
 * of ties, R's which.max), Brier = sum_k (prob_k - [y = k])^2. */
void lg_sums_predict(lg_newton_sums *s, const double *prob, size_t y, double w);
/* The validation metrics of a prediction pass's sums, split `split`:
 * n, logloss = -ll / sum w, brier, accuracy (weighted means). */
int lg_write_validation(cx_result *r, const char *split, const lg_newton_sums *s, cx_error *err);
/* Row i of a pass with validation slots: used by a training pass that
 * leaves out slot `skip`, or a prediction pass of slot `only` (-1: none). */
int lg_row_used(const cx_rows *r, size_t i, long skip, long only);
/* `validate` of a job: refit(fit, slot, split name) once per fold
 * ("fold1".."foldK") or once for the holdout (slot 1, "holdout"). */
typedef int (*lg_refit_fn)(void *fit, size_t slot, const char *split, cx_error *err);
int lg_validate(const cx_rowpass_split *split, lg_refit_fn refit, void *fit, cx_error *err);
/* The job's `validate` as the row pass's split. */
cx_rowpass_split lg_split_of(const cx_job *job);

/* `bootstrap = B`: replicate rep of a pass weights row i by its Poisson(1)
 * count cx_boot_count(seed, rep, key) (engine/resample.h), key = the table
 * row or, with `bootstrap_cluster`, the value of that design extra column
 * (every row of a unit shares its count), as ols and cfa draw them. */
typedef struct lg_boot {
    long rep; /* -1: no replicate (weights as they are) */
    unsigned long seed;
    long key_extra; /* -1: table rows */
} lg_boot;
unsigned lg_boot_count(const lg_boot *b, const cx_rows *r, size_t i);
/* Replicate rep's fit: its estimates in the order of the `estimates`
 * table's rows (n of them; NaN where aliased); CX_EFAIL when it did not
 * converge (left out), other codes are errors. */
typedef int (*lg_replicate_fn)(void *fit, size_t rep, double *est, size_t n, cx_error *err);
/* The job's bootstrap after the estimates are written: B replicates, the
 * `bootstrap` table (est, se, boot_mean, percentile / normal / BCa limits:
 * engine/bootci.h, as cfa and nps write it), and in `estimates` the
 * bootstrap se, z, p-value and percentile CI; attributes se = bootstrap,
 * bootstrap_replicates, bootstrap_failed. */
int lg_bootstrap(const cx_job *job, cx_result *r, lg_replicate_fn fn, void *fit, cx_error *err);

/* The optimizer's derivatives from the sums: grad (d) and curv (d x d,
 * the information, upper triangle). */
void lg_sums_derivatives(const lg_newton_sums *s, double *grad, double *curv);
/* s += o; merge cannot fail by contract: out of memory poisons s->ll. */
void lg_sums_merge(lg_newton_sums *s, const lg_newton_sums *o);
/* MPI row splitting (engine/dist.h, logit_pack.c): the sums as flat
 * doubles (buf NULL: the bytes needed), and back into sums initialised for
 * the same K, d and pass kind; ologit and mlogit register them. */
size_t lg_sums_pack(const lg_newton_sums *s, void *buf);
int lg_sums_unpack(lg_newton_sums *s, const void *buf, size_t size, cx_error *err);

/* What a final pass leaves for the covariance of d estimates: the
 * information and the HC meat (column-major upper triangles), the cluster
 * score sums, and n for hc1's n / (n - d). */
typedef struct lg_vcov_parts {
    size_t d;
    const double *info, *meat;
    const lg_clusters *clusters;
    double n;
} lg_vcov_parts;

/* V (d x d, full) for `se`: the inverse information, or the sandwich
 * around it (clusters as vcovCL's default: HC0 meat with G / (G - 1)).
 * CX_EFAIL when the information is singular; CX_ENOMEM. */
int lg_covariance(const lg_vcov_parts *in, logit_se se, double *V);
/* What a singular information gives instead of an error: NaN for every
 * entry of V (d x d) and the warning `why` on r; CX_OK. */
int lg_singular_covariance(double *V, size_t d, cx_result *r, const char *why);
/* Newton to the maximum of obj from theta (in: start, out: estimates),
 * the gradient test relative to the total weight sum_w; the optimizer's
 * eval failure is an error, non-convergence is left in rep. */
int lg_maximize(const cx_objective *obj, double sum_w, double *theta, cx_opt_report *rep,
                cx_error *err);
/* The fit measures of a model of a categorical outcome with K levels:
 * log-likelihood ll over frequency weights summing to sum_w, count the
 * weighted rows of each level (the null model), npar parameters. */
int lg_add_level_fits(cx_result *r, double ll, double sum_w, double npar, const double *count,
                      size_t K, int iterations, cx_error *err);
int lg_add_fits(cx_result *r, const char *const *names, const double *values, size_t n,
                cx_error *err);

#endif
