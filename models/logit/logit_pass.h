/*
 * logit_pass.h — one streaming pass of the binary logit at given
 * coefficients (engine/rowpass.h): log-likelihood, score and Fisher
 * information for a Newton step; at the estimates also the sandwich's
 * meat (HC0), the score sums of each cluster and every row's fitted
 * probability (for AUC and the confusion table).
 */
#ifndef CX_LOGIT_PASS_H
#define CX_LOGIT_PASS_H

#include <stddef.h>

#include "clusters.h"
#include "common.h"
#include "rowpass.h"

/* A fitted probability closer than this to 0 or 1 signals separation:
 * at convergence (gradient below 1e-10 n) a separated row's probability
 * is about 1e-10; an estimable model rarely fits one below 1e-8. */
#define LOGIT_EXTREME 1e-8

typedef struct logit_params {
    size_t q;             /* active (non-aliased) columns                 */
    const size_t *active; /* q design column indices                      */
    const double *beta;   /* q coefficients                               */
    int final;            /* collect meat, clusters and predictions       */
    int meat;             /* final: the HC meat is wanted (else left 0)   */
    int cluster;          /* extra column 0 names the cluster (final)     */
    int factor_outcome;   /* y is a level index 0/1 (else checked 0..1)   */
    /* validation: rows of split slot `skip_slot` are left out (training),
     * or only those of `only_slot` are used (prediction); -1 = none */
    long skip_slot, only_slot;
    /* final, se = hc2 / hc3: (X'WX)^-1 over the active columns (q x q,
     * full) and the power of 1 / (1 - h) scaling a row's squared score:
     * h = w mu (1 - mu) x' (X'WX)^-1 x, sandwich's hatvalues.glm */
    const double *hat_inv;
    int hat_power;
    lg_boot boot;       /* a bootstrap replicate's weights (boot.rep >= 0) */
    size_t expect_rows; /* final: rows the pass will use, if known (a size hint) */
} logit_params;

typedef struct logit_acc {
    size_t q;
    double ll, ll_sat;    /* log-likelihood; saturated (0 for 0/1 y)      */
    double sum_w, sum_wy; /* weights, weighted outcome                    */
    double nobs;          /* rows with a non-zero weight                  */
    size_t n_rows;        /* rows used (this pass)                        */
    double *grad, *info;  /* q; q x q column-major (upper triangle)       */
    double *meat;         /* final: q x q, sum of score outer products    */
    size_t n_extreme;     /* final: fitted probabilities within LOGIT_EXTREME of 0/1 */
    /* final: predictions in table order */
    double *pred, *y, *w;
    size_t n_pred, cap_pred;
    size_t expect_pred;   /* the params' expect_rows: the first reservation */
    lg_clusters clusters; /* final: score sums per cluster            */
    /* scratch: one chunk of rows (eta, r, v; s chunk x q, logit_pass.c)
     * and, when rows or columns are left out, a block's used rows */
    double *xa, *s, *eta, *r, *v, *yc, *wc, *kc;
    double *sv;                 /* chunk: sqrt(v), the scale of each row in the information */
    const double *xr, *yr, *wr; /* the block's used rows: xa, yc, wc or the rows themselves */
    size_t cap_rows;
} logit_acc;

extern const cx_rowpass_type logit_pass_type;
/* Lets an MPI run split this pass's rows across ranks (logit_pack.c). */
void logit_pack_register(void);

#endif
