/*
 * clusters.c — per-cluster score sums (clusters.h).
 */
#include <stdlib.h>
#include <string.h>

#include "clusters.h"
#include "resample.h"

void lg_clusters_init(lg_clusters *c, size_t q)
{
    memset(c, 0, sizeof *c);
    c->q = q;
}

void lg_clusters_reset(lg_clusters *c)
{
    c->n = 0;
    if (c->slot)
        memset(c->slot, 0, c->n_slots * sizeof *c->slot);
}

void lg_clusters_free(lg_clusters *c)
{
    free(c->key);
    free(c->sum);
    free(c->slot);
    lg_clusters_init(c, c->q);
}

/* Index of the slot for `key`: where it is, or the empty one to take. */
static size_t find_slot(const lg_clusters *c, double key)
{
    size_t mask = c->n_slots - 1;
    size_t i = (size_t)cx_mix64(cx_value_key(key)) & mask;
    while (c->slot[i] && c->key[c->slot[i] - 1] != key)
        i = (i + 1) & mask;
    return i;
}

/* Room for one more cluster; the index is rebuilt in cluster order. */
static int grow(lg_clusters *c, cx_error *err)
{
    size_t q = c->q ? c->q : 1;
    if (c->n + 1 > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        double *k = realloc(c->key, cap * sizeof *k);
        if (k)
            c->key = k;
        double *s = realloc(c->sum, cap * q * sizeof *s);
        if (s)
            c->sum = s;
        if (!k || !s)
            return cx_error_set(err, CX_ENOMEM, "out of memory for the clusters");
        c->cap = cap;
    }
    if (2 * (c->n + 1) > c->n_slots) {
        size_t n = c->n_slots ? 2 * c->n_slots : 128;
        size_t *slot = calloc(n, sizeof *slot);
        if (!slot)
            return cx_error_set(err, CX_ENOMEM, "out of memory for the clusters");
        free(c->slot);
        c->slot = slot;
        c->n_slots = n;
        for (size_t j = 0; j < c->n; j++)
            c->slot[find_slot(c, c->key[j])] = j + 1;
    }
    return CX_OK;
}

double *lg_clusters_sums(lg_clusters *c, double key, cx_error *err)
{
    if (c->n_slots) {
        size_t i = find_slot(c, key);
        if (c->slot[i])
            return c->sum + (c->slot[i] - 1) * c->q;
    }
    if (grow(c, err) != CX_OK)
        return NULL;
    size_t j = c->n++;
    c->key[j] = key;
    memset(c->sum + j * c->q, 0, c->q * sizeof *c->sum);
    c->slot[find_slot(c, key)] = j + 1;
    return c->sum + j * c->q;
}

int lg_clusters_merge(lg_clusters *a, const lg_clusters *o, cx_error *err)
{
    for (size_t j = 0; j < o->n; j++) {
        double *s = lg_clusters_sums(a, o->key[j], err);
        if (!s)
            return CX_ENOMEM;
        for (size_t k = 0; k < a->q; k++)
            s[k] += o->sum[j * a->q + k];
    }
    return CX_OK;
}

void lg_clusters_meat(const lg_clusters *c, double *M)
{
    size_t q = c->q;
    memset(M, 0, q * q * sizeof *M);
    for (size_t j = 0; j < c->n; j++)
        for (size_t b = 0; b < q; b++)
            for (size_t a = 0; a < q; a++)
                M[b * q + a] += c->sum[j * q + a] * c->sum[j * q + b];
}
