/*
 * reliability_internal.h — the parts of `model = reliability` shared by
 * its files: the parsed scales, the one-pass reducer and the tables.
 */
#ifndef CX_RELIABILITY_INTERNAL_H
#define CX_RELIABILITY_INTERNAL_H

#include "model.h"
#include "reliability_stats.h"

typedef struct rel_scale {
    char name[CX_NAME_MAX];
    size_t k;
    char (*items)[CX_NAME_MAX];
    unsigned char *reverse; /* per item: reverse-keyed (min + max - x)    */
    int *col;               /* table column of each item                  */
    double *lo, *hi;        /* item range (reverse-keyed items)           */
} rel_scale;

typedef struct rel_scales {
    size_t n;
    rel_scale *scale;
} rel_scales;

/* reliability_scales.c: the `scales` key (errors name it); an empty set
 * when only cfa_job is given. */
int rel_scales_parse(const cx_job *job, rel_scales **out, cx_error *err);
void rel_scales_free(rel_scales *s);
/* Observed ranges of the reverse-keyed non-categorical items over every
 * row of the table (one scan of those columns). */
int rel_scan_ranges(const cx_job *job, rel_scales *s, cx_error *err);

/* The keyed items' covariance C (p x p) of listwise moments m, divisor
 * N - 1: unweighted the sample covariance; with `weights` (sum_w != N)
 * the weighted one scaled as analytic weights are, sum w (x - xbar_w)
 * (x - xbar_w)' / sum w x N / (N - 1), so multiplying the weights by a
 * constant changes nothing and equal weights give the unweighted C
 * (docs/models/reliability.md, DECISIONS.md).  Pairwise moments: the
 * engine's pairwise covariance (unweighted only). */
void rel_covariance(const cx_moments *m, double *C);

/* ---- omega (reliability_omega.c) ------------------------------------------ */
/* Omega of a scale's listwise moments (C: its covariance, divisor N-1)
 * into res; NaN under pairwise or with fewer than 3 items. */
int rel_scale_omega(const rel_scale *sc, const cx_moments *m, const double *C, double n,
                    rel_scale_result *res, cx_result *r, cx_error *err);
/* Bootstrap rows of alpha and omega of scale sc at level l. */
int rel_scale_bootstrap(const cx_job *job, const rel_scale *sc, const void *boot, size_t l,
                        cx_result *r, cx_error *err);
/* The `bifactor` table (omega hierarchical) from the instrument moments. */
int rel_instrument_omega(const rel_scales *s, const void *acc, size_t l, cx_result *r,
                         cx_error *err);

/* ---- the pass (reliability_pass.c) ----------------------------------------
 * Per scale, moments of [keyed items (k), scale score] and, pairwise, k
 * more columns: the score where item i is present (psych's pairwise
 * cor(total, x)); with `bootstrap`, replicate moments of the k items. */
typedef struct rel_pass rel_pass;
int rel_pass_run(const cx_job *job, const rel_scales *s, const int *ind, size_t n_ind,
                 rel_pass **out, cx_error *err);
/* Listwise moments of the cfa_job's indicators (columns ind), or NULL. */
const void *rel_pass_indicators(const rel_pass *p);
/* Their bootstrap replicates, or NULL without `bootstrap`. */
const void *rel_pass_indicators_boot(const rel_pass *p);
const void *rel_pass_main(const rel_pass *p, size_t scale);
const void *rel_pass_boot(const rel_pass *p, size_t scale);
/* Listwise moments of every scale's keyed items in scale order, or NULL
 * (one scale, pairwise, or an item in two scales). */
const void *rel_pass_instrument(const rel_pass *p);
void rel_pass_free(rel_pass *p);

/* ---- tables (reliability_tables.c) ---------------------------------------- */
/* One scale's rows in `reliability`, `items` and `estimates`; cov is the
 * moments' p x p covariance (divisor N - 1), n the scale's N. */
int rel_write_tables(const cx_job *job, const rel_scale *sc, const cx_moments *m,
                     const double *cov, double n, const rel_scale_result *res, cx_result *r,
                     cx_error *err);
/* A defined parameter without se or CI (omega, CR, AVE) in `estimates`. */
long rel_add_point(cx_result *r, const char *lhs, const char *rhs, double est, cx_error *err);
/* One `bootstrap` row for `lhs op rhs` (estimate t0, usable replicates
 * t[0..ok) of B, sorted in place); the matching `estimates` row gets the
 * bootstrap se and percentile CI. */
int rel_boot_row(const cx_job *job, cx_result *r, const char *lhs, const char *op,
                 const char *rhs, double t0, double *t, size_t ok, size_t B, cx_error *err);

/* ---- cfa_job (reliability_validity.c) ------------------------------------- */
struct rel_fmodel;
/* The factor model of the cfa job's result (job->input). */
int rel_input_model(const cx_job *job, struct rel_fmodel **out, cx_error *err);
/* `validity`, `fornell_larcker` and `htmt` of level l from the listwise
 * moments of the model's indicators (rel_pass_indicators); with `boot`
 * (their replicates) bootstrap rows for CR, AVE and HTMT. */
int rel_write_validity(const cx_job *job, const struct rel_fmodel *fm, const void *acc,
                       const void *boot, size_t l, cx_result *r, cx_error *err);

#endif
