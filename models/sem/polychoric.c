/*
 * polychoric.c — see polychoric.h.  The formulas follow lavaan 0.6's
 * lav_samplestats_step1/step2 (thresholds, two-step polychorics),
 * lav_bvord (bivariate ordinal likelihood and its scores) and
 * muthen1984 (W = B^-1 INNER B^-T with B = [A11 0; A21 A22]).
 */
#include "polychoric.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "../../engine/bvnorm.h"
#include "../../engine/stats.h"

/* lavaan clips cell probabilities at sqrt(machine epsilon) in the
 * likelihood and drops such cells from the scores. */
#define PI_MIN 1.4901161193847656e-08
#define RHO_BOUND 0.999
#define M_PI_VALUE 3.14159265358979323846

static double npdf(double x)
{
    return isinf(x) ? 0.0 : exp(-0.5 * x * x) * 0.39894228040143267794;
}

static size_t n_pairs(size_t p)
{
    return p * (p - 1) / 2;
}

/* ---- pass 1: frequency tables ------------------------------------------ */

typedef struct counts_acc {
    const sem_ord_count_params *par;
    size_t npair;
    /* weighted (raw sampling weights) or plain counts: sums of integers
     * stay exact in double up to 2^53 rows */
    double **uni; /* per cell: p x SLOTS; NULL until a row arrives    */
    double **bi;  /* per cell: npair x SLOTS x SLOTS                  */
    double *n;    /* per cell: rows used, or the sum of their weights */
    double *rows; /* per cell: rows used                              */
    int *code;      /* p scratch                                      */
} counts_acc;

static void counts_free(void *vacc)
{
    counts_acc *a = vacc;
    if (!a)
        return;
    for (size_t c = 0; c < a->par->n_cells; c++) {
        free(a->uni[c]);
        free(a->bi[c]);
    }
    free(a->uni);
    free(a->bi);
    free(a->n);
    free(a->rows);
    free(a->code);
    free(a);
}

static void *counts_alloc(const void *params, cx_error *err)
{
    const sem_ord_count_params *par = params;
    counts_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->npair = n_pairs(par->p);
    a->uni = cx_calloc(par->n_cells + 1, sizeof *a->uni, err);
    a->bi = cx_calloc(par->n_cells + 1, sizeof *a->bi, err);
    a->n = cx_calloc(par->n_cells + 1, sizeof *a->n, err);
    a->rows = cx_calloc(par->n_cells + 1, sizeof *a->rows, err);
    a->code = cx_calloc(par->p + 1, sizeof *a->code, err);
    if (!a->uni || !a->bi || !a->n || !a->rows || !a->code) {
        counts_free(a);
        return NULL;
    }
    return a;
}

static void counts_reset(void *vacc)
{
    counts_acc *a = vacc;
    size_t p = a->par->p;
    for (size_t c = 0; c < a->par->n_cells; c++) {
        if (a->uni[c])
            memset(a->uni[c], 0, p * SEM_ORD_SLOTS * sizeof(double));
        if (a->bi[c])
            memset(a->bi[c], 0, a->npair * SEM_ORD_SLOTS * SEM_ORD_SLOTS * sizeof(double));
        a->n[c] = a->rows[c] = 0;
    }
}

static int counts_touch(counts_acc *a, size_t c, cx_error *err)
{
    if (a->uni[c])
        return CX_OK;
    a->uni[c] = cx_calloc(a->par->p * SEM_ORD_SLOTS, sizeof(double), err);
    a->bi[c] = cx_calloc(a->npair * SEM_ORD_SLOTS * SEM_ORD_SLOTS + 1, sizeof(double), err);
    return a->uni[c] && a->bi[c] ? CX_OK : CX_ENOMEM;
}

/* The codes of row r; 0 when an item or the weight is missing (the row
 * is left out, as the moments' listwise rows). */
static int row_codes(const counts_acc *a, const cx_block *b, size_t r, int *ok, cx_error *err)
{
    *ok = 0;
    if (a->par->weight_at >= 0 && isnan(b->data[(size_t)a->par->weight_at * b->ld + r]))
        return CX_OK;
    for (size_t j = 0; j < a->par->p; j++) {
        double v = b->data[j * b->ld + r];
        if (isnan(v))
            return CX_OK;
        if (!(v >= 0 && v <= SEM_ORD_MAX_CODE && v == floor(v)))
            return cx_error_set(err, CX_EUSAGE,
                                "ordered item '%s' (table row %zu): value %g is not an integer "
                                "code 0..%d",
                                a->par->names[j], b->row[r] + 1, v, SEM_ORD_MAX_CODE);
        a->code[j] = (int)v;
    }
    *ok = 1;
    return CX_OK;
}

static int counts_add(void *vacc, const cx_block *b, cx_error *err)
{
    counts_acc *a = vacc;
    size_t p = a->par->p;
    const double *wcol = a->par->weight_at >= 0 ? b->data + (size_t)a->par->weight_at * b->ld : NULL;
    long bad = wcol ? cx_weights_first_bad(wcol, b->n) : -1;
    if (bad >= 0)
        return cx_error_set(err, CX_EUSAGE, "the weight %g in row %zu %s", wcol[bad],
                            b->row[bad] + 1, cx_weight_problem(wcol[bad]));
    for (size_t l = 0; l < b->n_levels && l < a->par->n_cells; l++) {
        if (b->start[l] == b->start[l + 1])
            continue;
        int rc = counts_touch(a, l, err);
        if (rc != CX_OK)
            return rc;
        double *uni = a->uni[l], *bi = a->bi[l];
        for (size_t r = b->start[l]; r < b->start[l + 1]; r++) {
            int ok;
            if ((rc = row_codes(a, b, r, &ok, err)) != CX_OK)
                return rc;
            if (!ok)
                continue;
            double w = wcol ? wcol[r] : 1.0;
            a->n[l] += w;
            a->rows[l]++;
            for (size_t j = 0; j < p; j++)
                uni[j * SEM_ORD_SLOTS + (size_t)a->code[j]] += w;
            /* pairs in lavaan's order: column j, rows i > j */
            double *t = bi;
            for (size_t j = 0; j + 1 < p; j++)
                for (size_t i = j + 1; i < p; i++, t += SEM_ORD_SLOTS * SEM_ORD_SLOTS)
                    t[(size_t)a->code[i] * SEM_ORD_SLOTS + (size_t)a->code[j]] += w;
        }
    }
    return CX_OK;
}

static void counts_merge(void *vacc, const void *vother)
{
    counts_acc *a = vacc;
    const counts_acc *o = vother;
    size_t nu = a->par->p * SEM_ORD_SLOTS, nb = a->npair * SEM_ORD_SLOTS * SEM_ORD_SLOTS;
    for (size_t c = 0; c < a->par->n_cells; c++) {
        if (!o->uni[c] || o->rows[c] == 0)
            continue;
        if (counts_touch(a, c, NULL) != CX_OK)
            abort(); /* merge has no error channel; out of memory here is fatal */
        for (size_t k = 0; k < nu; k++)
            a->uni[c][k] += o->uni[c][k];
        for (size_t k = 0; k < nb; k++)
            a->bi[c][k] += o->bi[c][k];
        a->n[c] += o->n[c];
        a->rows[c] += o->rows[c];
    }
}

const cx_reducer_type sem_ord_counts = {"ordinal counts", counts_alloc, counts_reset, counts_add,
                                        counts_merge,     NULL,         counts_free};

/* ---- thresholds and polychorics --------------------------------------- */

void sem_ord_stats_clear(sem_ord_stats *s)
{
    free(s->ncat);
    free(s->th0);
    free(s->cat_of_code);
    free(s->th);
    free(s->rho);
    free(s->freq);
    free(s->pair_off);
    free(s->a21);
    free(s->a22);
    free(s->th_score);
    free(s->rho_score);
    free(s->gamma);
    memset(s, 0, sizeof *s);
}

static int stats_layout(const counts_acc *a, size_t cell, const char *const *names,
                        sem_ord_stats *s, cx_error *err)
{
    size_t p = a->par->p;
    s->p = p;
    s->npair = n_pairs(p);
    s->n = a->n[cell] * (s->wscale > 0 ? s->wscale : 1.0);
    s->rows = a->rows[cell];
    if (!a->uni[cell] || a->rows[cell] == 0 || !(a->n[cell] > 0))
        return cx_error_set(err, CX_EUSAGE, "no complete rows of the ordered items");
    s->ncat = cx_calloc(p, sizeof *s->ncat, err);
    s->th0 = cx_calloc(p + 1, sizeof *s->th0, err);
    s->cat_of_code = cx_calloc(p * SEM_ORD_SLOTS, sizeof *s->cat_of_code, err);
    if (!s->ncat || !s->th0 || !s->cat_of_code)
        return CX_ENOMEM;
    for (size_t i = 0; i < p; i++) {
        const double *u = a->uni[cell] + i * SEM_ORD_SLOTS;
        for (size_t c = 0; c < SEM_ORD_SLOTS; c++)
            s->cat_of_code[i * SEM_ORD_SLOTS + c] = u[c] > 0 ? (int)s->ncat[i]++ : -1;
        if (s->ncat[i] < 2)
            return cx_error_set(err, CX_EUSAGE,
                                "ordered item '%s' has %zu category in the data; it needs 2 or "
                                "more",
                                names[i], s->ncat[i]);
        s->th0[i + 1] = s->th0[i] + s->ncat[i] - 1;
    }
    s->nth = s->th0[p];
    s->dim = s->nth + s->npair;
    s->pair_off = cx_calloc(s->npair + 1, sizeof *s->pair_off, err);
    if (!s->pair_off)
        return CX_ENOMEM;
    size_t k = 0;
    for (size_t j = 0; j + 1 < p; j++)
        for (size_t i = j + 1; i < p; i++, k++)
            s->pair_off[k + 1] = s->pair_off[k] + s->ncat[i] * s->ncat[j];
    size_t cells = s->pair_off[s->npair] + 1;
    s->th = cx_calloc(s->nth + 1, sizeof *s->th, err);
    s->rho = cx_calloc(p * p, sizeof *s->rho, err);
    s->freq = cx_calloc(cells, sizeof *s->freq, err);
    s->rho_score = cx_calloc(cells, sizeof *s->rho_score, err);
    s->a21 = cx_calloc(s->npair * s->nth + 1, sizeof *s->a21, err);
    s->a22 = cx_calloc(s->npair + 1, sizeof *s->a22, err);
    s->th_score = cx_calloc(2 * (s->nth + p), sizeof *s->th_score, err);
    if (!s->th || !s->rho || !s->freq || !s->rho_score || !s->a21 || !s->a22 || !s->th_score)
        return CX_ENOMEM;
    return CX_OK;
}

/* Thresholds qnorm(cumulative proportions; weighted ones with weights,
 * lav_uvord_fit's ML with wt) and the univariate scores
 * d log P(y = a) / d th (lav_uvord_scores at the fitted thresholds). */
static void thresholds(const counts_acc *a, size_t cell, sem_ord_stats *s)
{
    for (size_t i = 0; i < s->p; i++) {
        const double *u = a->uni[cell] + i * SEM_ORD_SLOTS;
        double cum = 0;
        size_t k = 0;
        for (size_t c = 0; c < SEM_ORD_SLOTS && k + 1 < s->ncat[i]; c++)
            if (u[c] > 0) {
                cum += u[c];
                s->th[s->th0[i] + k++] = gsl_cdf_ugaussian_Pinv(cum / a->n[cell]);
            }
        const double *t = s->th + s->th0[i];
        size_t K = s->ncat[i];
        for (size_t c = 0; c < K; c++) {
            double lo = c > 0 ? t[c - 1] : -INFINITY, hi = c + 1 < K ? t[c] : INFINITY;
            double pc = gsl_cdf_ugaussian_P(hi) - gsl_cdf_ugaussian_P(lo);
            double *sc = s->th_score + 2 * (s->th0[i] + i + c);
            sc[0] = c > 0 ? -npdf(lo) / pc : 0;
            sc[1] = c + 1 < K ? npdf(hi) / pc : 0;
        }
    }
}

/* One pair's table and grids: item i (rows, thresholds t1) by item j
 * (columns, thresholds t2). */
typedef struct pair_ctx {
    size_t n1, n2;      /* categories                                  */
    const double *freq; /* n1 x n2                                     */
    double g1[SEM_ORD_SLOTS + 1], g2[SEM_ORD_SLOTS + 1]; /* -inf, th, +inf */
    double n;
    double pi[SEM_ORD_SLOTS * SEM_ORD_SLOTS], phi[SEM_ORD_SLOTS * SEM_ORD_SLOTS];
    double dphi[SEM_ORD_SLOTS * SEM_ORD_SLOTS];
} pair_ctx;

/* d phi2(x, y; r) / d r */
static double dpdf_drho(double x, double y, double r)
{
    if (isinf(x) || isinf(y))
        return 0.0;
    double s = 1 - r * r;
    return cx_bvnorm_pdf(x, y, r) * (r * s + x * y * (1 + r * r) - r * (x * x + y * y)) / (s * s);
}

/* Cell probabilities PI, d PI / d rho (phi) and d2 PI / d rho2 at r. */
static void pair_cells(pair_ctx *c, double r)
{
    double cdf[(SEM_ORD_SLOTS + 1) * (SEM_ORD_SLOTS + 1)],
        pdf[(SEM_ORD_SLOTS + 1) * (SEM_ORD_SLOTS + 1)];
    double dpdf[(SEM_ORD_SLOTS + 1) * (SEM_ORD_SLOTS + 1)];
    size_t m = c->n2 + 1;
    for (size_t a = 0; a <= c->n1; a++)
        for (size_t b = 0; b <= c->n2; b++) {
            cdf[a * m + b] = cx_bvnorm_cdf(c->g1[a], c->g2[b], r);
            pdf[a * m + b] = cx_bvnorm_pdf(c->g1[a], c->g2[b], r);
            dpdf[a * m + b] = dpdf_drho(c->g1[a], c->g2[b], r);
        }
#define RECT(M) (M[(a + 1) * m + b + 1] - M[a * m + b + 1] - M[(a + 1) * m + b] + M[a * m + b])
    for (size_t a = 0; a < c->n1; a++)
        for (size_t b = 0; b < c->n2; b++) {
            c->pi[a * c->n2 + b] = RECT(cdf);
            c->phi[a * c->n2 + b] = RECT(pdf);
            c->dphi[a * c->n2 + b] = RECT(dpdf);
        }
#undef RECT
}

/* lavaan's objective -logL / N with its gradient and Hessian in rho. */
static double pair_objective(pair_ctx *c, double r, double *g, double *h)
{
    pair_cells(c, r);
    double f = 0, gs = 0, hs = 0;
    for (size_t k = 0; k < c->n1 * c->n2; k++) {
        double n = c->freq[k], pi = c->pi[k];
        if (n == 0)
            continue;
        f -= n * log(fmax(pi, PI_MIN));
        if (pi <= PI_MIN)
            continue;
        double q = c->phi[k] / pi;
        gs -= n * q;
        hs -= n * (c->dphi[k] / pi - q * q);
    }
    *g = gs / c->n;
    *h = hs / c->n;
    return f / c->n;
}

/* Pearson correlation of the category numbers: lavaan's start value. */
static double pair_start(const pair_ctx *c)
{
    double s1 = 0, s2 = 0, s11 = 0, s22 = 0, s12 = 0;
    for (size_t a = 0; a < c->n1; a++)
        for (size_t b = 0; b < c->n2; b++) {
            double n = c->freq[a * c->n2 + b];
            s1 += n * a, s2 += n * b, s11 += n * a * a, s22 += n * b * b, s12 += n * a * b;
        }
    double v1 = s11 - s1 * s1 / c->n, v2 = s22 - s2 * s2 / c->n;
    double r = v1 > 0 && v2 > 0 ? (s12 - s1 * s2 / c->n) / sqrt(v1 * v2) : 0;
    return isfinite(r) && fabs(r) < 1 ? r : 0;
}

/* 1-D ML of rho in lavaan's bounds [-0.999, 0.999]: the root of the
 * score by Newton's method safeguarded with bisection (the bracket shrinks
 * every step, so it cannot wander), to machine precision. */
static double pair_rho(pair_ctx *c, int *iterations)
{
    /* the bounds themselves are not evaluated: clipped cells make the
     * score there unreliable; the bracket only shrinks toward a bound
     * when the scores inside point to it */
    double lo = -RHO_BOUND, hi = RHO_BOUND, g, h;
    *iterations = 0;
    double r = pair_start(c);
    if (!(r > lo && r < hi))
        r = 0;
    pair_objective(c, r, &g, &h);
    for (int it = 0; it < 200; it++) {
        *iterations = it + 1;
        if (g == 0)
            break;
        if (g < 0) /* f decreases: the minimum lies above r */
            lo = r;
        else
            hi = r;
        double next = h > 0 ? r - g / h : NAN;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        double moved = fabs(next - r);
        r = next;
        pair_objective(c, r, &g, &h);
        if (moved <= 4e-16 * (1 + fabs(r)) || hi - lo <= 4e-16)
            break;
    }
    return r;
}

/* A 2 x 2 table as lavaan's lav_bvord_cor_twostep_fit treats it: two
 * empty cells give rho = +-1; one empty cell gets 0.5 moved into it from
 * its row and column, keeping the margins (zero.add = 0.5,
 * zero.keep.margins); a table with equal cross products gives 0; both
 * thresholds 0 give the closed form -cos(2 pi p11); otherwise the ML
 * estimate on the (adjusted) table. */
static double tetrachoric(pair_ctx *c, int *iterations)
{
    double t[4];
    memcpy(t, c->freq, sizeof t);
    int zeros = (t[0] == 0) + (t[1] == 0) + (t[2] == 0) + (t[3] == 0);
    *iterations = 0;
    if (zeros == 2)
        return t[0] > 0 ? 1.0 : -1.0;
    if (zeros == 1) {
        double a = t[0] == 0 || t[3] == 0 ? 0.5 : -0.5;
        t[0] += a, t[3] += a, t[1] -= a, t[2] -= a;
    }
    if (t[0] * t[3] == t[1] * t[2])
        return 0.0;
    if (c->g1[1] == 0 && c->g2[1] == 0)
        return -cos(2 * M_PI_VALUE * t[0] / (t[0] + t[1] + t[2] + t[3]));
    const double *observed = c->freq;
    c->freq = t;
    double r = pair_rho(c, iterations);
    c->freq = observed;
    return r;
}

/* Scores of the pair's cells at the estimate: rho scores phi / PI and the
 * A21 / A22 sums (muthen1984's crossprod of rho scores with the bivariate
 * threshold scores, from the table instead of the rows). */
static void pair_scores(pair_ctx *c, double r, sem_ord_stats *s, size_t k, size_t i, size_t j)
{
    pair_cells(c, r);
    double R = sqrt(1 - r * r);
    double *rs = s->rho_score + s->pair_off[k], *a21 = s->a21 + k * s->nth;
    double a22 = 0;
    for (size_t a = 0; a < c->n1; a++)
        for (size_t b = 0; b < c->n2; b++) {
            size_t cell = a * c->n2 + b;
            double pi = c->pi[cell], n = c->freq[cell];
            double sr = pi > PI_MIN ? c->phi[cell] / pi : 0;
            rs[cell] = sr;
            if (n == 0 || sr == 0)
                continue;
            a22 += n * sr * sr;
            /* d PI / d th1_t for the two thresholds bounding a, then th2 */
            for (int side = 0; side < 2; side++) {
                size_t t = side ? a : a - 1; /* upper: th a; lower: th a-1 */
                if ((side && a + 1 < c->n1) || (!side && a > 0)) {
                    double x = c->g1[t + 1];
                    double d = npdf(x) * (gsl_cdf_ugaussian_P((c->g2[b + 1] - r * x) / R) -
                                          gsl_cdf_ugaussian_P((c->g2[b] - r * x) / R));
                    a21[s->th0[i] + t] += n * sr * (side ? d : -d) / pi;
                }
                size_t u = side ? b : b - 1;
                if ((side && b + 1 < c->n2) || (!side && b > 0)) {
                    double y = c->g2[u + 1];
                    double d = npdf(y) * (gsl_cdf_ugaussian_P((c->g1[a + 1] - r * y) / R) -
                                          gsl_cdf_ugaussian_P((c->g1[a] - r * y) / R));
                    a21[s->th0[j] + u] += n * sr * (side ? d : -d) / pi;
                }
            }
        }
    s->a22[k] = a22;
}

void sem_ord_counts_size(const void *counts, size_t cell, double *rows, double *sum_w)
{
    const counts_acc *a = counts;
    *rows = a->rows[cell];
    *sum_w = a->n[cell];
}

int sem_ord_stats_from_counts(const void *counts, size_t cell, const char *const *names,
                              double wscale, sem_ord_stats *s, cx_error *err)
{
    const counts_acc *a = counts;
    memset(s, 0, sizeof *s);
    s->wscale = wscale;
    int rc = stats_layout(a, cell, names, s, err);
    if (rc != CX_OK)
        return rc;
    thresholds(a, cell, s);
    size_t p = s->p, k = 0;
    pair_ctx *c = cx_calloc(1, sizeof *c, err);
    if (!c)
        return CX_ENOMEM;
    for (size_t i = 0; i < p; i++)
        s->rho[i * p + i] = 1;
    const double *bi = a->bi[cell], scale = wscale > 0 ? wscale : 1.0;
    for (size_t j = 0; j + 1 < p; j++)
        for (size_t i = j + 1; i < p; i++, k++, bi += SEM_ORD_SLOTS * SEM_ORD_SLOTS) {
            double *f = s->freq + s->pair_off[k];
            c->n1 = s->ncat[i];
            c->n2 = s->ncat[j];
            for (size_t u = 0; u < SEM_ORD_SLOTS; u++)
                for (size_t v = 0; v < SEM_ORD_SLOTS; v++) {
                    int ca = s->cat_of_code[i * SEM_ORD_SLOTS + u];
                    int cb = s->cat_of_code[j * SEM_ORD_SLOTS + v];
                    if (ca >= 0 && cb >= 0)
                        f[(size_t)ca * c->n2 + (size_t)cb] = scale * bi[u * SEM_ORD_SLOTS + v];
                }
            c->freq = f;
            c->n = s->n;
            c->g1[0] = c->g2[0] = -INFINITY;
            memcpy(c->g1 + 1, s->th + s->th0[i], (c->n1 - 1) * sizeof(double));
            memcpy(c->g2 + 1, s->th + s->th0[j], (c->n2 - 1) * sizeof(double));
            c->g1[c->n1] = c->g2[c->n2] = INFINITY;
            int it = 0;
            double r = c->n1 == 2 && c->n2 == 2 ? tetrachoric(c, &it) : pair_rho(c, &it);
            if (it > s->rho_iterations_max)
                s->rho_iterations_max = it;
            c->freq = f; /* the scores use the observed table */
            s->rho[i * p + j] = s->rho[j * p + i] = r;
            pair_scores(c, r, s, k, i, j);
        }
    free(c);
    return CX_OK;
}

/* ---- pass 2: the scores' cross-products ------------------------------- */

#define INNER_CHUNK 64

typedef struct inner_acc {
    const sem_ord_inner_params *par;
    double **inner; /* per cell dim x dim (upper triangle, row-major)  */
    /* with weights w (normalized): inner sums w^2 s s' (muthen1984's
     * INNER of the weighted scores), inner1 sums w s s' (its INNER2, whose
     * threshold blocks are A11) */
    double **inner1; /* per cell as inner; NULL unweighted              */
    double *rows;    /* INNER_CHUNK x max dim                            */
    double *rows1;   /* the same rows times sqrt(w); weighted only       */
    size_t max_dim;
    size_t *cats; /* p: the categories of one row                     */
} inner_acc;

static void inner_free(void *vacc)
{
    inner_acc *a = vacc;
    if (!a)
        return;
    for (size_t c = 0; c < a->par->n_cells; c++) {
        free(a->inner[c]);
        free(a->inner1[c]);
    }
    free(a->inner);
    free(a->inner1);
    free(a->rows);
    free(a->rows1);
    free(a->cats);
    free(a);
}

static void *inner_alloc(const void *params, cx_error *err)
{
    const sem_ord_inner_params *par = params;
    inner_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    for (size_t c = 0; c < par->n_cells; c++)
        if (par->cell[c] && par->cell[c]->dim > a->max_dim)
            a->max_dim = par->cell[c]->dim;
    a->inner = cx_calloc(par->n_cells + 1, sizeof *a->inner, err);
    a->inner1 = cx_calloc(par->n_cells + 1, sizeof *a->inner1, err);
    a->rows = cx_calloc(INNER_CHUNK * a->max_dim + 1, sizeof *a->rows, err);
    a->rows1 = cx_calloc(INNER_CHUNK * a->max_dim + 1, sizeof *a->rows1, err);
    a->cats = cx_calloc(par->p + 1, sizeof *a->cats, err);
    if (!a->inner || !a->inner1 || !a->rows || !a->rows1 || !a->cats) {
        inner_free(a);
        return NULL;
    }
    for (size_t c = 0; c < par->n_cells; c++) {
        if (!par->cell[c])
            continue;
        size_t dd = par->cell[c]->dim * par->cell[c]->dim;
        int weighted = par->weight_at >= 0;
        if (!(a->inner[c] = cx_calloc(dd, sizeof(double), err)) ||
            (weighted && !(a->inner1[c] = cx_calloc(dd, sizeof(double), err)))) {
            inner_free(a);
            return NULL;
        }
    }
    return a;
}

static void inner_reset(void *vacc)
{
    inner_acc *a = vacc;
    for (size_t c = 0; c < a->par->n_cells; c++)
        if (a->inner[c])
            memset(a->inner[c], 0, a->par->cell[c]->dim * a->par->cell[c]->dim * sizeof(double));
    for (size_t c = 0; c < a->par->n_cells; c++)
        if (a->inner1[c])
            memset(a->inner1[c], 0, a->par->cell[c]->dim * a->par->cell[c]->dim * sizeof(double));
}

/* Row r's scores into out (dim); 0 when an item is missing (pass 1 left
 * the row out too).  cats: p scratch. */
static int row_scores(const sem_ord_stats *s, const cx_block *b, size_t r, size_t *cats,
                      double *out)
{
    size_t p = s->p;
    for (size_t i = 0; i < p; i++) {
        double v = b->data[i * b->ld + r];
        if (isnan(v))
            return 0;
        cats[i] = (size_t)s->cat_of_code[i * SEM_ORD_SLOTS + (size_t)v];
    }
    memset(out, 0, s->nth * sizeof *out);
    for (size_t i = 0; i < p; i++) {
        const double *sc = s->th_score + 2 * (s->th0[i] + i + cats[i]);
        double *o = out + s->th0[i];
        if (cats[i] > 0)
            o[cats[i] - 1] = sc[0];
        if (cats[i] + 1 < s->ncat[i])
            o[cats[i]] = sc[1];
    }
    double *o = out + s->nth;
    size_t k = 0;
    for (size_t j = 0; j + 1 < p; j++)
        for (size_t i = j + 1; i < p; i++, k++)
            o[k] = s->rho_score[s->pair_off[k] + cats[i] * s->ncat[j] + cats[j]];
    return 1;
}

/* The normalized weight of row r (wscale w_r): the row scores times it
 * into *row (INNER's factor w^2 through the cross-product), times its
 * root into *row1 (INNER2's factor w). */
static void weigh_scores(const sem_ord_stats *s, double w, double *row, double *row1)
{
    double ws = s->wscale * w, root = sqrt(ws);
    for (size_t k = 0; k < s->dim; k++) {
        row1[k] = row[k] * root;
        row[k] *= ws;
    }
}

static void inner_flush(inner_acc *a, size_t l, size_t m, size_t d)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, a->rows, (int)d, 1.0,
                a->inner[l], (int)d);
    if (a->inner1[l])
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, a->rows1, (int)d,
                    1.0, a->inner1[l], (int)d);
}

static int inner_add(void *vacc, const cx_block *b, cx_error *err)
{
    (void)err;
    inner_acc *a = vacc;
    const double *wcol = a->par->weight_at >= 0 ? b->data + (size_t)a->par->weight_at * b->ld : NULL;
    for (size_t l = 0; l < b->n_levels && l < a->par->n_cells; l++) {
        const sem_ord_stats *s = a->par->cell[l];
        if (!s)
            continue;
        size_t m = 0, d = s->dim;
        for (size_t r = b->start[l]; r <= b->start[l + 1]; r++) {
            /* a row without weight was left out of pass 1 too */
            if (r < b->start[l + 1] && !(wcol && isnan(wcol[r])) &&
                row_scores(s, b, r, a->cats, a->rows + m * d)) {
                if (wcol)
                    weigh_scores(s, wcol[r], a->rows + m * d, a->rows1 + m * d);
                m++;
            }
            if (m == INNER_CHUNK || (r == b->start[l + 1] && m > 0)) {
                inner_flush(a, l, m, d);
                m = 0;
            }
        }
    }
    return CX_OK;
}

static void inner_merge(void *vacc, const void *vother)
{
    inner_acc *a = vacc;
    const inner_acc *o = vother;
    for (size_t c = 0; c < a->par->n_cells; c++)
        if (a->inner[c]) {
            size_t n = a->par->cell[c]->dim * a->par->cell[c]->dim;
            for (size_t k = 0; k < n; k++)
                a->inner[c][k] += o->inner[c][k];
            for (size_t k = 0; a->inner1[c] && k < n; k++)
                a->inner1[c][k] += o->inner1[c][k];
        }
}

const cx_reducer_type sem_ord_inner = {"ordinal scores", inner_alloc, inner_reset, inner_add,
                                       inner_merge,      NULL,        inner_free};

/* Gamma = N B^-1 INNER B^-T (muthen1984's WLS.W times N). */
int sem_ord_gamma(const void *vinner, size_t cell, sem_ord_stats *s, cx_error *err)
{
    const inner_acc *a = vinner;
    size_t d = s->dim, nth = s->nth;
    double *inner = cx_calloc(d * d, sizeof *inner, err);
    double *binv = cx_calloc(d * d, sizeof *binv, err);
    double *tmp = cx_calloc(d * d, sizeof *tmp, err);
    s->gamma = cx_calloc(d * d, sizeof *s->gamma, err);
    int rc = inner && binv && tmp && s->gamma ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        for (size_t r = 0; r < d; r++)
            for (size_t c = r; c < d; c++)
                inner[r * d + c] = inner[c * d + r] = a->inner[cell][r * d + c];
        /* A11^-1: each item's threshold block of INNER (INNER2 with
         * weights) */
        const double *a11 = a->inner1[cell] ? a->inner1[cell] : a->inner[cell];
        for (size_t i = 0; i < s->p && rc == CX_OK; i++) {
            size_t o = s->th0[i], k = s->ncat[i] - 1;
            for (size_t r = 0; r < k; r++)
                for (size_t c = r; c < k; c++)
                    binv[(o + r) * d + o + c] = binv[(o + c) * d + o + r] =
                        a11[(o + r) * d + o + c];
            lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)k, binv + o * d + o,
                                             (lapack_int)d);
            if (info == 0)
                info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)k, binv + o * d + o,
                                      (lapack_int)d);
            if (info != 0)
                rc = cx_error_set(err, CX_EFAIL,
                                  "the threshold information of an ordered item is singular");
            for (size_t r = 0; r < k; r++)
                for (size_t c = r + 1; c < k; c++)
                    binv[(o + r) * d + o + c] = binv[(o + c) * d + o + r];
        }
    }
    for (size_t k = 0; rc == CX_OK && k < s->npair; k++)
        if (!(s->a22[k] > 0))
            rc = cx_error_set(err, CX_EFAIL, "a polychoric correlation has no information");
    if (rc == CX_OK) {
        /* rows of the correlations: -A22^-1 A21 A11^-1 | A22^-1 */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->npair, (int)nth, (int)nth,
                    -1.0, s->a21, (int)nth, binv, (int)d, 0.0, binv + nth * d, (int)d);
        for (size_t k = 0; k < s->npair; k++) {
            double *row = binv + (nth + k) * d;
            for (size_t c = 0; c < nth; c++)
                row[c] /= s->a22[k];
            row[nth + k] = 1.0 / s->a22[k];
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, binv,
                    (int)d, inner, (int)d, 0.0, tmp, (int)d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)d, s->n, tmp,
                    (int)d, binv, (int)d, 0.0, s->gamma, (int)d);
    }
    free(inner);
    free(binv);
    free(tmp);
    return rc;
}
