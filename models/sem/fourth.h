/*
 * fourth.h — the casewise fourth moments of estimator MLR (sem_sample's
 * `fourth`), accumulated block by block: used by sem_model.c's second
 * streaming pass over the data, and by the tests that evaluate MLR at
 * lavaan's estimates.  Not part of the public interface.
 *
 * With row weights w_i the sums carry w_i^k: k = 2 for sampling weights
 * (lavaan multiplies each casewise score by w_i, so the score outer
 * products carry w_i^2), k = 1 for frequency weights (row i stands for
 * w_i identical rows).  Besides sum w^k z z' the weighted sums keep
 * sum w^k z and sum w^k, which the unweighted case knows in closed form.
 */
#ifndef CX_SEM_FOURTH_H
#define CX_SEM_FOURTH_H

#include <stddef.h>

#include "../../engine/cx_error.h"
#include "../../engine/reducer.h"

typedef struct sem_fourth_ws {
    size_t p, ps;
    double *z;   /* SEM_FOURTH_CHUNK x ps, column-major */
    double *d;   /* p: one centered row */
    size_t fill; /* rows in z */
} sem_fourth_ws;

/* The weighted sums of one level: first += sum w^k z (ps), *sw += sum w^k. */
typedef struct sem_fourth_weights {
    const double *w; /* the block's row weights (stride 1), NULL = 1 */
    double power;    /* k: 2 sampling, 1 frequency */
    double *first;
    double *sw;
} sem_fourth_weights;

/* Scratch for p variables; CX_OK or CX_ENOMEM (err set). */
int sem_fourth_ws_init(sem_fourth_ws *ws, size_t p, cx_error *err);
void sem_fourth_ws_free(sem_fourth_ws *ws);

/* The rows i < got of a block (column a of the p variables at
 * block[a * stride + i], NaN = missing) whose levels[i] == level, centered
 * at `mean`, into acc (ps x ps, zeroed by the caller, column-major lower):
 * acc += sum z z', z = [d ; vech(d d')]; *count += rows used.  Rows with a
 * missing value are skipped (listwise, as the moments). */
void sem_fourth_block(sem_fourth_ws *ws, const double *block, size_t stride, long got,
                      const size_t *levels, size_t level, const double *mean, double *acc,
                      double *count);

/* The same with row weights: acc += sum w^k z z' (rows scaled by
 * w^(k/2) before DSYRK), and wt's first/sw sums; *count += rows used. */
void sem_fourth_block_weighted(sem_fourth_ws *ws, const double *block, size_t stride, long got,
                               const size_t *levels, size_t level, const double *mean,
                               const sem_fourth_weights *wt, double *acc, double *count);

/* acc -> M = acc / count, both triangles (sem_sample's `fourth`). */
void sem_fourth_finish(double *acc, size_t ps, double count);

/* The reducer of MLR's second pass: per pass level l, acc_l = sum z z'
 * about means[l] (listwise rows of the block columns 0..p-1) and the
 * count of rows used.  Results: sem_fourth_result. */
typedef struct sem_fourth_params {
    size_t p, n_levels;
    const double *means; /* n_levels x p */
    size_t weight_at;    /* block column of the row weights (power > 0)    */
    double power;        /* k of w^k (header comment); 0 = unweighted      */
} sem_fourth_params;

extern const cx_reducer_type sem_reducer_fourth;
/* Lets a pass of sem_reducer_fourth split its rows across MPI ranks
 * (engine/dist.h); idempotent. */
void sem_fourth_pack_register(void);
/* Level l's M = acc / count into m (pstar x pstar, both triangles);
 * returns the count. */
double sem_fourth_result(const void *acc, size_t level, double *m);
/* Weighted: M = acc / divisor into m, first = sum w^k z / divisor into
 * `first` (pstar) and *w2 = sum w^k / divisor; returns the rows used. */
double sem_fourth_result_weighted(const void *acc, size_t level, double divisor, double *m,
                                  double *first, double *w2);

#endif
