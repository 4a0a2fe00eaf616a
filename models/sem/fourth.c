/*
 * fourth.c — see fourth.h.
 */
#include "fourth.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
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

/* The weighted row: first += w^k z, then z scaled by w^(k/2) in place so
 * that DSYRK sums w^k z z'. */
static void fourth_weigh_row(sem_fourth_ws *ws, const sem_fourth_weights *wt, double w)
{
    size_t r = ws->fill - 1;
    double wk = wt->power == 2.0 ? w * w : pow(w, wt->power);
    double root = wt->power == 2.0 ? w : sqrt(wk);
    *wt->sw += wk;
    for (size_t c = 0; c < ws->ps; c++) {
        double *z = &ws->z[c * SEM_FOURTH_CHUNK + r];
        wt->first[c] += wk * *z;
        *z *= root;
    }
}

void sem_fourth_block_weighted(sem_fourth_ws *ws, const double *block, size_t stride, long got,
                               const size_t *levels, size_t level, const double *mean,
                               const sem_fourth_weights *wt, double *acc, double *count)
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
        if (ok && wt && wt->w) /* a missing weight drops the row, as the moments */
            ok = !isnan(wt->w[i]);
        if (!ok) /* listwise, as the moments */
            continue;
        fourth_row(ws, d);
        if (wt && wt->w)
            fourth_weigh_row(ws, wt, wt->w[i]);
        *count += 1.0;
        if (ws->fill == SEM_FOURTH_CHUNK)
            fourth_flush(ws, acc);
    }
    fourth_flush(ws, acc);
}

void sem_fourth_block(sem_fourth_ws *ws, const double *block, size_t stride, long got,
                      const size_t *levels, size_t level, const double *mean, double *acc,
                      double *count)
{
    sem_fourth_block_weighted(ws, block, stride, got, levels, level, mean, NULL, acc, count);
}

void sem_fourth_finish(double *m, size_t ps, double count)
{
    for (size_t a = 0; a < ps; a++) /* column-major lower = row-major upper */
        for (size_t b = a; b < ps; b++)
            m[a * ps + b] = m[b * ps + a] = m[b + a * ps] / count;
}

/* ---- the reducer ------------------------------------------------------- */

typedef struct fourth_acc {
    const sem_fourth_params *par;
    size_t ps;
    double **acc;  /* per level, ps x ps, allocated on first use */
    double *count; /* per level */
    double *first; /* weighted: per level, ps sums of w^k z, then sum w^k */
    unsigned char *touched;
    sem_fourth_ws ws; /* thread scratch (z == NULL until the first block) */
} fourth_acc;

static void fourth_free(void *vacc)
{
    fourth_acc *f = vacc;
    if (!f)
        return;
    for (size_t l = 0; f->acc && l < f->par->n_levels; l++)
        free(f->acc[l]);
    free(f->acc);
    free(f->count);
    free(f->first);
    free(f->touched);
    sem_fourth_ws_free(&f->ws);
    free(f);
}

static void *fourth_alloc(const void *params, cx_error *err)
{
    const sem_fourth_params *par = params;
    fourth_acc *f = cx_calloc(1, sizeof *f, err);
    if (!f)
        return NULL;
    f->par = par;
    f->ps = sem_pstar(par->p);
    f->acc = cx_calloc(par->n_levels, sizeof *f->acc, err);
    f->count = cx_calloc(par->n_levels, sizeof *f->count, err);
    f->touched = cx_calloc(par->n_levels, 1, err);
    if (par->power > 0)
        f->first = cx_calloc(par->n_levels * (f->ps + 1), sizeof *f->first, err);
    if (!f->acc || !f->count || !f->touched || (par->power > 0 && !f->first)) {
        fourth_free(f);
        return NULL;
    }
    return f;
}

static void fourth_reset(void *vacc)
{
    fourth_acc *f = vacc;
    for (size_t l = 0; l < f->par->n_levels; l++)
        if (f->touched[l]) {
            memset(f->acc[l], 0, f->ps * f->ps * sizeof(double));
            if (f->first)
                memset(f->first + l * (f->ps + 1), 0, (f->ps + 1) * sizeof(double));
            f->count[l] = 0;
            f->touched[l] = 0;
        }
}

static double *level_acc(fourth_acc *f, size_t l, cx_error *err)
{
    if (!f->acc[l])
        f->acc[l] = cx_calloc(f->ps * f->ps, sizeof(double), err);
    if (f->acc[l])
        f->touched[l] = 1;
    return f->acc[l];
}

static int fourth_add(void *vacc, const cx_block *b, cx_error *err)
{
    fourth_acc *f = vacc;
    const sem_fourth_params *par = f->par;
    if (!f->ws.z && sem_fourth_ws_init(&f->ws, par->p, err) != CX_OK)
        return CX_ENOMEM;
    for (size_t l = 0; l < b->n_levels && l < par->n_levels; l++) {
        size_t s0 = b->start[l], n = b->start[l + 1] - s0;
        if (n == 0)
            continue;
        double *acc = level_acc(f, l, err);
        if (!acc)
            return CX_ENOMEM;
        sem_fourth_weights wt = {0}, *pw = NULL;
        if (f->first) {
            double *first = f->first + l * (f->ps + 1);
            wt = (sem_fourth_weights){b->data + par->weight_at * b->ld + s0, par->power, first,
                                      first + f->ps};
            pw = &wt;
        }
        sem_fourth_block_weighted(&f->ws, b->data + s0, b->ld, (long)n, b->level + s0, l,
                                  par->means + l * par->p, pw, acc, &f->count[l]);
    }
    return CX_OK;
}

static void fourth_merge(void *vacc, const void *vother)
{
    fourth_acc *f = vacc;
    const fourth_acc *o = vother;
    for (size_t l = 0; l < f->par->n_levels; l++) {
        if (!o->touched[l])
            continue;
        double *acc = level_acc(f, l, NULL);
        if (!acc)
            continue;
        for (size_t i = 0; i < f->ps * f->ps; i++)
            acc[i] += o->acc[l][i];
        for (size_t i = 0; f->first && i <= f->ps; i++)
            f->first[l * (f->ps + 1) + i] += o->first[l * (f->ps + 1) + i];
        f->count[l] += o->count[l];
    }
}

const cx_reducer_type sem_reducer_fourth = {"sem_fourth", fourth_alloc, fourth_reset, fourth_add,
                                            fourth_merge, NULL,         fourth_free};

/* MPI row splitting (engine/dist.h): per level, touched; if so its count,
 * the ps x ps sums and (weighted) the ps + 1 first sums. */
static size_t fourth_pack(const void *vacc, void *vbuf)
{
    const fourth_acc *f = vacc;
    double *buf = vbuf;
    size_t at = 0, ps = f->ps;
    for (size_t l = 0; l < f->par->n_levels; l++) {
        int on = f->touched[l] && f->acc[l];
        if (buf)
            buf[at] = on;
        at++;
        if (!on)
            continue;
        if (buf) {
            buf[at] = f->count[l];
            memcpy(buf + at + 1, f->acc[l], ps * ps * sizeof *buf);
            if (f->first)
                memcpy(buf + at + 1 + ps * ps, f->first + l * (ps + 1), (ps + 1) * sizeof *buf);
        }
        at += 1 + ps * ps + (f->first ? ps + 1 : 0);
    }
    return at * sizeof(double);
}

static int fourth_unpack(void *vacc, const void *vbuf, size_t size, cx_error *err)
{
    fourth_acc *f = vacc;
    const double *buf = vbuf;
    size_t at = 0, ps = f->ps, n = size / sizeof *buf;
    size_t level_size = 1 + ps * ps + (f->first ? ps + 1 : 0);
    for (size_t l = 0; l < f->par->n_levels; l++) {
        if (at >= n)
            return cx_error_set(err, CX_EFAIL, "fourth moments: a packed total is too short");
        if (buf[at++] == 0)
            continue;
        if (at + level_size > n)
            return cx_error_set(err, CX_EFAIL, "fourth moments: a packed total is too short");
        double *acc = level_acc(f, l, err);
        if (!acc)
            return CX_ENOMEM;
        f->count[l] = buf[at];
        memcpy(acc, buf + at + 1, ps * ps * sizeof *acc);
        if (f->first)
            memcpy(f->first + l * (ps + 1), buf + at + 1 + ps * ps, (ps + 1) * sizeof *buf);
        at += level_size;
    }
    return at == n ? CX_OK
                   : cx_error_set(err, CX_EFAIL, "fourth moments: a packed total is too long");
}

static const cx_pack_ops fourth_pack_ops = {fourth_pack, fourth_unpack, NULL};

void sem_fourth_pack_register(void)
{
    cx_pack_register(&sem_reducer_fourth, &fourth_pack_ops);
}

double sem_fourth_result(const void *vacc, size_t level, double *m)
{
    const fourth_acc *f = vacc;
    size_t ps = f->ps;
    if (f->acc[level])
        memcpy(m, f->acc[level], ps * ps * sizeof *m);
    else
        memset(m, 0, ps * ps * sizeof *m);
    sem_fourth_finish(m, ps, f->count[level]);
    return f->count[level];
}

double sem_fourth_result_weighted(const void *vacc, size_t level, double divisor, double *m,
                                  double *first, double *w2)
{
    const fourth_acc *f = vacc;
    size_t ps = f->ps;
    if (f->acc[level])
        memcpy(m, f->acc[level], ps * ps * sizeof *m);
    else
        memset(m, 0, ps * ps * sizeof *m);
    sem_fourth_finish(m, ps, divisor);
    const double *s = f->first ? f->first + level * (ps + 1) : NULL;
    for (size_t c = 0; c < ps; c++)
        first[c] = s ? s[c] / divisor : 0.0;
    *w2 = s ? s[ps] / divisor : 0.0;
    return f->count[level];
}
