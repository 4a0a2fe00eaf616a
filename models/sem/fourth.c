/*
 * fourth.c — see fourth.h.
 */
#include "fourth.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "estimate.h"

#define SEM_FOURTH_CHUNK 256 /* rows of z per DSYRK: bounds the scratch for large p */

int sem_fourth_ws_init(sem_fourth_ws *ws, size_t p, cx_error *err)
{
    ws->p = p;
    ws->ps = sem_pstar(p);
    ws->fill = 0;
    ws->z = cx_malloc(sizeof(double) * SEM_FOURTH_CHUNK * ws->ps, err);
    ws->d = cx_malloc(sizeof(double) * (p ? p : 1), err);
    return ws->z && ws->d ? CX_OK : CX_ENOMEM;
}

void sem_fourth_ws_free(sem_fourth_ws *ws)
{
    free(ws->z);
    free(ws->d);
    ws->z = ws->d = NULL;
}

/* acc (ps x ps, lower) += z' z of the rows in ws->z. */
static void fourth_flush(sem_fourth_ws *ws, double *acc)
{
    if (ws->fill)
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)ws->ps, (int)ws->fill, 1.0, ws->z,
                    SEM_FOURTH_CHUNK, 1.0, acc, (int)ws->ps);
    ws->fill = 0;
}

/* z = [d ; vech(d d')] of one row, d = x - mean (sem_vech_index order). */
static void fourth_row(sem_fourth_ws *ws, const double *d)
{
    size_t p = ws->p, r = ws->fill++;
    for (size_t a = 0; a < p; a++) {
        ws->z[a * SEM_FOURTH_CHUNK + r] = d[a];
        for (size_t b = a; b < p; b++)
            ws->z[sem_vech_index(p, a, b) * SEM_FOURTH_CHUNK + r] = d[a] * d[b];
    }
}

void sem_fourth_block(sem_fourth_ws *ws, const double *block, size_t stride, long got,
                      const size_t *levels, size_t level, const double *mean, double *acc,
                      double *count)
{
    size_t p = ws->p;
    double *d = ws->d;
    for (long i = 0; i < got; i++) {
        if (levels[i] != level)
            continue;
        int ok = 1;
        for (size_t a = 0; a < p && ok; a++) {
            d[a] = block[a * stride + (size_t)i] - mean[a];
            ok = !isnan(d[a]);
        }
        if (!ok) /* listwise, as the moments */
            continue;
        fourth_row(ws, d);
        *count += 1.0;
        if (ws->fill == SEM_FOURTH_CHUNK)
            fourth_flush(ws, acc);
    }
    fourth_flush(ws, acc);
}

void sem_fourth_finish(double *m, size_t ps, double count)
{
    for (size_t a = 0; a < ps; a++) /* column-major lower = row-major upper */
        for (size_t b = a; b < ps; b++)
            m[a * ps + b] = m[b * ps + a] = m[b + a * ps] / count;
}
