/*
 * logit_pack.c — the binary logit's pass accumulator as flat doubles, so
 * that under `mpirun` the ranks' shares of a pass's rows can be combined
 * (engine/dist.h): the sums (log-likelihood, score, information, meat),
 * then the final pass's predictions in table order and cluster score sums
 * in first-seen order.  Unpacking then merging in rank order is the merge
 * the rows of one process would have seen.
 */
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "logit_pass.h"

/* Sums first: ll, ll_sat, sum_w, sum_wy, nobs, n_extreme, has_meat, n_pred,
 * n_clusters; grad q; info q x q; meat q x q (if any); pred, y, w n_pred
 * each; clusters: key, then q sums, each. */
#define HEAD 9

static size_t pack(const void *vacc, void *vbuf)
{
    const logit_acc *a = vacc;
    double *buf = vbuf;
    size_t q = a->q, nc = a->clusters.n;
    size_t n = HEAD + q + q * q + (a->meat ? q * q : 0) + 3 * a->n_pred + nc * (1 + q);
    if (!buf)
        return n * sizeof *buf;
    double head[HEAD] = {a->ll,           a->ll_sat,         a->sum_w,
                         a->sum_wy,       a->nobs,           (double)a->n_extreme,
                         a->meat != NULL, (double)a->n_pred, (double)nc};
    memcpy(buf, head, sizeof head);
    double *at = buf + HEAD;
    memcpy(at, a->grad, q * sizeof *at);
    at += q;
    memcpy(at, a->info, q * q * sizeof *at);
    at += q * q;
    if (a->meat) {
        memcpy(at, a->meat, q * q * sizeof *at);
        at += q * q;
    }
    if (a->n_pred) { /* NULL arrays before the first prediction */
        memcpy(at, a->pred, a->n_pred * sizeof *at);
        memcpy(at + a->n_pred, a->y, a->n_pred * sizeof *at);
        memcpy(at + 2 * a->n_pred, a->w, a->n_pred * sizeof *at);
    }
    at += 3 * a->n_pred;
    for (size_t c = 0; c < nc; c++) {
        *at++ = a->clusters.key[c];
        memcpy(at, a->clusters.sum + c * q, q * sizeof *at);
        at += q;
    }
    return n * sizeof *buf;
}

/* Arrays of at least one element even for a rank without predictions:
 * the pass's merge copies zero bytes from them, which must not be NULL. */
static int unpack_preds(logit_acc *a, const double *at, size_t n_pred, cx_error *err)
{
    if (!a->meat)
        return CX_OK; /* not a final pass: no predictions */
    size_t cap = n_pred ? n_pred : 1;
    free(a->pred);
    free(a->y);
    free(a->w);
    a->pred = malloc(cap * sizeof *a->pred);
    a->y = malloc(cap * sizeof *a->y);
    a->w = malloc(cap * sizeof *a->w);
    a->cap_pred = a->n_pred = 0;
    if (!a->pred || !a->y || !a->w)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory for the predictions");
    memcpy(a->pred, at, n_pred * sizeof *at);
    memcpy(a->y, at + n_pred, n_pred * sizeof *at);
    memcpy(a->w, at + 2 * n_pred, n_pred * sizeof *at);
    a->cap_pred = cap;
    a->n_pred = n_pred;
    return CX_OK;
}

static int unpack(void *vacc, const void *vbuf, size_t size, cx_error *err)
{
    logit_acc *a = vacc;
    const double *buf = vbuf;
    size_t q = a->q, n = size / sizeof *buf;
    if (n < HEAD)
        return cx_error_set(err, CX_EFAIL, "logit: a packed pass total is too short");
    int has_meat = buf[6] != 0;
    size_t n_pred = (size_t)buf[7], nc = (size_t)buf[8];
    if (has_meat != (a->meat != NULL) ||
        n != HEAD + q + q * q + (has_meat ? q * q : 0) + 3 * n_pred + nc * (1 + q))
        return cx_error_set(err, CX_EFAIL, "logit: a packed pass total has the wrong size");
    a->ll = buf[0];
    a->ll_sat = buf[1];
    a->sum_w = buf[2];
    a->sum_wy = buf[3];
    a->nobs = buf[4];
    a->n_extreme = (size_t)buf[5];
    const double *at = buf + HEAD;
    memcpy(a->grad, at, q * sizeof *at);
    at += q;
    memcpy(a->info, at, q * q * sizeof *at);
    at += q * q;
    if (a->meat) {
        memcpy(a->meat, at, q * q * sizeof *at);
        at += q * q;
    }
    int rc = unpack_preds(a, at, n_pred, err);
    at += 3 * n_pred;
    for (size_t c = 0; rc == CX_OK && c < nc; c++, at += 1 + q) {
        double *sums = lg_clusters_sums(&a->clusters, at[0], err);
        if (!sums)
            rc = err->code ? err->code : CX_ENOMEM;
        else
            memcpy(sums, at + 1, q * sizeof *at);
    }
    return rc;
}

static const cx_pack_ops logit_pack_ops = {pack, unpack, NULL};

void logit_pack_register(void)
{
    cx_pack_register(&logit_pass_type, &logit_pack_ops);
}

/* ---- ologit / mlogit: lg_newton_sums ------------------------------------ */

/* ll, sum_w, nobs, rows, hits, brier, has_meat, n_clusters; count K; grad
 * d; info d x d; meat d x d (final pass); clusters: key, then d sums,
 * each in first-seen order. */
#define SUMS_HEAD 8

size_t lg_sums_pack(const lg_newton_sums *s, void *vbuf)
{
    size_t K = s->K, d = s->d, nc = s->cluster ? s->clusters.n : 0;
    size_t n = SUMS_HEAD + K + d + d * d + (s->meat ? d * d : 0) + nc * (1 + d);
    double *buf = vbuf;
    if (!buf)
        return n * sizeof *buf;
    double head[SUMS_HEAD] = {s->ll,   s->sum_w, s->nobs,         s->rows,
                              s->hits, s->brier, s->meat != NULL, (double)nc};
    memcpy(buf, head, sizeof head);
    double *at = buf + SUMS_HEAD;
    memcpy(at, s->count, K * sizeof *at);
    at += K;
    memcpy(at, s->grad, d * sizeof *at);
    at += d;
    memcpy(at, s->info, d * d * sizeof *at);
    at += d * d;
    if (s->meat) {
        memcpy(at, s->meat, d * d * sizeof *at);
        at += d * d;
    }
    for (size_t c = 0; c < nc; c++) {
        *at++ = s->clusters.key[c];
        memcpy(at, s->clusters.sum + c * d, d * sizeof *at);
        at += d;
    }
    return n * sizeof *buf;
}

int lg_sums_unpack(lg_newton_sums *s, const void *vbuf, size_t size, cx_error *err)
{
    const double *buf = vbuf;
    size_t K = s->K, d = s->d, n = size / sizeof *buf;
    if (n < SUMS_HEAD)
        return cx_error_set(err, CX_EFAIL, "logit: a packed pass total is too short");
    int has_meat = buf[6] != 0;
    size_t nc = (size_t)buf[7];
    if (has_meat != (s->meat != NULL) || (nc && !s->cluster) ||
        n != SUMS_HEAD + K + d + d * d + (has_meat ? d * d : 0) + nc * (1 + d))
        return cx_error_set(err, CX_EFAIL, "logit: a packed pass total has the wrong size");
    s->ll = buf[0];
    s->sum_w = buf[1];
    s->nobs = buf[2];
    s->rows = buf[3];
    s->hits = buf[4];
    s->brier = buf[5];
    const double *at = buf + SUMS_HEAD;
    memcpy(s->count, at, K * sizeof *at);
    at += K;
    memcpy(s->grad, at, d * sizeof *at);
    at += d;
    memcpy(s->info, at, d * d * sizeof *at);
    at += d * d;
    if (s->meat) {
        memcpy(s->meat, at, d * d * sizeof *at);
        at += d * d;
    }
    for (size_t c = 0; c < nc; c++, at += 1 + d) {
        double *sums = lg_clusters_sums(&s->clusters, at[0], err);
        if (!sums)
            return err->code ? err->code : CX_ENOMEM;
        memcpy(sums, at + 1, d * sizeof *at);
    }
    return CX_OK;
}
