/*
 * stats.h — sufficient statistics in one streaming pass.
 *
 * cx_moments holds, for p variables, the (weighted) count, means and the
 * centered cross-product matrix M2 = sum w (x - mean)(x - mean)'.  Blocks
 * are summarised on their own (block mean, then DSYRK of the centered
 * block) and merged with the pairwise update of Chan, Golub & LeVeque, so
 * large means and long tables do not lose digits the way raw sums of
 * squares do.  Every factor and linear model builds on this.
 *
 * Listwise mode: a row counts only if all p values are present; one
 * count/mean/M2.  Pairwise mode: every pair (j,k) has its own count, means
 * and cross-product over the rows where both are present (psych's and
 * lavaan's "pairwise" covariances).
 */
#ifndef CX_STATS_H
#define CX_STATS_H

#include <stdint.h>

#include "view.h"

typedef enum cx_missing_mode { CX_MISSING_LISTWISE = 0, CX_MISSING_PAIRWISE = 1 } cx_missing_mode;

typedef struct cx_moments {
    size_t p;
    cx_missing_mode mode;
    double n_rows; /* rows used (listwise) / rows with any value (pairwise) */
    double sum_w;  /* listwise: sum of weights (= n_rows unweighted)         */
    double *mean;  /* p: listwise means; pairwise: mean over each column's
                      own complete rows                                     */
    double *m2;    /* p x p centered cross-products (listwise)              */
    /* pairwise mode only (NULL otherwise), all p x p:
       pair_w[j*p+k]  sum of weights where j and k both present,
       pair_mean[j*p+k] mean of variable j over those rows,
       pair_m2[j*p+k]  sum w (x_j - mean_jk)(x_k - mean_kj) over those rows */
    double *pair_w, *pair_mean, *pair_m2;
    double min_w; /* negative weights are rejected; kept for checks        */
} cx_moments;

cx_moments *cx_moments_alloc(size_t p, cx_missing_mode mode, cx_error *err);
void cx_moments_free(cx_moments *m);
void cx_moments_reset(cx_moments *m);

/* Add n rows of X (column-major, leading dimension ld, NaN = missing) with
 * optional weights w (NULL = 1).  Uses OpenBLAS DSYRK on the centered block. */
int cx_moments_add_block(cx_moments *m, const double *X, size_t n, size_t ld, const double *w,
                         cx_error *err);
/* m += other (Chan et al. merge). */
void cx_moments_merge(cx_moments *m, const cx_moments *other);

/* Covariance with denominator (sum_w - ddof): ddof = 1 for the unbiased
 * sample covariance, 0 for lavaan's ML covariance.  out is p x p.  For
 * pairwise moments each entry uses its pair's count. */
void cx_moments_covariance(const cx_moments *m, double ddof, double *out);
/* Number of rows (listwise) — convenience for models. */
double cx_moments_n(const cx_moments *m);

/* Frequency weights: the index of the first that is negative, infinite or
 * outside [1e-150, 1e150] (0 and NaN = missing are fine), -1 if none; and
 * what is wrong with such a weight, for messages. */
long cx_weights_first_bad(const double *w, size_t n);
const char *cx_weight_problem(double w);

/* One streaming pass over `v` (OpenMP threads over row blocks, OpenBLAS
 * single-threaded inside): moments of columns `cols` per group level.
 * It is the reducer pass (reducer.c) with the moments reducer.
 * `weight_col` = -1 for unweighted.  `out` receives v->n_levels moments
 * (allocated here, free each with cx_moments_free). */
int cx_stats_compute(const cx_view *v, const int *cols, size_t p, int weight_col,
                     cx_missing_mode mode, cx_moments **out, cx_error *err);

/* Accumulators for reducers (reducer.h): the per-level summaries of
 * cx_stats_compute, one per level / fold / replicate.  Adding needs a
 * caller-owned scratch from cx_moments_scratch_alloc (free with free());
 * merging needs p doubles of scratch `delta`.  Merging the same summaries
 * in the same order gives bit-identical moments. */
typedef struct cx_moments_acc cx_moments_acc;
cx_moments_acc *cx_moments_acc_alloc(size_t p, cx_missing_mode mode, cx_error *err);
void cx_moments_acc_free(cx_moments_acc *a);
void cx_moments_acc_reset(cx_moments_acc *a);
double *cx_moments_scratch_alloc(size_t p, cx_error *err);
int cx_moments_acc_add(cx_moments_acc *a, const double *X, size_t n, size_t ld, const double *w,
                       double *scratch, cx_error *err);
/* Listwise only: n rows of p small-integer columns X (int16, column-major,
 * leading dimension ld; CX_SMALL_MISSING = missing, every other value
 * within +-1024), as 1-byte Likert columns arrive (table.h).  Bit for bit
 * what cx_moments_acc_add gives for the same values as doubles (NaN for
 * missing): the same chunks through the same integer kernel. */
void cx_moments_acc_add_small(cx_moments_acc *a, const int16_t *X, size_t n, size_t ld,
                              double *scratch);
void cx_moments_acc_merge(cx_moments_acc *a, const cx_moments_acc *b, double *delta);
/* out (allocated for the same p and mode) = the accumulated moments. */
void cx_moments_acc_export(const cx_moments_acc *a, cx_moments *out);

/* The integer kernel of the moments pass, for other exact passes over
 * tiny integers (parallel analysis' resampled Likert items): X'X (upper
 * triangle, c[j + q * p] for j <= q) and column sums of p int16 columns,
 * column j at z + j * CX_TINY_CHUNK, rows <= CX_TINY_CHUNK values each,
 * every |value| <= CX_TINY_MAX: int32 sums, exact. */
#define CX_TINY_CHUNK 1024
#define CX_TINY_MAX 1024
void cx_tiny_cross(const int16_t *z, size_t rows, size_t p, double *c, double *sum);

/* Flat copies for MPI (dist.h): pack returns the doubles written (buf NULL:
 * the doubles needed); unpack loads them into an object allocated for the
 * same p and mode. */
size_t cx_moments_pack(const cx_moments *m, double *buf);
void cx_moments_unpack(cx_moments *m, const double *buf);
size_t cx_moments_acc_pack(const cx_moments_acc *a, double *buf);
void cx_moments_acc_unpack(cx_moments_acc *a, const double *buf);

#endif
