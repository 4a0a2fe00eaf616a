/*
 * xprod.h — X'X and the column sums of a tall, narrow column-major block
 * of doubles (see xprod.c for why this is not one DSYRK).
 */
#ifndef CX_XPROD_H
#define CX_XPROD_H

#include <stddef.h>

/* Widest block the register kernel takes; wider ones go to DSYRK. */
#define XPROD_MAX_COLS 32

/* c (q x q, column-major, upper triangle: c[j*q + i], i <= j) += X'X and
 * sum[j] += the sum of column j, for X = rows x q doubles at x with
 * leading dimension ld (sum may be NULL: no sums).  Missing values
 * propagate (NaN in, NaN out). */
void cx_xprod_add(const double *x, size_t ld, size_t rows, size_t q, double *c, double *sum);

#endif
