/*
 * fiml_data.c — the missing-pattern statistics of `missing = fiml` (see
 * fiml.h): the reducer of the one streaming pass, and per group the EM
 * estimate of the saturated model, its loglikelihood, the independence
 * model's and lavaan's coverage matrix.
 *
 * Per pass level a small open-addressing hash maps a row's pattern (one
 * byte per variable: observed or not) to its accumulator; the rows of a
 * pattern are summed by Welford's update (mean and cross-products about
 * the mean), and blocks are merged by Chan et al.'s pairwise formula in
 * block order, so the totals are the same for any number of threads.
 */
#include "fiml.h"

#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/filter_eval.h"
#include "../../engine/resample.h"

/* ---- one pattern's accumulator ---------------------------------------- */

typedef struct pat_acc {
    unsigned char *key; /* p bytes: 1 = observed                           */
    size_t po;
    size_t *idx;
    double n;
    double *mean; /* po */
    double *m2;   /* po x po, cross-products about the mean             */
} pat_acc;

typedef struct level_acc {
    size_t n_pat, cap;
    pat_acc **pat; /* in order of first appearance            */
    size_t *slot;  /* hash: pattern index + 1, 0 = empty      */
    size_t n_slot; /* a power of two, > 2 n_pat               */
} level_acc;

typedef struct patterns_acc {
    const sem_fiml_params *par;
    level_acc *lev;
    unsigned char *key; /* scratch: one row's pattern */
    double *x;          /* scratch: one row's observed values */
} patterns_acc;

static uint64_t key_hash(const unsigned char *key, size_t p)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < p; i++) {
        h ^= key[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void pat_free(pat_acc *a)
{
    if (!a)
        return;
    free(a->key);
    free(a->idx);
    free(a->mean);
    free(a->m2);
    free(a);
}

static pat_acc *pat_new(const unsigned char *key, size_t p, cx_error *err)
{
    pat_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    for (size_t i = 0; i < p; i++)
        a->po += key[i];
    a->key = cx_malloc(p ? p : 1, err);
    a->idx = cx_calloc(a->po ? a->po : 1, sizeof *a->idx, err);
    a->mean = cx_calloc(a->po ? a->po : 1, sizeof *a->mean, err);
    a->m2 = cx_calloc(a->po * a->po + 1, sizeof *a->m2, err);
    if (!a->key || !a->idx || !a->mean || !a->m2) {
        pat_free(a);
        return NULL;
    }
    memcpy(a->key, key, p);
    for (size_t i = 0, k = 0; i < p; i++)
        if (key[i])
            a->idx[k++] = i;
    return a;
}

static int level_grow(level_acc *L, size_t p, cx_error *err)
{
    size_t n_slot = L->n_slot ? 2 * L->n_slot : 64;
    size_t *slot = cx_calloc(n_slot, sizeof *slot, err);
    if (!slot)
        return CX_ENOMEM;
    for (size_t k = 0; k < L->n_pat; k++) {
        size_t h = (size_t)key_hash(L->pat[k]->key, p) & (n_slot - 1);
        while (slot[h])
            h = (h + 1) & (n_slot - 1);
        slot[h] = k + 1;
    }
    free(L->slot);
    L->slot = slot;
    L->n_slot = n_slot;
    return CX_OK;
}

/* The accumulator of `key` in level L, created on first sight. */
static pat_acc *level_find(level_acc *L, const unsigned char *key, size_t p, cx_error *err)
{
    if (2 * (L->n_pat + 1) > L->n_slot && level_grow(L, p, err) != CX_OK)
        return NULL;
    size_t h = (size_t)key_hash(key, p) & (L->n_slot - 1);
    while (L->slot[h]) {
        pat_acc *a = L->pat[L->slot[h] - 1];
        if (memcmp(a->key, key, p) == 0)
            return a;
        h = (h + 1) & (L->n_slot - 1);
    }
    if (L->n_pat == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 16;
        pat_acc **pat = realloc(L->pat, cap * sizeof *pat);
        if (!pat) {
            cx_error_set(err, CX_ENOMEM, "out of memory");
            return NULL;
        }
        L->pat = pat;
        L->cap = cap;
    }
    pat_acc *a = pat_new(key, p, err);
    if (!a)
        return NULL;
    L->pat[L->n_pat++] = a;
    L->slot[h] = L->n_pat;
    return a;
}

/* Welford: one row's observed values x (po), counted w times (a
 * bootstrap replicate's draws; 1 otherwise). */
static void pat_add_row(pat_acc *a, const double *x, double w, double *delta)
{
    size_t po = a->po;
    a->n += w;
    for (size_t i = 0; i < po; i++) {
        delta[i] = x[i] - a->mean[i];
        a->mean[i] += w * delta[i] / a->n;
    }
    for (size_t i = 0; i < po; i++) {
        double di = x[i] - a->mean[i];
        for (size_t j = 0; j <= i; j++)
            a->m2[i * po + j] += w * di * delta[j];
    }
}

/* Chan et al.: a += b (same pattern). */
static void pat_merge(pat_acc *a, const pat_acc *b)
{
    size_t po = a->po;
    double n = a->n + b->n;
    if (b->n == 0)
        return;
    for (size_t i = 0; i < po; i++)
        for (size_t j = 0; j <= i; j++) {
            double di = b->mean[i] - a->mean[i], dj = b->mean[j] - a->mean[j];
            a->m2[i * po + j] += b->m2[i * po + j] + di * dj * a->n * b->n / n;
        }
    for (size_t i = 0; i < po; i++)
        a->mean[i] += (b->mean[i] - a->mean[i]) * b->n / n;
    a->n = n;
}

/* ---- the reducer --------------------------------------------------------- */

static void level_free(level_acc *L)
{
    for (size_t k = 0; k < L->n_pat; k++)
        pat_free(L->pat[k]);
    free(L->pat);
    free(L->slot);
    memset(L, 0, sizeof *L);
}

/* Slots per level: replicates, folds, the two sides of a holdout, or 1. */
static size_t n_slots(const sem_fiml_params *par)
{
    if (par->n_replicates)
        return par->n_replicates;
    if (par->n_folds)
        return par->n_folds;
    return par->holdout ? 2 : 1;
}

/* Accumulators: one per level and slot. */
static size_t n_accs(const sem_fiml_params *par)
{
    return par->n_levels * n_slots(par);
}

/* A holdout filter's columns per row (engine/reducer.c has the same cap). */
#define FIML_MAX_FILTER_VARS 64

/* validate: the slot of block row i (its fold, or its holdout side). */
static size_t row_slot(const sem_fiml_params *par, const cx_block *b, size_t i)
{
    if (par->n_folds)
        return cx_fold_of(par->seed, b->row[i], par->n_folds);
    double values[FIML_MAX_FILTER_VARS];
    size_t nf = filter_n_columns(par->holdout);
    for (size_t j = 0; j < nf && j < FIML_MAX_FILTER_VARS; j++)
        values[j] = b->data[(par->holdout_at + j) * b->ld + i];
    return filter_matches(par->holdout, values) ? 1 : 0;
}

static void patterns_free(void *vacc)
{
    patterns_acc *a = vacc;
    if (!a)
        return;
    for (size_t l = 0; a->lev && l < n_accs(a->par); l++)
        level_free(&a->lev[l]);
    free(a->lev);
    free(a->key);
    free(a->x);
    free(a);
}

static void *patterns_alloc(const void *params, cx_error *err)
{
    const sem_fiml_params *par = params;
    patterns_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->lev = cx_calloc(n_accs(par) ? n_accs(par) : 1, sizeof *a->lev, err);
    a->key = cx_malloc(par->p + 1, err);
    a->x = cx_malloc(sizeof(double) * (2 * par->p + 1), err);
    if (!a->lev || !a->key || !a->x) {
        patterns_free(a);
        return NULL;
    }
    return a;
}

static void patterns_reset(void *vacc)
{
    patterns_acc *a = vacc;
    for (size_t l = 0; l < n_accs(a->par); l++)
        level_free(&a->lev[l]);
}

/* Bootstrap: row i (observed values x, pattern a->key) into every
 * replicate of level l that draws it. */
static int add_to_replicates(patterns_acc *a, const cx_block *b, size_t l, size_t i,
                             const double *x, double *delta, cx_error *err)
{
    const sem_fiml_params *par = a->par;
    uint64_t key = (uint64_t)b->row[i];
    if (par->cluster_at >= 0) {
        double unit = b->data[(size_t)par->cluster_at * b->ld + i];
        if (isnan(unit)) /* a row whose unit is missing is never drawn */
            return CX_OK;
        key = cx_value_key(unit);
    }
    for (size_t r = 0; r < par->n_replicates; r++) {
        unsigned k = cx_boot_count(par->seed, r, key);
        if (k == 0)
            continue;
        pat_acc *pa = level_find(&a->lev[l * par->n_replicates + r], a->key, par->p, err);
        if (!pa)
            return CX_ENOMEM;
        pat_add_row(pa, x, (double)k, delta);
    }
    return CX_OK;
}

static int patterns_add(void *vacc, const cx_block *b, cx_error *err)
{
    patterns_acc *a = vacc;
    size_t p = a->par->p;
    double *x = a->x, *delta = a->x + p;
    for (size_t l = 0; l < b->n_levels && l < a->par->n_levels; l++) {
        level_acc *L = &a->lev[l];
        pat_acc *last = NULL;
        for (size_t i = b->start[l]; i < b->start[l + 1]; i++) {
            size_t po = 0, dropped = 0;
            for (size_t j = 0; j < p; j++) {
                double v = b->data[j * b->ld + i];
                a->key[j] = !isnan(v);
                if (a->key[j])
                    x[po++] = v;
                else
                    dropped |= a->par->required && a->par->required[j];
            }
            if (po == 0 || dropped) /* an empty case: lavaan removes it */
                continue;
            if (a->par->n_replicates) {
                if (add_to_replicates(a, b, l, i, x, delta, err) != CX_OK)
                    return CX_ENOMEM;
                continue;
            }
            if (a->par->n_folds || a->par->holdout) {
                size_t slot = l * n_slots(a->par) + row_slot(a->par, b, i);
                pat_acc *pa = level_find(&a->lev[slot], a->key, p, err);
                if (!pa)
                    return CX_ENOMEM;
                pat_add_row(pa, x, 1.0, delta);
                continue;
            }
            /* consecutive rows often share a pattern (most are complete) */
            if (!last || memcmp(last->key, a->key, p) != 0)
                last = level_find(L, a->key, p, err);
            if (!last)
                return CX_ENOMEM;
            pat_add_row(last, x, 1.0, delta);
        }
    }
    return CX_OK;
}

static void patterns_merge(void *vacc, const void *vother)
{
    patterns_acc *a = vacc;
    const patterns_acc *o = vother;
    size_t p = a->par->p;
    for (size_t l = 0; l < n_accs(a->par); l++)
        for (size_t k = 0; k < o->lev[l].n_pat; k++) {
            const pat_acc *src = o->lev[l].pat[k];
            pat_acc *dst = level_find(&a->lev[l], src->key, p, NULL);
            if (dst) /* out of memory: the result's count check fails */
                pat_merge(dst, src);
        }
}

const cx_reducer_type sem_reducer_patterns = {"sem_patterns", patterns_alloc, patterns_reset,
                                              patterns_add,   patterns_merge, NULL,
                                              patterns_free};

/* ---- results ---------------------------------------------------------- */

void sem_patterns_free(sem_patterns *s)
{
    if (!s)
        return;
    for (size_t k = 0; s->pat && k < s->n_pat; k++) {
        free(s->pat[k].idx);
        free(s->pat[k].mean);
        free(s->pat[k].cov);
        free(s->pat[k].fourth);
    }
    free(s->pat);
    free(s->em_mean);
    free(s->em_cov);
    free(s->coverage);
    free(s->base_mean);
    free(s->base_var);
    free(s->base_term);
    free(s);
}

int sem_patterns_f(const sem_patterns *s, const double *sigma, const double *mu, double *work,
                   double *f)
{
    size_t p = s->p;
    double *c = work, *t = c + p * p, *r = t + p * p;
    double acc = 0.0;
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po;
        for (size_t a = 0; a < po; a++) {
            r[a] = pt->mean[a] - mu[pt->idx[a]];
            for (size_t b = 0; b < po; b++)
                c[a * po + b] = sigma[pt->idx[a] * p + pt->idx[b]];
        }
        /* c and t are symmetric: column-major calls need no transposed
         * copies (the _work variants skip LAPACKE's NaN scans; these small
         * factorizations run once per pattern per evaluation) */
        if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)po, c, (lapack_int)po) != 0)
            return CX_EFAIL;
        double logdet = 0.0;
        for (size_t a = 0; a < po; a++)
            logdet += 2.0 * log(c[a * po + a]);
        /* tr(C^-1 (S + r r')) = sum over columns of L^-1 (S + r r') L^-T */
        for (size_t a = 0; a < po; a++)
            for (size_t b = 0; b < po; b++)
                t[a * po + b] = pt->cov[a * po + b] + r[a] * r[b];
        LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int)po, (lapack_int)po, c,
                            (lapack_int)po, t, (lapack_int)po);
        double tr = 0.0;
        for (size_t a = 0; a < po; a++)
            tr += t[a * po + a];
        acc += pt->n * (logdet + tr);
    }
    *f = acc / s->n;
    return CX_OK;
}

#define EM_MAX_ITER 100000
#define EM_TOL 1e-13

/* One EM step: (mu, sigma) -> (mu1, sigma1).  t1 (p), t2 (p x p) sums of
 * the expected first and second raw moments; work >= 5 p^2. */
static int em_step(const sem_patterns *s, const double *mu, const double *sigma, double *mu1,
                   double *sigma1, double *work)
{
    size_t p = s->p;
    double *coo = work, *bm = coo + p * p, *q = bm + p * p, *c0 = q + p * p, *bq = c0 + p;
    double *by = bq + p * p;
    size_t mis[512], *m = p <= 512 ? mis : NULL;
    if (!m)
        return CX_EUSAGE;
    memset(mu1, 0, p * sizeof *mu1);
    memset(sigma1, 0, p * p * sizeof *sigma1);
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        size_t po = pt->po, pm = 0;
        unsigned char obs[512] = {0};
        for (size_t a = 0; a < po; a++)
            obs[pt->idx[a]] = 1;
        for (size_t i = 0; i < p; i++)
            if (!obs[i])
                m[pm++] = i;
        /* q = S + ybar ybar' (raw second moments of the observed part) */
        for (size_t a = 0; a < po; a++)
            for (size_t b = 0; b < po; b++)
                q[a * po + b] = pt->cov[a * po + b] + pt->mean[a] * pt->mean[b];
        for (size_t a = 0; a < po; a++) {
            mu1[pt->idx[a]] += pt->n * pt->mean[a];
            for (size_t b = 0; b < po; b++)
                sigma1[pt->idx[a] * p + pt->idx[b]] += pt->n * q[a * po + b];
        }
        if (pm == 0)
            continue;
        /* B = Sigma_mo Sigma_oo^-1 (pm x po), by solving Sigma_oo B' = Sigma_om */
        for (size_t a = 0; a < po; a++) {
            for (size_t b = 0; b < po; b++)
                coo[a * po + b] = sigma[pt->idx[a] * p + pt->idx[b]];
            for (size_t j = 0; j < pm; j++)
                bm[a * pm + j] = sigma[pt->idx[a] * p + m[j]];
        }
        if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)po, (lapack_int)pm, coo,
                          (lapack_int)po, bm, (lapack_int)pm) != 0)
            return CX_EFAIL;
        /* bm now holds B' (po x pm).  c0 = mu_m - B mu_o; by = B ybar */
        for (size_t j = 0; j < pm; j++) {
            double bmu = 0.0, byb = 0.0;
            for (size_t a = 0; a < po; a++) {
                bmu += bm[a * pm + j] * mu[pt->idx[a]];
                byb += bm[a * pm + j] * pt->mean[a];
            }
            c0[j] = mu[m[j]] - bmu;
            by[j] = byb;
        }
        /* bq = B q (pm x po) */
        for (size_t j = 0; j < pm; j++)
            for (size_t b = 0; b < po; b++) {
                double acc = 0.0;
                for (size_t a = 0; a < po; a++)
                    acc += bm[a * pm + j] * q[a * po + b];
                bq[j * po + b] = acc;
            }
        for (size_t j = 0; j < pm; j++) {
            mu1[m[j]] += pt->n * (c0[j] + by[j]);
            for (size_t b = 0; b < po; b++) { /* E x_m x_o' */
                double v = pt->n * (c0[j] * pt->mean[b] + bq[j * po + b]);
                sigma1[m[j] * p + pt->idx[b]] += v;
                sigma1[pt->idx[b] * p + m[j]] += v;
            }
            for (size_t i = 0; i < pm; i++) { /* E x_m x_m' = C + ... */
                double bqb = 0.0, sob = 0.0;
                for (size_t a = 0; a < po; a++) {
                    bqb += bq[j * po + a] * bm[a * pm + i];
                    sob += bm[a * pm + j] * sigma[pt->idx[a] * p + m[i]];
                }
                double cond = sigma[m[j] * p + m[i]] - sob;
                sigma1[m[j] * p + m[i]] +=
                    pt->n * (cond + c0[j] * c0[i] + c0[j] * by[i] + by[j] * c0[i] + bqb);
            }
        }
    }
    for (size_t i = 0; i < p; i++)
        mu1[i] /= s->n;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            sigma1[i * p + j] = sigma1[i * p + j] / s->n - mu1[i] * mu1[j];
    return CX_OK;
}

/* Per variable: mean and variance (divisor n_j) of its observed values,
 * pooled over the patterns: the independence model's ML estimates. */
static void univariate(const sem_patterns *s, double *mean, double *var, double *nj)
{
    size_t p = s->p;
    memset(mean, 0, p * sizeof *mean);
    memset(var, 0, p * sizeof *var);
    memset(nj, 0, p * sizeof *nj);
    for (size_t k = 0; k < s->n_pat; k++)
        for (size_t a = 0; a < s->pat[k].po; a++) {
            size_t j = s->pat[k].idx[a];
            nj[j] += s->pat[k].n;
            mean[j] += s->pat[k].n * s->pat[k].mean[a];
        }
    for (size_t j = 0; j < p; j++)
        mean[j] /= nj[j];
    for (size_t k = 0; k < s->n_pat; k++) {
        const sem_pattern *pt = &s->pat[k];
        for (size_t a = 0; a < pt->po; a++) {
            size_t j = pt->idx[a];
            double d = pt->mean[a] - mean[j];
            var[j] += pt->n * (pt->cov[a * pt->po + a] + d * d);
        }
    }
    for (size_t j = 0; j < p; j++)
        var[j] /= nj[j];
}

/* EM from the independence model's estimates until no moment moves by
 * more than EM_TOL relative; then the h1 and baseline -2 logl / N. */
static int saturated(sem_patterns *s, cx_error *err)
{
    size_t p = s->p;
    double *w = cx_malloc(sizeof(double) * (8 * p * p + 4 * p + 1), err);
    if (!w)
        return CX_ENOMEM;
    double *mu1 = w, *sig1 = mu1 + p, *var = sig1 + p * p, *nj = var + p, *work = nj + p;
    univariate(s, s->em_mean, var, nj);
    memcpy(s->base_mean, s->em_mean, p * sizeof(double));
    memcpy(s->base_var, var, p * sizeof(double));
    double base = 0.0;
    for (size_t j = 0; j < p; j++) {
        memset(s->em_cov + j * p, 0, p * sizeof(double));
        s->em_cov[j * p + j] = var[j];
        s->base_term[j] = nj[j] * (log(var[j]) + 1.0);
        base += s->base_term[j];
    }
    s->base_f = base / s->n;
    int rc = CX_OK;
    for (s->em_iter = 0; s->em_iter < EM_MAX_ITER; s->em_iter++) {
        if ((rc = em_step(s, s->em_mean, s->em_cov, mu1, sig1, work)) != CX_OK)
            break;
        double move = 0.0;
        for (size_t i = 0; i < p; i++)
            move = fmax(move, fabs(mu1[i] - s->em_mean[i]) / (1.0 + fabs(mu1[i])));
        for (size_t i = 0; i < p * p; i++)
            move = fmax(move, fabs(sig1[i] - s->em_cov[i]) / (1.0 + fabs(sig1[i])));
        memcpy(s->em_mean, mu1, p * sizeof *mu1);
        memcpy(s->em_cov, sig1, p * p * sizeof *sig1);
        if (move < EM_TOL) {
            s->em_converged = 1;
            break;
        }
    }
    if (rc == CX_OK && sem_patterns_f(s, s->em_cov, s->em_mean, work, &s->h1_f) != CX_OK)
        rc = CX_EFAIL;
    if (rc != CX_OK)
        cx_error_set(err, rc,
                     "missing = fiml: the saturated model's covariance matrix (EM) is not "
                     "positive definite (a pair of variables is never observed together, or "
                     "a variable is constant)");
    free(w);
    return rc;
}

static int copy_pattern(sem_pattern *dst, const pat_acc *src, cx_error *err)
{
    size_t po = src->po;
    dst->po = po;
    dst->n = src->n;
    dst->idx = cx_malloc(sizeof(size_t) * (po + 1), err);
    dst->mean = cx_malloc(sizeof(double) * (po + 1), err);
    dst->cov = cx_malloc(sizeof(double) * (po * po + 1), err);
    if (!dst->idx || !dst->mean || !dst->cov)
        return CX_ENOMEM;
    memcpy(dst->idx, src->idx, po * sizeof *dst->idx);
    memcpy(dst->mean, src->mean, po * sizeof *dst->mean);
    for (size_t i = 0; i < po; i++)
        for (size_t j = 0; j <= i; j++)
            dst->cov[i * po + j] = dst->cov[j * po + i] = src->m2[i * po + j] / src->n;
    return CX_OK;
}

/* The patterns of one accumulator with their EM saturated model. */
static sem_patterns *level_result(const level_acc *L, size_t p, cx_error *err)
{
    sem_patterns *s = cx_calloc(1, sizeof *s, err);
    if (!s)
        return NULL;
    s->p = p;
    s->pat = cx_calloc(L->n_pat + 1, sizeof *s->pat, err);
    s->em_mean = cx_calloc(p + 1, sizeof *s->em_mean, err);
    s->em_cov = cx_calloc(p * p + 1, sizeof *s->em_cov, err);
    s->coverage = cx_calloc(p * p + 1, sizeof *s->coverage, err);
    s->base_mean = cx_calloc(p + 1, sizeof *s->base_mean, err);
    s->base_var = cx_calloc(p + 1, sizeof *s->base_var, err);
    s->base_term = cx_calloc(p + 1, sizeof *s->base_term, err);
    int rc = s->pat && s->em_mean && s->em_cov && s->coverage && s->base_mean && s->base_var &&
                     s->base_term
                 ? CX_OK
                 : CX_ENOMEM;
    for (size_t k = 0; rc == CX_OK && k < L->n_pat; k++) {
        rc = copy_pattern(&s->pat[k], L->pat[k], err);
        s->n_pat = k + 1;
        s->n += L->pat[k]->n;
        s->n_values += L->pat[k]->n * (double)L->pat[k]->po;
        for (size_t i = 0; rc == CX_OK && i < L->pat[k]->po; i++)
            for (size_t j = 0; j < L->pat[k]->po; j++)
                s->coverage[L->pat[k]->idx[i] * p + L->pat[k]->idx[j]] += L->pat[k]->n;
    }
    for (size_t i = 0; rc == CX_OK && i < p * p; i++)
        s->coverage[i] /= s->n;
    for (size_t i = 0; rc == CX_OK && s->n > 0 && i < p; i++)
        if (!(s->coverage[i * p + i] > 0))
            rc = cx_error_set(err, CX_EFAIL, "missing = fiml: variable %zu is never observed",
                              i + 1);
    if (rc == CX_OK && s->n > 0)
        rc = saturated(s, err);
    if (rc != CX_OK) {
        sem_patterns_free(s);
        return NULL;
    }
    return s;
}

sem_patterns *sem_patterns_result(const void *vacc, size_t level, cx_error *err)
{
    const patterns_acc *a = vacc;
    return level_result(&a->lev[level], a->par->p, err);
}

sem_patterns *sem_patterns_result_merged(const void *vacc, size_t cell, size_t except,
                                         cx_error *err)
{
    const patterns_acc *a = vacc;
    size_t p = a->par->p, S = n_slots(a->par);
    level_acc merged = {0};
    sem_patterns *s = NULL;
    int rc = CX_OK;
    for (size_t k = 0; k < S && rc == CX_OK; k++) {
        const level_acc *L = &a->lev[cell * S + k];
        for (size_t j = 0; k != except && j < L->n_pat && rc == CX_OK; j++) {
            pat_acc *dst = level_find(&merged, L->pat[j]->key, p, err);
            if (dst)
                pat_merge(dst, L->pat[j]);
            else
                rc = CX_ENOMEM;
        }
    }
    if (rc == CX_OK)
        s = level_result(&merged, p, err);
    level_free(&merged);
    return s;
}

/* ---- MLR: the fourth moments of every pattern (a second pass) ------------ */

/* Per pass level: the patterns found by the first pass, looked up by key. */
typedef struct fourth_level {
    const sem_patterns *s;
    level_acc index; /* keys only: pat[k]->key, n unused */
} fourth_level;

struct sem_fiml_fourth_params {
    size_t p, n_levels;
    fourth_level *lev;
    const unsigned char *required; /* as sem_fiml_params' */
};

void sem_fiml_fourth_params_free(sem_fiml_fourth_params *par)
{
    if (!par)
        return;
    for (size_t l = 0; par->lev && l < par->n_levels; l++)
        level_free(&par->lev[l].index);
    free(par->lev);
    free(par);
}

sem_fiml_fourth_params *sem_fiml_fourth_params_alloc(size_t p, size_t n_levels,
                                                     const sem_patterns *const *cells,
                                                     const unsigned char *required, cx_error *err)
{
    sem_fiml_fourth_params *par = cx_calloc(1, sizeof *par, err);
    if (!par)
        return NULL;
    par->required = required;
    par->p = p;
    par->n_levels = n_levels;
    par->lev = cx_calloc(n_levels + 1, sizeof *par->lev, err);
    unsigned char *key = cx_malloc(p + 1, err);
    int rc = par->lev && key ? CX_OK : CX_ENOMEM;
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++) {
        const sem_patterns *s = cells[l];
        par->lev[l].s = s;
        for (size_t k = 0; s && rc == CX_OK && k < s->n_pat; k++) {
            memset(key, 0, p);
            for (size_t a = 0; a < s->pat[k].po; a++)
                key[s->pat[k].idx[a]] = 1;
            /* patterns are added in s's order: index k is pattern k */
            if (!level_find(&par->lev[l].index, key, p, err))
                rc = CX_ENOMEM;
        }
    }
    free(key);
    if (rc != CX_OK) {
        sem_fiml_fourth_params_free(par);
        return NULL;
    }
    return par;
}

typedef struct fourth_pat_acc {
    const sem_fiml_fourth_params *par;
    double ***m;  /* [level][pattern]: ps_o x ps_o lower sums, on first use */
    double **cnt; /* [level][pattern] rows */
    unsigned char *key;
    double *z; /* one row's z */
} fourth_pat_acc;

static size_t pstar_of(size_t po)
{
    return po + po * (po + 1) / 2;
}

static void fpat_free(void *vacc)
{
    fourth_pat_acc *a = vacc;
    if (!a)
        return;
    for (size_t l = 0; a->m && l < a->par->n_levels; l++) {
        const sem_patterns *s = a->par->lev[l].s;
        for (size_t k = 0; a->m[l] && s && k < s->n_pat; k++)
            free(a->m[l][k]);
        free(a->m[l]);
        free(a->cnt[l]);
    }
    free(a->m);
    free(a->cnt);
    free(a->key);
    free(a->z);
    free(a);
}

static void *fpat_alloc(const void *params, cx_error *err)
{
    const sem_fiml_fourth_params *par = params;
    fourth_pat_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->m = cx_calloc(par->n_levels + 1, sizeof *a->m, err);
    a->cnt = cx_calloc(par->n_levels + 1, sizeof *a->cnt, err);
    a->key = cx_malloc(par->p + 1, err);
    a->z = cx_malloc(sizeof(double) * (pstar_of(par->p) + par->p + 1), err);
    int ok = a->m && a->cnt && a->key && a->z;
    for (size_t l = 0; ok && l < par->n_levels; l++) {
        size_t n = par->lev[l].s ? par->lev[l].s->n_pat : 0;
        a->m[l] = cx_calloc(n + 1, sizeof **a->m, err);
        a->cnt[l] = cx_calloc(n + 1, sizeof **a->cnt, err);
        ok = a->m[l] && a->cnt[l];
    }
    if (!ok) {
        fpat_free(a);
        return NULL;
    }
    return a;
}

static void fpat_reset(void *vacc)
{
    fourth_pat_acc *a = vacc;
    for (size_t l = 0; l < a->par->n_levels; l++) {
        const sem_patterns *s = a->par->lev[l].s;
        for (size_t k = 0; s && k < s->n_pat; k++) {
            if (a->m[l][k])
                memset(a->m[l][k], 0,
                       sizeof(double) * pstar_of(s->pat[k].po) * pstar_of(s->pat[k].po));
            a->cnt[l][k] = 0;
        }
    }
}

/* The pattern index of key in level l, or -1 (a row the first pass did
 * not see cannot happen: same rows, same view). */
static long fpat_find(const fourth_level *L, const unsigned char *key, size_t p)
{
    const level_acc *ix = &L->index;
    if (!ix->n_slot)
        return -1;
    size_t h = (size_t)key_hash(key, p) & (ix->n_slot - 1);
    while (ix->slot[h]) {
        if (memcmp(ix->pat[ix->slot[h] - 1]->key, key, p) == 0)
            return (long)ix->slot[h] - 1;
        h = (h + 1) & (ix->n_slot - 1);
    }
    return -1;
}

static int fpat_add(void *vacc, const cx_block *b, cx_error *err)
{
    fourth_pat_acc *a = vacc;
    size_t p = a->par->p;
    for (size_t l = 0; l < b->n_levels && l < a->par->n_levels; l++) {
        const fourth_level *L = &a->par->lev[l];
        for (size_t i = b->start[l]; i < b->start[l + 1]; i++) {
            size_t po = 0, dropped = 0;
            for (size_t j = 0; j < p; j++) {
                a->key[j] = !isnan(b->data[j * b->ld + i]);
                po += a->key[j];
                dropped |= !a->key[j] && a->par->required && a->par->required[j];
            }
            if (po == 0 || dropped) /* as the first pass */
                continue;
            long k = fpat_find(L, a->key, p);
            if (k < 0)
                return cx_error_set(err, CX_EFAIL,
                                    "missing = fiml: the second pass met a new missing pattern");
            const sem_pattern *pt = &L->s->pat[k];
            size_t ps = pstar_of(po);
            if (!a->m[l][k] && !(a->m[l][k] = cx_calloc(ps * ps, sizeof(double), err)))
                return CX_ENOMEM;
            double *z = a->z;
            for (size_t u = 0; u < po; u++)
                z[u] = b->data[pt->idx[u] * b->ld + i] - pt->mean[u];
            for (size_t u = 0; u < po; u++)
                for (size_t v = u; v < po; v++)
                    z[sem_pattern_vech(po, u, v)] = z[u] * z[v];
            double *m = a->m[l][k];
            for (size_t r = 0; r < ps; r++)
                for (size_t c = 0; c <= r; c++)
                    m[r * ps + c] += z[r] * z[c];
            a->cnt[l][k] += 1.0;
        }
    }
    return CX_OK;
}

static void fpat_merge(void *vacc, const void *vother)
{
    fourth_pat_acc *a = vacc;
    const fourth_pat_acc *o = vother;
    for (size_t l = 0; l < a->par->n_levels; l++) {
        const sem_patterns *s = a->par->lev[l].s;
        for (size_t k = 0; s && k < s->n_pat; k++) {
            if (!o->m[l][k])
                continue;
            size_t ps = pstar_of(s->pat[k].po);
            if (!a->m[l][k] && !(a->m[l][k] = calloc(ps * ps, sizeof(double))))
                continue; /* out of memory: the count check fails */
            for (size_t i = 0; i < ps * ps; i++)
                a->m[l][k][i] += o->m[l][k][i];
            a->cnt[l][k] += o->cnt[l][k];
        }
    }
}

const cx_reducer_type sem_reducer_pattern_fourth = {
    "sem_pattern_fourth", fpat_alloc, fpat_reset, fpat_add, fpat_merge, NULL, fpat_free};

int sem_fiml_fourth_result(const void *vacc, size_t level, sem_patterns *s, cx_error *err)
{
    const fourth_pat_acc *a = vacc;
    for (size_t k = 0; k < s->n_pat; k++) {
        sem_pattern *pt = &s->pat[k];
        size_t ps = pstar_of(pt->po);
        if (a->cnt[level][k] != pt->n)
            return cx_error_set(err, CX_EFAIL,
                                "missing = fiml: the second pass saw %.0f rows of a pattern, "
                                "not %.0f",
                                a->cnt[level][k], pt->n);
        free(pt->fourth);
        if (!(pt->fourth = cx_malloc(sizeof(double) * ps * ps, err)))
            return CX_ENOMEM;
        const double *m = a->m[level][k];
        for (size_t r = 0; r < ps; r++)
            for (size_t c = 0; c <= r; c++)
                pt->fourth[r * ps + c] = pt->fourth[c * ps + r] = m[r * ps + c] / pt->n;
    }
    return CX_OK;
}
