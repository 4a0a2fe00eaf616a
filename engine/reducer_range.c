/*
 * reducer_range.c — the observed range (minimum and maximum of the
 * present values) of each column of a pass, over all of its rows whatever
 * their level: what reverse keying on an item's observed range needs
 * (engine/scores.h's rule; models/reliability_scales.c).  A reducer like
 * the others of reducer.h, so the block loop, the threads and the
 * block-order merge are the engine's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "reducer.h"

typedef struct range_acc {
    size_t p;
    double *lo, *hi; /* +inf / -inf while a column has no value */
} range_acc;

static void range_free(void *vacc)
{
    range_acc *a = vacc;
    if (a)
        free(a->lo);
    free(a);
}

static void range_reset(void *vacc)
{
    range_acc *a = vacc;
    for (size_t j = 0; j < a->p; j++) {
        a->lo[j] = INFINITY;
        a->hi[j] = -INFINITY;
    }
}

static void *range_alloc(const void *params, cx_error *err)
{
    const cx_range_params *par = params;
    range_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->p = par->p;
    a->lo = cx_malloc(2 * (par->p ? par->p : 1) * sizeof *a->lo, err);
    if (!a->lo) {
        free(a);
        return NULL;
    }
    a->hi = a->lo + par->p;
    range_reset(a);
    return a;
}

static int range_add(void *vacc, const cx_block *b, cx_error *err)
{
    (void)err;
    range_acc *a = vacc;
    for (size_t j = 0; j < a->p; j++) {
        const double *x = b->data + j * b->ld;
        double lo = a->lo[j], hi = a->hi[j];
        for (size_t i = 0; i < b->n; i++)
            if (!isnan(x[i])) {
                lo = x[i] < lo ? x[i] : lo;
                hi = x[i] > hi ? x[i] : hi;
            }
        a->lo[j] = lo;
        a->hi[j] = hi;
    }
    return CX_OK;
}

static void range_merge(void *vacc, const void *vother)
{
    range_acc *a = vacc;
    const range_acc *o = vother;
    for (size_t j = 0; j < a->p; j++) {
        a->lo[j] = o->lo[j] < a->lo[j] ? o->lo[j] : a->lo[j];
        a->hi[j] = o->hi[j] > a->hi[j] ? o->hi[j] : a->hi[j];
    }
}

const cx_reducer_type cx_reducer_range = {"range",     range_alloc, range_reset, range_add,
                                          range_merge, NULL,        range_free};

void cx_range_of(const void *acc, size_t j, double *lo, double *hi)
{
    const range_acc *a = acc;
    *lo = a->lo[j];
    *hi = a->hi[j];
}

/* MPI row splitting (dist.h): the minima then the maxima. */
static size_t range_pack(const void *vacc, void *buf)
{
    const range_acc *a = vacc;
    if (buf)
        memcpy(buf, a->lo, 2 * a->p * sizeof *a->lo);
    return 2 * a->p * sizeof *a->lo;
}

static int range_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    range_acc *a = vacc;
    if (size != 2 * a->p * sizeof *a->lo)
        return cx_error_set(err, CX_EFAIL, "range: a packed total has the wrong size");
    memcpy(a->lo, buf, size);
    return CX_OK;
}

const cx_pack_ops cx_range_pack_ops = {range_pack, range_unpack, NULL};
