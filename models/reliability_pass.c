/*
 * reliability_pass.c — the one streamed pass of `model = reliability`.
 *
 * A reducer (engine/reducer.h) that, for every block, builds each
 * scale's keyed columns — the items reverse-keyed as asked, the scale
 * score (the mean of the present items, psych's rowMeans(na.rm = TRUE))
 * and, pairwise, that score where item i is present — and hands them to
 * the engine's moments reducer, one per scale (and one more per scale
 * for the bootstrap replicates).  Levels, replicate weights and the
 * block-order merge are the engine's.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "reducer.h"
#include "reliability_internal.h"

typedef struct scale_plan {
    const rel_scale *sc;
    size_t *at;     /* block column of each item               */
    size_t width;   /* keyed columns built (+ weight, cluster) */
    cx_moments_params main, boot;
} scale_plan;

typedef struct pass_params {
    size_t n;
    scale_plan *plan;
    int instrument;          /* moments of every scale's keyed items too */
    cx_moments_params ind;   /* a cfa_job's indicators (ind.p = 0: none) */
    cx_moments_params ind_boot; /* their bootstrap replicates            */
    size_t n_all;            /* their number                              */
    cx_moments_params all;
    int bootstrap;
    long cluster_at; /* block column of bootstrap_cluster, -1 */
    long weight_at;  /* block column of `weights`, -1          */
} pass_params;

typedef struct pass_acc {
    const pass_params *par;
    void **main, **boot; /* inner moments accumulators per scale */
    void *all;           /* the instrument's (every keyed item)  */
    void *ind;           /* the cfa_job's indicators, as read     */
    void *ind_boot;      /* their replicates (with `bootstrap`)   */
    double *buf;         /* one scale's keyed block              */
    size_t buf_cap;
    double *all_buf; /* every scale's keyed items             */
    size_t all_cap;
} pass_acc;

struct rel_pass {
    pass_params par;
    int *cols;
    cx_reducer r;
};

static void acc_free(void *vacc)
{
    pass_acc *a = vacc;
    if (!a)
        return;
    for (size_t i = 0; i < a->par->n; i++) {
        if (a->main)
            cx_reducer_moments.free(a->main[i]);
        if (a->boot)
            cx_reducer_moments.free(a->boot[i]);
    }
    if (a->all)
        cx_reducer_moments.free(a->all);
    if (a->ind)
        cx_reducer_moments.free(a->ind);
    if (a->ind_boot)
        cx_reducer_moments.free(a->ind_boot);
    free(a->main), free(a->boot), free(a->buf), free(a->all_buf), free(a);
}

static void *acc_alloc(const void *params, cx_error *err)
{
    const pass_params *par = params;
    pass_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->main = cx_calloc(par->n, sizeof *a->main, err);
    a->boot = cx_calloc(par->n, sizeof *a->boot, err);
    int ok = a->main && a->boot;
    for (size_t i = 0; ok && i < par->n; i++) {
        ok = (a->main[i] = cx_reducer_moments.alloc(&par->plan[i].main, err)) != NULL;
        if (ok && par->bootstrap)
            ok = (a->boot[i] = cx_reducer_moments.alloc(&par->plan[i].boot, err)) != NULL;
    }
    if (ok && par->instrument)
        ok = (a->all = cx_reducer_moments.alloc(&par->all, err)) != NULL;
    if (ok && par->ind.p)
        ok = (a->ind = cx_reducer_moments.alloc(&par->ind, err)) != NULL;
    if (ok && par->ind.p && par->bootstrap)
        ok = (a->ind_boot = cx_reducer_moments.alloc(&par->ind_boot, err)) != NULL;
    if (!ok) {
        acc_free(a);
        return NULL;
    }
    return a;
}

static void acc_reset(void *vacc)
{
    pass_acc *a = vacc;
    for (size_t i = 0; i < a->par->n; i++) {
        cx_reducer_moments.reset(a->main[i]);
        if (a->boot[i])
            cx_reducer_moments.reset(a->boot[i]);
    }
    if (a->all)
        cx_reducer_moments.reset(a->all);
    if (a->ind)
        cx_reducer_moments.reset(a->ind);
    if (a->ind_boot)
        cx_reducer_moments.reset(a->ind_boot);
}

/* Scale pl's keyed columns of block b into buf (leading dimension b->ld),
 * then the weight and the cluster column when the pass has them (the
 * moments reducer reads them at main.weight_at / boot.cluster_at). */
static void build_keyed(const scale_plan *pl, const cx_block *b, long weight_at, long cluster_at,
                        double *buf)
{
    const rel_scale *sc = pl->sc;
    size_t k = sc->k, ld = b->ld;
    int pairwise = pl->main.mode == CX_MISSING_PAIRWISE;
    for (size_t j = 0; j < k; j++) {
        const double *x = b->data + pl->at[j] * ld;
        double *y = buf + j * ld;
        if (sc->reverse[j]) {
            double c = sc->lo[j] + sc->hi[j];
            for (size_t i = 0; i < b->n; i++)
                y[i] = c - x[i];
        } else {
            memcpy(y, x, b->n * sizeof *y);
        }
    }
    double *total = buf + k * ld;
    for (size_t i = 0; i < b->n; i++) {
        double sum = 0, count = 0;
        for (size_t j = 0; j < k; j++)
            if (!isnan(buf[j * ld + i])) {
                sum += buf[j * ld + i];
                count++;
            }
        total[i] = count > 0 ? sum / count : NAN;
    }
    for (size_t j = 0; pairwise && j < k; j++)
        for (size_t i = 0; i < b->n; i++)
            buf[(k + 1 + j) * ld + i] = isnan(buf[j * ld + i]) ? NAN : total[i];
    if (weight_at >= 0)
        memcpy(buf + (size_t)pl->main.weight_at * ld, b->data + (size_t)weight_at * ld,
               b->n * sizeof *buf);
    if (cluster_at >= 0)
        memcpy(buf + (pl->width - 1) * ld, b->data + (size_t)cluster_at * ld,
               b->n * sizeof *buf);
}

/* Room for n doubles in *buf. */
static int ensure(double **buf, size_t *cap, size_t n, cx_error *err)
{
    if (n <= *cap)
        return CX_OK;
    double *grown = realloc(*buf, n * sizeof *grown);
    if (!grown)
        return cx_error_set(err, CX_ENOMEM, "out of memory in the reliability pass");
    *buf = grown;
    *cap = n;
    return CX_OK;
}

static int acc_add(void *vacc, const cx_block *b, cx_error *err)
{
    pass_acc *a = vacc;
    const pass_params *par = a->par;
    size_t all_width = par->n_all + (par->weight_at >= 0);
    if (par->instrument && ensure(&a->all_buf, &a->all_cap, all_width * b->ld, err))
        return err->code;
    size_t at = 0;
    for (size_t s = 0; s < par->n; s++) {
        const scale_plan *pl = &par->plan[s];
        if (ensure(&a->buf, &a->buf_cap, pl->width * b->ld, err))
            return err->code;
        build_keyed(pl, b, par->weight_at, par->bootstrap ? par->cluster_at : -1, a->buf);
        if (par->instrument) {
            memcpy(a->all_buf + at * b->ld, a->buf, pl->sc->k * b->ld * sizeof *a->buf);
            at += pl->sc->k;
        }
        cx_block kb = *b;
        kb.data = a->buf;
        int rc = cx_reducer_moments.add_block(a->main[s], &kb, err);
        if (rc == CX_OK && a->boot[s])
            rc = cx_reducer_moments.add_block(a->boot[s], &kb, err);
        if (rc != CX_OK)
            return rc;
    }
    if (a->ind && cx_reducer_moments.add_block(a->ind, b, err))
        return err->code;
    if (a->ind_boot && cx_reducer_moments.add_block(a->ind_boot, b, err))
        return err->code;
    if (par->instrument) {
        if (par->weight_at >= 0)
            memcpy(a->all_buf + par->n_all * b->ld, b->data + (size_t)par->weight_at * b->ld,
                   b->n * sizeof *a->all_buf);
        cx_block kb = *b;
        kb.data = a->all_buf;
        return cx_reducer_moments.add_block(a->all, &kb, err);
    }
    return CX_OK;
}

static void acc_merge(void *vacc, const void *vother)
{
    pass_acc *a = vacc;
    const pass_acc *o = vother;
    for (size_t i = 0; i < a->par->n; i++) {
        cx_reducer_moments.merge(a->main[i], o->main[i]);
        if (a->boot[i])
            cx_reducer_moments.merge(a->boot[i], o->boot[i]);
    }
    if (a->all)
        cx_reducer_moments.merge(a->all, o->all);
    if (a->ind)
        cx_reducer_moments.merge(a->ind, o->ind);
    if (a->ind_boot)
        cx_reducer_moments.merge(a->ind_boot, o->ind_boot);
}

static const cx_reducer_type pass_reducer = {"reliability", acc_alloc, acc_reset, acc_add,
                                             acc_merge,     NULL,      acc_free};

/* MPI row splitting (engine/dist.h): the pass's moments accumulators in
 * a fixed order (scales' main, their replicates, the instrument, the
 * indicators, their replicates), each as its byte count then the moments
 * reducer's own packing. */
static size_t part_count(const pass_acc *a)
{
    return 2 * a->par->n + 3;
}

static void *part_of(const pass_acc *a, size_t k)
{
    size_t n = a->par->n;
    if (k < n)
        return a->main[k];
    if (k < 2 * n)
        return a->boot[k - n];
    return k == 2 * n ? a->all : k == 2 * n + 1 ? a->ind : a->ind_boot;
}

static size_t acc_pack(const void *vacc, void *vbuf)
{
    const pass_acc *a = vacc;
    const cx_pack_ops *ops = cx_pack_find(&cx_reducer_moments);
    unsigned char *buf = vbuf;
    size_t at = 0;
    for (size_t k = 0; k < part_count(a); k++) {
        const void *m = part_of(a, k);
        uint64_t bytes = m ? ops->pack(m, NULL) : 0;
        if (buf) {
            memcpy(buf + at, &bytes, sizeof bytes);
            if (m)
                ops->pack(m, buf + at + sizeof bytes);
        }
        at += sizeof bytes + (size_t)bytes;
    }
    return at;
}

static int acc_unpack(void *vacc, const void *vbuf, size_t size, cx_error *err)
{
    pass_acc *a = vacc;
    const cx_pack_ops *ops = cx_pack_find(&cx_reducer_moments);
    const unsigned char *buf = vbuf;
    size_t at = 0;
    for (size_t k = 0; k < part_count(a); k++) {
        uint64_t bytes;
        if (size - at < sizeof bytes)
            return cx_error_set(err, CX_EFAIL, "reliability: a packed total is too short");
        memcpy(&bytes, buf + at, sizeof bytes);
        at += sizeof bytes;
        void *m = part_of(a, k);
        if (bytes > size - at || (bytes && !m))
            return cx_error_set(err, CX_EFAIL, "reliability: a packed total has the wrong size");
        int rc = m ? ops->unpack(m, buf + at, (size_t)bytes, err) : CX_OK;
        if (rc != CX_OK)
            return rc;
        at += (size_t)bytes;
    }
    return at == size ? CX_OK
                      : cx_error_set(err, CX_EFAIL, "reliability: a packed total is too long");
}

static const cx_pack_ops pass_pack_ops = {acc_pack, acc_unpack, NULL};

void rel_pass_free(rel_pass *p)
{
    if (!p)
        return;
    cx_reducer_release(&p->r);
    for (size_t i = 0; p->par.plan && i < p->par.n; i++)
        free(p->par.plan[i].at);
    free(p->par.plan), free(p->cols), free(p);
}

/* The pass's columns: every distinct item, bootstrap_cluster, then the
 * cfa_job's indicators (contiguous, as the moments reducer reads them). */
static int plan_columns(const cx_job *job, const rel_scales *s, const int *ind, size_t n_ind,
                        rel_pass *p, size_t *ncols, cx_error *err)
{
    size_t cap = 2 + n_ind;
    for (size_t i = 0; i < s->n; i++)
        cap += s->scale[i].k;
    p->cols = cx_calloc(cap, sizeof *p->cols, err);
    if (!p->cols)
        return CX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        scale_plan *pl = &p->par.plan[i];
        pl->sc = &s->scale[i];
        if (!(pl->at = cx_calloc(pl->sc->k, sizeof *pl->at, err)))
            return CX_ENOMEM;
        for (size_t j = 0; j < pl->sc->k; j++) {
            size_t c = 0;
            while (c < n && p->cols[c] != pl->sc->col[j])
                c++;
            if (c == n)
                p->cols[n++] = pl->sc->col[j];
            pl->at[j] = c;
        }
    }
    p->par.weight_at = -1;
    if (job->weight_col >= 0) {
        p->par.weight_at = (long)n;
        p->cols[n++] = job->weight_col;
    }
    p->par.cluster_at = -1;
    if (job->bootstrap > 0 && job->bootstrap_cluster >= 0) {
        p->par.cluster_at = (long)n;
        p->cols[n++] = job->bootstrap_cluster;
    }
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    p->par.ind = (cx_moments_params){.p = n_ind,
                                     .col0 = n,
                                     .weight_at = -1,
                                     .mode = CX_MISSING_LISTWISE,
                                     .n_levels = n_levels,
                                     .split = CX_SPLIT_NONE,
                                     .n_slots = 1,
                                     .cluster_at = -1};
    p->par.ind_boot = p->par.ind;
    p->par.ind_boot.split = CX_SPLIT_BOOTSTRAP;
    p->par.ind_boot.n_slots = job->bootstrap > 0 ? (size_t)job->bootstrap : 1;
    p->par.ind_boot.seed = job->seed;
    p->par.ind_boot.cluster_at = p->par.cluster_at;
    for (size_t i = 0; i < n_ind; i++)
        p->cols[n++] = ind[i];
    *ncols = n;
    return CX_OK;
}

/* Omega hierarchical needs the covariances across scales: with two or
 * more scales, listwise, and no item in two scales. */
static void plan_instrument(const cx_job *job, const rel_scales *s, pass_params *par,
                            size_t n_levels)
{
    size_t n_all = 0;
    for (size_t i = 0; i < s->n; i++)
        n_all += s->scale[i].k;
    int distinct = 1;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            for (size_t i2 = i + 1; i2 < s->n; i2++)
                for (size_t j2 = 0; j2 < s->scale[i2].k; j2++)
                    distinct &= s->scale[i].col[j] != s->scale[i2].col[j2];
    par->instrument = s->n >= 2 && distinct && job->missing == CX_MISSING_LISTWISE;
    par->n_all = n_all;
    par->all = (cx_moments_params){.p = n_all,
                                   .weight_at = par->weight_at >= 0 ? (long)n_all : -1,
                                   .mode = CX_MISSING_LISTWISE,
                                   .n_levels = n_levels,
                                   .split = CX_SPLIT_NONE,
                                   .n_slots = 1,
                                   .cluster_at = -1};
}

int rel_pass_run(const cx_job *job, const rel_scales *s, const int *ind, size_t n_ind,
                 rel_pass **out, cx_error *err)
{
    *out = NULL;
    rel_pass *p = cx_calloc(1, sizeof *p, err);
    if (!p)
        return CX_ENOMEM;
    p->par.n = s->n;
    p->par.bootstrap = job->bootstrap > 0;
    p->par.plan = cx_calloc(s->n ? s->n : 1, sizeof *p->par.plan, err);
    size_t ncols = 0;
    int rc = p->par.plan ? plan_columns(job, s, ind, n_ind, p, &ncols, err) : CX_ENOMEM;
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    for (size_t i = 0; rc == CX_OK && i < s->n; i++) {
        scale_plan *pl = &p->par.plan[i];
        size_t k = pl->sc->k;
        size_t p_main = job->missing == CX_MISSING_PAIRWISE ? 2 * k + 1 : k + 1;
        int clustered = p->par.bootstrap && p->par.cluster_at >= 0;
        int weighted = p->par.weight_at >= 0;
        pl->width = p_main + (size_t)weighted + (size_t)clustered;
        pl->main = (cx_moments_params){.p = p_main,
                                       .weight_at = weighted ? (long)p_main : -1,
                                       .mode = job->missing,
                                       .n_levels = n_levels,
                                       .split = CX_SPLIT_NONE,
                                       .n_slots = 1,
                                       .cluster_at = -1};
        pl->boot =
            (cx_moments_params){.p = k,
                                .weight_at = pl->main.weight_at,
                                .mode = CX_MISSING_LISTWISE,
                                .n_levels = n_levels,
                                .split = CX_SPLIT_BOOTSTRAP,
                                .n_slots = p->par.bootstrap ? (size_t)job->bootstrap : 1,
                                .seed = job->seed,
                                .cluster_at = clustered ? (long)(p_main + (size_t)weighted) : -1};
    }
    if (rc == CX_OK)
        plan_instrument(job, s, &p->par, n_levels);
    if (rc == CX_OK) {
        p->r = (cx_reducer){&pass_reducer, &p->par, NULL};
        cx_pack_register(&pass_reducer, &pass_pack_ops);
        rc = cx_reduce_view(job->view, p->cols, ncols, &p->r, 1, job->threads, err);
    }
    if (rc != CX_OK) {
        rel_pass_free(p);
        return rc;
    }
    *out = p;
    return CX_OK;
}

const void *rel_pass_main(const rel_pass *p, size_t scale)
{
    return ((const pass_acc *)p->r.acc)->main[scale];
}

const void *rel_pass_indicators(const rel_pass *p)
{
    return ((const pass_acc *)p->r.acc)->ind;
}

const void *rel_pass_indicators_boot(const rel_pass *p)
{
    return ((const pass_acc *)p->r.acc)->ind_boot;
}

const void *rel_pass_instrument(const rel_pass *p)
{
    return ((const pass_acc *)p->r.acc)->all;
}

const void *rel_pass_boot(const rel_pass *p, size_t scale)
{
    return ((const pass_acc *)p->r.acc)->boot[scale];
}
