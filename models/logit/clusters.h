/*
 * clusters.h — per-cluster sums of score vectors, for cluster-robust
 * (sandwich::vcovCL) standard errors from a streaming pass: clusters are
 * keyed by the cluster column's value, kept in first-seen order (so
 * merging in block order is deterministic) with an open-addressing index.
 */
#ifndef CX_LOGIT_CLUSTERS_H
#define CX_LOGIT_CLUSTERS_H

#include <stddef.h>

#include "cx_error.h"

typedef struct lg_clusters {
    size_t q;    /* length of each score sum                          */
    double *key; /* n keys, first-seen order                          */
    double *sum; /* n x q                                             */
    size_t n, cap;
    size_t *slot; /* n_slots: cluster index + 1, 0 = empty            */
    size_t n_slots;
} lg_clusters;

/* An empty set for score vectors of length q (no allocation yet). */
void lg_clusters_init(lg_clusters *c, size_t q);
void lg_clusters_reset(lg_clusters *c);
void lg_clusters_free(lg_clusters *c);
/* The q sums of cluster `key` (a new, zeroed one when unseen); NULL when
 * out of memory (err set). */
double *lg_clusters_sums(lg_clusters *c, double key, cx_error *err);
/* a += o, o's clusters in their order. */
int lg_clusters_merge(lg_clusters *a, const lg_clusters *o, cx_error *err);
/* M (q x q, column-major, full) = sum over clusters of s s'. */
void lg_clusters_meat(const lg_clusters *c, double *M);

#endif
