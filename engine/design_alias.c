/*
 * design_alias.c — which design columns are aliased, the way R's lm
 * reports NA coefficients.
 *
 * R's QR (LINPACK dqrdc2) pivots only to push a column whose remaining
 * norm is below tol times its original norm to the end: a column is
 * dropped exactly when it is (numerically) a combination of the columns
 * *before* it, so the first of two collinear columns keeps its estimate.
 * LAPACK's pivoted factorisations (dpstrf, dgeqp3) pick the largest
 * column first and would drop a different one, so this is a plain
 * left-to-right Cholesky of X'X that skips such columns instead.  Working
 * on X'X squares the condition number: columns whose relative residual
 * norm lies within a factor of ~10 of tol may be judged differently from
 * R's QR on X; centring X (or passing the correlation matrix) avoids that.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design.h"

long cx_design_aliased(const double *xtx, size_t p, const char *const *names, double tol,
                       int *aliased, char *msg, size_t msg_size, cx_error *err)
{
    double *r = cx_calloc(p * p + 1, sizeof *r, err); /* upper factor, column-major */
    if (!r)
        return -1;
    long count = 0;
    size_t used = 0;
    if (msg_size)
        msg[0] = '\0';
    for (size_t j = 0; j < p; j++) {
        double diag = xtx[j * p + j];
        double rest = diag;
        for (size_t k = 0; k < j; k++) {
            if (aliased[k])
                continue;
            double s = xtx[j * p + k]; /* upper triangle: row k, column j */
            for (size_t i = 0; i < k; i++)
                if (!aliased[i])
                    s -= r[k * p + i] * r[j * p + i];
            r[j * p + k] = s / r[k * p + k];
            rest -= r[j * p + k] * r[j * p + k];
        }
        aliased[j] = !(diag > 0) || !(rest > tol * tol * diag);
        if (aliased[j]) {
            count++;
            if (msg_size && used < msg_size)
                used += (size_t)snprintf(msg + used, msg_size - used, "%s%s",
                                         count == 1 ? "aliased: " : ", ", names ? names[j] : "?");
        } else {
            r[j * p + j] = sqrt(rest);
        }
    }
    free(r);
    return count;
}
