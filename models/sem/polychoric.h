/*
 * polychoric.h — sample statistics of ordinal items for WLSMV, as lavaan's
 * muthen1984(): thresholds from the univariate margins, polychoric
 * correlations by two-step ML per pair (thresholds fixed, rho by 1-D ML
 * on the bivariate table), and the asymptotic covariance Gamma (NACOV) of
 * (thresholds, polychorics) from casewise scores (Muthen 1984; Muthen,
 * du Toit & Spisic 1997).
 *
 * Two streaming passes (engine/reducer.h), every cell (group x `by`
 * level) at once:
 *   1. sem_ord_counts: univariate and bivariate frequency tables of the
 *      items' integer codes (listwise: a row with a missing item is left
 *      out, as lavaan's default missing = "listwise");
 *   2. sem_ord_inner: at the estimated thresholds and polychorics, the
 *      cross-product INNER = sum_i s_i s_i' of every row's scores s_i
 *      (threshold scores of the univariate likelihoods, rho scores of the
 *      bivariate ones).  The scores of a row depend only on its categories,
 *      so they are looked up, not recomputed.
 * The other blocks of Muthen's sandwich (A11, A21, A22) are sums over
 * cells of the frequency tables and need no pass.
 *
 * Sampling weights (lavaan's sampling.weights with ordered items): pass 1
 * sums the raw weights w instead of counting; the caller normalizes them
 * (wscale, lavaan's sampling.weights.normalization = "total") and the
 * tables, thresholds (weighted proportions) and polychorics (weighted
 * likelihood) follow from the scaled table, as A21 and A22 (sums of w
 * times score products); pass 2 sums w^2 s s' (INNER) and w s s'
 * (INNER2, whose threshold blocks are A11), as muthen1984(wt = ...).
 * N of the cell is then the sum of its normalized weights (lavaan's
 * nobs with weights) and Gamma = N B^-1 INNER B^-T as before.
 *
 * Item values must be integer codes 0..SEM_ORD_MAX_CODE; the categories
 * are the codes present (in order), as lavaan's ordered().  Vector order
 * is lavaan's: thresholds item by item, then the correlations of
 * vech(R, diagonal = FALSE) (column by column of the lower triangle).
 */
#ifndef CX_SEM_POLYCHORIC_H
#define CX_SEM_POLYCHORIC_H

#include <stddef.h>
#include <stdint.h>

#include "../../engine/reducer.h"

#define SEM_ORD_MAX_CODE 31
#define SEM_ORD_SLOTS (SEM_ORD_MAX_CODE + 1)

typedef struct sem_ord_count_params {
    size_t p;                 /* items: block columns 0 .. p-1          */
    size_t n_cells;           /* levels of the pass view                */
    const char *const *names; /* p item names, for errors              */
    long weight_at;           /* block column of the weights, -1: none  */
} sem_ord_count_params;

extern const cx_reducer_type sem_ord_counts;

/* Statistics of one cell (one group). */
typedef struct sem_ord_stats {
    size_t p, nth, npair, dim; /* dim = nth + npair                     */
    double n;                  /* rows used (sum of normalized weights)  */
    double rows;               /* rows used                              */
    double wscale;             /* weight normalization; 0: unweighted    */
    size_t *ncat;              /* p: categories                         */
    size_t *th0;               /* p + 1: item i's thresholds th0[i] ..   */
    int *cat_of_code;          /* p x SLOTS: category of a code, -1     */
    double *th;                /* nth                                   */
    double *rho;               /* p x p, unit diagonal                  */
    double *freq;              /* per pair (lavaan order) ncat_i x ncat_j
                                  (item i = the later one), at pair_off */
    size_t *pair_off;          /* npair + 1                             */
    double *a21, *a22;         /* npair x nth, npair                    */
    /* score lookup for pass 2 */
    double *th_score;  /* per item category: d log P / d th_k of
                          its two thresholds (lower, upper), at
                          2 * (th0[i] + i + a)                   */
    double *rho_score; /* per pair cell, layout of freq         */
    double *gamma;     /* dim x dim: NACOV (N x Muthen's W)     */
    int rho_iterations_max;
} sem_ord_stats;

/* Rows and sum of weights (= rows unweighted) of cell `cell`. */
void sem_ord_counts_size(const void *counts, size_t cell, double *rows, double *sum_w);

/* Thresholds and polychorics of cell `cell` from the counts, the weights
 * times wscale (0: unweighted); errors name the item (a category-less
 * item, an item with one category). */
int sem_ord_stats_from_counts(const void *counts, size_t cell, const char *const *names,
                              double wscale, sem_ord_stats *s, cx_error *err);
void sem_ord_stats_clear(sem_ord_stats *s);

typedef struct sem_ord_inner_params {
    size_t p, n_cells;
    long weight_at; /* block column of the weights, -1: none       */
    sem_ord_stats *const *cell; /* n_cells statistics (NULL: cell unused) */
} sem_ord_inner_params;

extern const cx_reducer_type sem_ord_inner;

/* Gamma of cell `cell` from the pass-2 total. */
int sem_ord_gamma(const void *inner, size_t cell, sem_ord_stats *s, cx_error *err);

#endif
