/*
 * estimate.c — maximum-likelihood estimation of a structural equation
 * model from sample moments, reproducing lavaan 0.6.14's defaults for
 * complete continuous data (estimator = "ML", information = "expected",
 * se = "standard", likelihood = "normal", fixed.x = TRUE).
 *
 * Objective (lavaan's estimator.ML, per group g):
 *   F_g = log|Sigma| - log|S| + tr(S Sigma^-1) - p + (ybar - mu)' Sigma^-1 (ybar - mu)
 * (the mean part only with a meanstructure), and lavaan's fmin is
 *   fmin = sum_g (N_g / N) F_g / 2,   chisq = 2 N fmin.
 * Optimizer: Fisher scoring, x <- x - I(x)^-1 grad(x), with step halving,
 * by the engine's optimizer (engine/optimize.h; this file supplies fmin,
 * its gradient and I; info_sparse.c computes them, and near the optimum
 * the exact Hessian for Newton steps).
 * I is the expected information per observation, which is also the
 * expected Hessian of fmin:
 *   I_kl = sum_g w_g [ tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) / 2 + dmu_k' Sigma^-1 dmu_l ].
 * Scoring converges to machine precision in a few dozen steps for these
 * models, tighter than lavaan's nlminb (rel.tol 1e-10).
 * Standard errors: vcov = (N I)^-1 at the estimate.
 * Equality constraints: rows that share a `free` number, a label, or are
 * tied by a simple `a == b` row (labels or plabels) are one parameter.
 */
#include "est_internal.h"
#include "fiml.h"
#include "optimize.h"
#include "syntax.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------- */

const char *sem_op_text(sem_op op)
{
    static const char *const text[] = {"=~", "~", "~~", "~1", "|", ":=", "==", "<", ">"};
    return (unsigned)op < sizeof text / sizeof text[0] ? text[op] : "?";
}

void sem_fit_warn(sem_fit *fit, const char *fmt, ...)
{
    size_t len = strlen(fit->warnings);
    if (len + 2 >= sizeof fit->warnings)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fit->warnings + len, sizeof fit->warnings - len - 1, fmt, ap);
    va_end(ap);
    len = strlen(fit->warnings);
    fit->warnings[len] = '\n';
    fit->warnings[len + 1] = '\0';
}

sem_fit *sem_fit_alloc(void)
{
    return calloc(1, sizeof(sem_fit));
}

void sem_fit_free(sem_fit *f)
{
    if (!f)
        return;
    free(f->measures);
    free(f->r2_names);
    free(f->r2_group);
    free(f->r2);
    free(f->modindices);
    free(f);
}

double sem_fit_measure(const sem_fit *f, const char *name)
{
    for (size_t i = 0; f && i < f->n_measures; i++)
        if (strcmp(f->measures[i].name, name) == 0)
            return f->measures[i].value;
    return NAN;
}

void sem_est_param_name(const sem_est *e, int par, char *buf, size_t len)
{
    for (size_t r = 0; r < e->pt->n_rows; r++)
        if (e->row_par[r] == par) {
            const sem_param *row = &e->pt->rows[r];
            snprintf(buf, len, "%s %s %s", row->lhs, sem_op_text(row->op), row->rhs);
            return;
        }
    snprintf(buf, len, "parameter %d", par + 1);
}

static void est_free(sem_est *e)
{
    sem_model_free(&e->mod);
    free(e->w);
    free(e->row_t);
    free(e->row_par);
    free(e->row_fixed);
    free(e->entries);
    free(e->x);
    free(e->sinv);
    free(e->f_g);
    free(e->logdet_s);
    free(e->work);
    free(e->scratch);
    sem_fiml_ws_free(e->fiml);
}

/* ---- equality classes ------------------------------------------------ */

static int uf_find(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_union(int *parent, int a, int b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b)
        parent[a > b ? a : b] = a < b ? a : b;
}

/* First free row whose label or plabel is `name`, or -1. */
static int row_by_label(const sem_partable *pt, const char *name)
{
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->free > 0 && ((row->label[0] && strcmp(row->label, name) == 0) ||
                              (row->plabel[0] && strcmp(row->plabel, name) == 0)))
            return (int)r;
    }
    return -1;
}

/* Merge rows into parameters: same free number, same label, or a == b. */
static int merge_equalities(sem_est *e, cx_error *err)
{
    const sem_partable *pt = e->pt;
    size_t n = pt->n_rows;
    int *parent = cx_malloc(n * sizeof(int), err);
    if (!parent)
        return CX_ENOMEM;
    for (size_t r = 0; r < n; r++)
        parent[r] = (int)r;
    for (size_t r = 0; r < n; r++)
        for (size_t s = 0; s < r; s++) {
            const sem_param *a = &pt->rows[r], *b = &pt->rows[s];
            if (a->free <= 0 || b->free <= 0)
                continue;
            if (a->free == b->free || (a->label[0] && strcmp(a->label, b->label) == 0))
                uf_union(parent, (int)r, (int)s);
        }
    for (size_t r = 0; r < n; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->op == SEM_OP_LESS || row->op == SEM_OP_GREATER) {
            free(parent);
            return cx_error_set(err, CX_EUSAGE,
                                "constraint '%s %s %s' is not supported yet (inequality "
                                "constraints); remove it or fix the parameter instead",
                                row->lhs, sem_op_string(row->op), row->rhs);
        }
        if (row->op != SEM_OP_EQUAL)
            continue;
        int a = row_by_label(pt, row->lhs), b = row_by_label(pt, row->rhs);
        if (a < 0 || b < 0) {
            /* Never fit a model other than the one asked for. */
            free(parent);
            return cx_error_set(err, CX_EUSAGE,
                                "constraint '%s == %s' is not supported yet: only equalities "
                                "of two labelled free parameters (a == b) are",
                                row->lhs, row->rhs);
        }
        uf_union(parent, a, b);
    }
    size_t q = 0;
    for (size_t r = 0; r < n; r++) {
        e->row_par[r] = -1;
        if (pt->rows[r].free <= 0 || e->row_t[r].mat == SEM_MAT_NONE)
            continue;
        int root = uf_find(parent, (int)r);
        e->row_par[r] = root == (int)r ? (int)q++ : e->row_par[root];
    }
    free(parent);
    e->q = q;
    return CX_OK;
}

/* ---- setup ----------------------------------------------------------- */

static double sample_value(const sem_est *e, const sem_param *row, const sem_target *t)
{
    const sem_sample *s = &e->smp[t->group];
    int a = sem_model_ov_index(&e->mod, row->lhs);
    int b = sem_model_ov_index(&e->mod, row->rhs);
    if (row->op == SEM_OP_COVARIANCE && a >= 0 && b >= 0)
        return s->cov[(size_t)a * e->p + (size_t)b];
    if (row->op == SEM_OP_INTERCEPT && a >= 0)
        return s->mean[a];
    return 0.0;
}

int sem_log_det_spd(double *a, size_t p, double *logdet)
{
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, a, (lapack_int)p) != 0)
        return CX_EFAIL;
    double s = 0.0;
    for (size_t i = 0; i < p; i++)
        s += log(a[i * p + i]);
    *logdet = 2.0 * s;
    return CX_OK;
}

static int check_samples(sem_est *e, cx_error *err)
{
    e->n_total = 0.0;
    for (size_t g = 0; g < e->n_groups; g++) {
        if (e->smp[g].p != e->p || !e->smp[g].cov || (e->pt->meanstructure && !e->smp[g].mean))
            return cx_error_set(err, CX_EUSAGE,
                                "group %zu: sample moments do not match the "
                                "model's %zu observed variables",
                                g + 1, e->p);
        if (!(e->smp[g].n > 0))
            return cx_error_set(err, CX_EUSAGE, "group %zu: no observations", g + 1);
        e->n_total += e->smp[g].n;
        memcpy(e->work, e->smp[g].cov, sizeof(double) * e->p * e->p);
        if (sem_log_det_spd(e->work, e->p, &e->logdet_s[g]) != CX_OK)
            return cx_error_set(err, CX_EFAIL,
                                "group %zu: the sample covariance matrix is not "
                                "positive definite",
                                g + 1);
    }
    for (size_t g = 0; g < e->n_groups; g++)
        e->w[g] = e->smp[g].n / e->n_total;
    return CX_OK;
}

static int alloc_est(sem_est *e, cx_error *err)
{
    size_t n = e->pt->n_rows, G = e->n_groups, p = e->p;
    e->w = cx_calloc(G, sizeof(double), err);
    e->row_t = cx_calloc(n, sizeof(sem_target), err);
    e->row_par = cx_calloc(n, sizeof(int), err);
    e->row_fixed = cx_calloc(n, sizeof(double), err);
    e->entries = cx_calloc(n, sizeof(sem_entry), err);
    e->sinv = cx_calloc(G * p * p, sizeof(double), err);
    e->f_g = cx_calloc(G, sizeof(double), err);
    e->logdet_s = cx_calloc(G, sizeof(double), err);
    e->work = cx_calloc(p * p + 1, sizeof(double), err);
    if (!e->w || !e->row_t || !e->row_par || !e->row_fixed || !e->entries || !e->sinv || !e->f_g ||
        !e->logdet_s || !e->work)
        return CX_ENOMEM;
    return CX_OK;
}

static int map_rows(sem_est *e, cx_error *err)
{
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        const sem_param *row = &e->pt->rows[r];
        int rc =
            sem_model_target(&e->mod, row->lhs, row->op, row->rhs, row->group, &e->row_t[r], err);
        if (rc != CX_OK)
            return rc;
        if (row->op == SEM_OP_INTERCEPT && !e->pt->meanstructure)
            return cx_error_set(err, CX_EUSAGE,
                                "intercept '%s ~1' in a model without a "
                                "meanstructure",
                                row->lhs);
    }
    return CX_OK;
}

/* missing = fiml (fiml.c): every group has its patterns, the model a
 * meanstructure.  fixed.x covariates are complete (sem_data dropped the
 * rows missing one, as lavaan), so their EM moments are the sample ones. */
static int fiml_setup(sem_est *e, cx_error *err)
{
    for (size_t g = 0; g < e->n_groups; g++)
        if (!e->smp[g].patterns)
            return cx_error_set(err, CX_EUSAGE, "group %zu: no missing-pattern statistics", g + 1);
    if (!e->pt->meanstructure)
        return cx_error_set(err, CX_EUSAGE, "missing = fiml needs a meanstructure");
    e->fiml = sem_fiml_ws_alloc(e, err);
    return e->fiml ? CX_OK : CX_ENOMEM;
}

static int setup(sem_est *e, sem_partable *pt, const sem_sample *smp, cx_error *err)
{
    memset(e, 0, sizeof *e);
    e->pt = pt;
    e->smp = smp;
    int rc = sem_model_init(&e->mod, pt, err);
    if (rc != CX_OK)
        return rc;
    e->n_groups = e->mod.n_groups;
    e->p = e->mod.p;
    if ((rc = alloc_est(e, err)) != CX_OK || (rc = check_samples(e, err)) != CX_OK ||
        (rc = map_rows(e, err)) != CX_OK || (rc = merge_equalities(e, err)) != CX_OK)
        return rc;
    e->x = cx_calloc(e->q + 1, sizeof(double), err);
    if (!e->x)
        return CX_ENOMEM;
    if (smp[0].patterns && (rc = fiml_setup(e, err)) != CX_OK)
        return rc;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (e->row_t[r].mat == SEM_MAT_NONE)
            continue;
        if (e->row_par[r] >= 0) {
            e->entries[e->n_entries].slot = e->row_par[r];
            e->entries[e->n_entries++].t = e->row_t[r];
        } else if (row->exo) {
            e->row_fixed[r] = sample_value(e, row, &e->row_t[r]); /* fixed.x */
        } else {
            e->row_fixed[r] = isfinite(row->fixed_value) ? row->fixed_value : 0.0;
        }
    }
    return CX_OK;
}

/* lavaan's first guesses (lav_start() before its FABIN and OLS steps,
 * which start.c adds): loadings 1, residual variances half the sample
 * variance, latent variances 0.05, intercepts the sample means,
 * everything else 0. */
static double simple_start(const sem_est *e, size_t r)
{
    const sem_param *row = &e->pt->rows[r];
    const sem_target *t = &e->row_t[r];
    int a = sem_model_ov_index(&e->mod, row->lhs);
    switch (row->op) {
    case SEM_OP_LOADING:
        return 1.0;
    case SEM_OP_COVARIANCE:
        if (strcmp(row->lhs, row->rhs) != 0)
            return 0.0;
        if (a < 0)
            return 0.05;
        return (row->exo ? 1.0 : 0.5) * e->smp[t->group].cov[(size_t)a * e->p + (size_t)a];
    case SEM_OP_INTERCEPT:
        return a >= 0 ? e->smp[t->group].mean[a] : 0.0;
    default:
        return 0.0;
    }
}

/* Per row: lavaan's default start (start.c), a finite row->start (the
 * user's start() modifier) winning; a parameter shared by several rows
 * starts at its first row's value. */
static int start_values(sem_est *e, const sem_fit_options *opt, cx_error *err)
{
    size_t n = e->pt->n_rows;
    double *row_start = cx_malloc(sizeof(double) * (n + 1), err);
    int *done = cx_calloc(e->q + 1, sizeof(int), err);
    if (!row_start || !done) {
        free(row_start);
        free(done);
        return CX_ENOMEM;
    }
    for (size_t r = 0; r < n; r++)
        row_start[r] = e->row_par[r] >= 0 ? simple_start(e, r) : 0.0;
    sem_start_refine(e, opt && opt->growth, row_start);
    for (size_t r = 0; r < n; r++) {
        int k = e->row_par[r];
        if (k < 0 || done[k])
            continue;
        e->x[k] = isfinite(e->pt->rows[r].start) ? e->pt->rows[r].start : row_start[r];
        done[k] = 1;
    }
    free(row_start);
    free(done);
    return CX_OK;
}

/* ---- objective, derivatives, information ----------------------------- */

static void fill_model(sem_est *e, const double *x)
{
    sem_model_clear(&e->mod);
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        if (e->row_t[r].mat == SEM_MAT_NONE)
            continue;
        int k = e->row_par[r];
        sem_model_set(&e->mod, &e->row_t[r], k >= 0 ? x[k] : e->row_fixed[r]);
    }
}

/* F_ML of group g given Sigma^-1 (already in e->sinv) and log|Sigma|. */
static double group_discrepancy(const sem_est *e, size_t g, double logdet_sigma)
{
    size_t p = e->p;
    const double *si = e->sinv + g * p * p, *s = e->smp[g].cov;
    const sem_group_matrices *G = &e->mod.grp[g];
    double tr = 0.0, quad = 0.0;
    for (size_t i = 0; i < p * p; i++)
        tr += s[i] * si[i];
    if (e->pt->meanstructure)
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                quad +=
                    (e->smp[g].mean[i] - G->mu[i]) * si[i * p + j] * (e->smp[g].mean[j] - G->mu[j]);
    return logdet_sigma - e->logdet_s[g] + tr - (double)p + quad;
}

/* A^-1 in place and log|A| of an exactly symmetric positive-definite A.
 * A symmetric matrix reads the same in row- and column-major order, so
 * LAPACK's column-major routines take it as it is: the numbers of
 * LAPACKE's row-major calls (which transpose in and out, and scan for
 * NaNs, a large part of a small fit's time) with none of the copying.
 * The inverse lands in the (row-major) upper triangle and is mirrored. */
static int invert_symmetric_spd(double *a, size_t p, double *logdet)
{
    lapack_int n = (lapack_int)p;
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, a, n) != 0)
        return CX_EFAIL;
    double s = 0.0;
    for (size_t i = 0; i < p; i++)
        s += log(a[i * p + i]);
    *logdet = 2.0 * s;
    if (LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', n, a, n) != 0)
        return CX_EFAIL;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++)
            a[i * p + j] = a[j * p + i];
    return CX_OK;
}

int sem_est_evaluate(sem_est *e, const double *x, double *fmin, cx_error *err)
{
    size_t p = e->p;
    fill_model(e, x);
    int rc = sem_model_implied(&e->mod, err);
    if (rc != CX_OK)
        return rc;
    double f = 0.0;
    for (size_t g = 0; g < e->n_groups; g++) {
        double *si = e->sinv + g * p * p, logdet;
        memcpy(si, e->mod.grp[g].sigma, sizeof(double) * p * p);
        if (invert_symmetric_spd(si, p, &logdet) != CX_OK)
            return cx_error_set(err, CX_EFAIL,
                                "group %zu: implied covariance matrix is not "
                                "positive definite",
                                g + 1);
        if (e->fiml) { /* missing = fiml: the casewise likelihood (fiml.c) */
            if ((rc = sem_fiml_discrepancy(e, g, &e->f_g[g], err)) != CX_OK)
                return rc;
        } else {
            e->f_g[g] = group_discrepancy(e, g, logdet);
        }
        f += e->w[g] * e->f_g[g];
    }
    *fmin = 0.5 * f;
    return CX_OK;
}

void sem_est_delta(const sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                   double *ds, double *dm)
{
    size_t p = e->p;
    memset(ds, 0, sizeof(double) * e->n_groups * n_slots * p * p);
    memset(dm, 0, sizeof(double) * e->n_groups * n_slots * p);
    for (size_t k = 0; k < n_entries; k++) {
        const sem_entry *en = &entries[k];
        size_t g = (size_t)en->t.group, s = (size_t)en->slot;
        sem_model_add_derivative(&e->mod, &en->t, 1.0, ds + (g * n_slots + s) * p * p,
                                 e->pt->meanstructure ? dm + (g * n_slots + s) * p : NULL);
    }
}

/* Work space of the derivative formulas below, grown (never shrunk) to
 * the largest size asked for: the optimizer's iterations ask the same
 * size every time, so only the first allocates.  NULL when out of memory. */
double *sem_est_scratch(sem_est *e, size_t len)
{
    if (len > e->scratch_len) {
        double *s = realloc(e->scratch, sizeof(double) * len);
        if (!s)
            return NULL;
        e->scratch = s;
        e->scratch_len = len;
    }
    return e->scratch;
}

static void fill_nan(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
}

/* d fmin / d theta_k = sum_g w_g/2 [ tr(W dSigma) - 2 r' Sigma^-1 dmu ],
 * W = Sigma^-1 - Sigma^-1 (S + r r') Sigma^-1, r = ybar - mu. */
void sem_est_gradient(sem_est *e, const double *ds, const double *dm, size_t n_slots, double *grad)
{
    size_t p = e->p;
    double *wm = sem_est_scratch(e, 2 * p * p + 2 * p + 1);
    if (!wm) { /* out of memory: the optimizer stops on a non-finite gradient */
        fill_nan(grad, n_slots);
        return;
    }
    double *tmp = wm + p * p, *r = tmp + p * p, *sr = r + p;
    memset(grad, 0, sizeof(double) * n_slots);
    for (size_t g = 0; g < e->n_groups; g++) {
        const double *si = e->sinv + g * p * p;
        if (e->fiml) { /* the same shape, summed over missing patterns */
            sem_fiml_gradient_parts(e, g, wm, sr);
        } else {
            for (size_t i = 0; i < p; i++) {
                r[i] = e->pt->meanstructure ? e->smp[g].mean[i] - e->mod.grp[g].mu[i] : 0.0;
            }
            for (size_t i = 0; i < p; i++)
                for (size_t j = 0; j < p; j++)
                    tmp[i * p + j] = e->smp[g].cov[i * p + j] + r[i] * r[j];
            /* wm = Sigma^-1 - Sigma^-1 tmp Sigma^-1 */
            int n = (int)p;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, tmp, n, si, n, 0.0,
                        wm, n);
            memcpy(tmp, wm, sizeof(double) * p * p);
            memcpy(wm, si, sizeof(double) * p * p);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, -1.0, si, n, tmp, n,
                        1.0, wm, n);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0, si, n, r, 1, 0.0, sr, 1);
        }
        for (size_t s = 0; s < n_slots; s++) {
            const double *d = ds + (g * n_slots + s) * p * p;
            double acc = 0.0;
            for (size_t i = 0; i < p * p; i++)
                acc += wm[i] * d[i];
            if (e->pt->meanstructure) {
                const double *m = dm + (g * n_slots + s) * p;
                for (size_t i = 0; i < p; i++)
                    acc -= 2.0 * sr[i] * m[i];
            }
            grad[s] += 0.5 * e->w[g] * acc;
        }
    }
}

void sem_est_information(sem_est *e, const double *ds, const double *dm, size_t n_slots,
                         double *info)
{
    size_t p = e->p, pp = p * p;
    if (e->fiml) {
        sem_fiml_information(e, ds, dm, n_slots, info);
        return;
    }
    double *a = sem_est_scratch(e, 2 * n_slots * pp + n_slots * p + 1);
    if (!a) {
        fill_nan(info, n_slots * n_slots);
        return;
    }
    double *at = a + n_slots * pp, *sm = at + n_slots * pp;
    int n = (int)p, q = (int)n_slots;
    memset(info, 0, sizeof(double) * n_slots * n_slots);
    for (size_t g = 0; g < e->n_groups; g++) {
        const double *si = e->sinv + g * pp;
        /* A_k = Sigma^-1 dSigma_k; its transpose is dSigma_k Sigma^-1 (both
         * factors symmetric), and the dSigma_k stacked one under another
         * make ONE product [dSigma_1; ...; dSigma_q] Sigma^-1 (small
         * matrices: a BLAS call per parameter costs more in overhead than
         * in arithmetic).  tr(A_k A_l) = sum_ab A_k[a,b] A_l'[a,b], so the
         * whole matrix of traces is one more product [vec A_k] [vec A_l']'. */
        const double *d = ds + g * n_slots * pp;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q * n, n, n, 1.0, d, n, si, n, 0.0,
                    at, n);
        for (size_t s = 0; s < n_slots; s++)
            for (size_t i = 0; i < p; i++)
                for (size_t j = 0; j < p; j++)
                    a[s * pp + i * p + j] = at[s * pp + j * p + i];
        if (e->pt->meanstructure) /* rows Sigma^-1 dmu_k, as dmu_k' Sigma^-1 */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, n, n, 1.0,
                        dm + g * n_slots * p, n, si, n, 0.0, sm, n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q, q, (int)pp, 0.5 * e->w[g], a,
                    (int)pp, at, (int)pp, 1.0, info, q);
        /* mean part: dmu_k' Sigma^-1 dmu_l */
        if (e->pt->meanstructure)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q, q, n, e->w[g], sm, n,
                        dm + g * n_slots * p, n, 1.0, info, q);
    }
    /* exactly symmetric, as the per-pair loop made it */
    for (size_t k = 0; k < n_slots; k++)
        for (size_t l = 0; l < k; l++)
            info[l * n_slots + k] = info[k * n_slots + l];
}

/* ---- identification -------------------------------------------------- */

/* Eigen-decompose the information scaled to unit diagonal; a (near) zero
 * eigenvalue means a direction in parameter space the data cannot see.
 * The parameter with the largest weight in that direction is named. */
/* Eigenvalues cost a fit as much as a few optimizer steps, and almost
 * every model is well identified: with C the information scaled to unit
 * diagonal, lambda_max(C) <= tr(C) = q and lambda_min(C) >= 1 / tr(C^-1),
 * so when the inverse (inv: the information's, whose diagonal gives
 * (C^-1)_kk = I_kk (I^-1)_kk) exists and q tr(C^-1) stays below 1 / 2e-10
 * (a factor 2 of margin), the smallest scaled eigenvalue is above the
 * 1e-10 of the largest that the check below refuses, without computing it. */
static int identified_by_trace(const double *info, const double *inv, size_t q)
{
    double tr = 0.0;
    for (size_t k = 0; k < q; k++) {
        double c = info[k * q + k] * inv[k * q + k];
        if (!(c > 0.0) || !isfinite(c))
            return 0;
        tr += c;
    }
    return (double)q * tr < 0.5e10;
}

static int check_identified(sem_est *e, const double *info, const double *inv, cx_error *err)
{
    size_t q = e->q;
    if (q == 0)
        return CX_OK;
    for (size_t k = 0; k < q; k++)
        if (!(info[k * q + k] > 1e-12 * (1.0 + fabs(e->x[k])))) {
            char name[3 * SEM_NAME_MAX];
            sem_est_param_name(e, (int)k, name, sizeof name);
            return cx_error_set(err, CX_EFAIL, "parameter '%s' is not identified", name);
        }
    if (inv && identified_by_trace(info, inv, q))
        return CX_OK;
    double *c = malloc(sizeof(double) * (2 * q * q + q));
    double *ev = c + q * q;
    if (!c)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    for (size_t k = 0; k < q; k++)
        for (size_t l = 0; l < q; l++)
            c[k * q + l] = info[k * q + l] / sqrt(info[k * q + k] * info[l * q + l]);
    int rc = CX_OK;
    /* eigenvalues alone first (a fraction of the cost with vectors, paid
     * by every fit); the vectors only to name the parameters of a null
     * direction, from the unchanged scaled matrix */
    double *vec = c + q * q + q;
    memcpy(vec, c, sizeof(double) * q * q);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)q, vec, (lapack_int)q, ev) == 0 &&
        ev[0] < 1e-10 * ev[q - 1] &&
        LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)q, c, (lapack_int)q, ev) == 0 &&
        ev[0] < 1e-10 * ev[q - 1]) {
        /* The null direction usually moves several parameters together (a
         * loading and its factor's variance); name every one whose weight is
         * within half of the largest, so the message does not depend on
         * which of two near-equal weights the LAPACK build rounds up. */
        double wmax = 0.0;
        for (size_t k = 0; k < q; k++) /* eigenvector of ev[0] is column 0 */
            wmax = fmax(wmax, fabs(c[k * q]));
        char names[512] = "";
        size_t used = 0, named = 0;
        for (size_t k = 0; k < q && used + 3 * SEM_NAME_MAX + 8 < sizeof names; k++) {
            if (fabs(c[k * q]) < 0.5 * wmax)
                continue;
            char name[3 * SEM_NAME_MAX];
            sem_est_param_name(e, (int)k, name, sizeof name);
            used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'",
                                     named ? ", " : "", name);
            named++;
        }
        rc = cx_error_set(err, CX_EFAIL,
                          "%s %s %s not identified (the information matrix is "
                          "singular, smallest scaled eigenvalue %.3g)",
                          named > 1 ? "parameters" : "parameter", names,
                          named > 1 ? "are" : "is", ev[0]);
    }
    free(c);
    return rc;
}

/* ---- optimizer ------------------------------------------------------- *
 * The engine's optimizer (engine/optimize.h) minimizes fmin by Fisher
 * scoring: the curvature handed to it is the expected information, which
 * is the expected Hessian of fmin.  The SEM keeps only its objective. */

/* Complete data switch from Fisher scoring to Newton steps (the exact
 * Hessian, info_sparse.c) once a step moves every parameter by less than
 * this (relative): scoring converges
 * linearly, at a rate set by the misfit (65 steps for the
 * Holzinger-Swineford CFA, 16 with the switch), Newton quadratically near
 * the optimum; far from it scoring is the safer guide (its curvature is
 * positive definite wherever Sigma is), and lavaan's start values lead
 * it to the same optimum as before.  A Hessian that is not positive
 * definite there (an improper solution) gives the step back to scoring. */
#define SEM_NEWTON_SWITCH 1e-3

typedef struct scoring_ws {
    double *ds, *dm;   /* dSigma, dmu per group and parameter (FIML only) */
    cx_optimizer *opt; /* gradient and curvature at the solution */
    double *last_x;    /* x of the previous derivatives call */
    double *chol;      /* q x q: positive-definiteness check of a Hessian */
    double *info;      /* q x q: expected information at the solution */
    int has_last;      /* last_x is set */
    int newton;        /* the last curvature handed out was the Hessian */
} scoring_ws;

static int ws_alloc(scoring_ws *w, const sem_est *e, cx_error *err)
{
    /* dense derivative matrices only for FIML (complete data: info_sparse.c) */
    size_t q = e->q ? e->q : 1, G = e->fiml ? e->n_groups : 0, p = e->p;
    w->ds = cx_malloc(sizeof(double) * (G * q * p * p + 1), err);
    w->dm = cx_malloc(sizeof(double) * (G * q * p + 1), err);
    w->opt = cx_optimizer_alloc(e->q, err);
    w->last_x = cx_malloc(sizeof(double) * (q + 2 * q * q), err);
    if (!w->ds || !w->dm || !w->opt || !w->last_x)
        return CX_ENOMEM;
    w->chol = w->last_x + q;
    w->info = w->chol + q * q;
    return CX_OK;
}

static void ws_free(scoring_ws *w)
{
    free(w->ds);
    free(w->dm);
    free(w->last_x);
    cx_optimizer_free(w->opt);
}

typedef struct sem_objective {
    sem_est *e;
    scoring_ws *w;
} sem_objective;

static int objective_value(const double *x, double *f, void *data, cx_error *err)
{
    sem_objective *o = data;
    return sem_est_evaluate(o->e, x, f, err);
}

/* 1 when x moved by less than SEM_NEWTON_SWITCH since the last call, and
 * x becomes the last point. */
static int near_last(scoring_ws *w, const double *x, size_t q)
{
    double mv = 0.0;
    for (size_t k = 0; k < q; k++)
        mv = fmax(mv, fabs(x[k] - w->last_x[k]) / (1.0 + fabs(w->last_x[k])));
    int near = w->has_last && mv < SEM_NEWTON_SWITCH;
    memcpy(w->last_x, x, sizeof(double) * q);
    w->has_last = 1;
    return near;
}

/* The exact Hessian as the curvature where it applies and is positive
 * definite (a Newton step); 0 otherwise. */
static int newton_curvature(sem_est *e, scoring_ws *w, double *grad, double *curv)
{
    size_t q = e->q;
    if (sem_est_ml_hessian(e, e->entries, e->n_entries, q, grad, curv) != CX_OK)
        return 0;
    memcpy(w->chol, curv, sizeof(double) * q * q);
    return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)q, w->chol, (lapack_int)q) == 0;
}

/* Gradient and curvature at the x of the last objective_value() call
 * (the model's implied moments are still those of x). */
static int objective_derivatives(const double *x, double *grad, double *info, void *data,
                                 cx_error *err)
{
    sem_objective *o = data;
    sem_est *e = o->e;
    if (!e->fiml) { /* complete data: from the derivatives' structure (info_sparse.c) */
        o->w->newton = near_last(o->w, x, e->q) && newton_curvature(e, o->w, grad, info);
        if (o->w->newton)
            return CX_OK;
        return sem_est_ml_derivatives(e, e->entries, e->n_entries, e->q, grad, info) == CX_OK
                   ? CX_OK
                   : cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    sem_est_delta(e, e->entries, e->n_entries, e->q, o->w->ds, o->w->dm);
    sem_est_gradient(e, o->w->ds, o->w->dm, e->q, grad);
    sem_est_information(e, o->w->ds, o->w->dm, e->q, info);
    return CX_OK;
}

/* The expected information at the solution (standard errors): the
 * optimizer's curvature, unless that was the Hessian of a Newton step. */
static int solution_information(sem_est *e, scoring_ws *w, const double **info, cx_error *err)
{
    *info = cx_optimizer_curvature(w->opt);
    if (!w->newton)
        return CX_OK;
    double *grad = w->chol; /* q doubles of scratch */
    if (sem_est_ml_derivatives(e, e->entries, e->n_entries, e->q, grad, w->info) != CX_OK)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    *info = w->info;
    return CX_OK;
}

static int optimize(sem_est *e, const sem_fit_options *opt, sem_fit *fit, scoring_ws *w,
                    double *fmin, cx_error *err)
{
    sem_objective data = {e, w};
    cx_objective obj = {e->q, CX_OPT_MINIMIZE, objective_value, objective_derivatives, &data};
    cx_opt_options o = {.max_iter = opt && opt->max_iter > 0 ? opt->max_iter : 10000,
                        .xtol = opt && opt->tol > 0 ? opt->tol : 1e-12,
                        .gtol = 1e-8};
    cx_opt_report rep;
    cx_opt_status st = opt && opt->evaluate_only
                           ? cx_optimizer_evaluate(w->opt, &obj, e->x, &rep, err)
                           : cx_optimizer_run(w->opt, &obj, e->x, &o, &rep, err);
    *fmin = rep.f;
    fit->iterations = rep.iterations;
    fit->converged = st == CX_OPT_CONVERGED;
    if (rep.iterations == 0 && (st == CX_OPT_EVAL_FAILED || st == CX_OPT_NOT_FINITE)) {
        /* formatted into a copy: err->msg is both source and target */
        char why[CX_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s",
                 st == CX_OPT_EVAL_FAILED ? err->msg : cx_opt_status_text(st));
        return cx_error_set(err, CX_EFAIL, "starting values: %s", why);
    }
    if (st == CX_OPT_EVAL_FAILED) {
        char why[CX_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return cx_error_set(err, CX_EFAIL, "after %d iterations: %s", rep.iterations, why);
    }
    if (!fit->converged)
        sem_fit_warn(fit,
                     "the optimizer did not converge after %d iterations (%s; largest "
                     "gradient element %.3g)",
                     rep.iterations, cx_opt_status_text(st), rep.grad_norm);
    return CX_OK;
}

/* ---- results --------------------------------------------------------- */

static int write_estimates(sem_est *e, scoring_ws *w, double *vcov, cx_error *err)
{
    size_t q = e->q;
    const double *info;
    int rc = solution_information(e, w, &info, err);
    if (rc != CX_OK)
        return rc;
    memcpy(vcov, info, sizeof(double) * q * q);
    int inverted =
        q == 0 || (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, vcov, (lapack_int)q) == 0 &&
                   LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, vcov, (lapack_int)q) == 0);
    rc = check_identified(e, info, inverted ? vcov : NULL, err);
    if (rc != CX_OK)
        return rc;
    if (!inverted)
        return cx_error_set(err, CX_EFAIL,
                            "the information matrix could not be inverted: the "
                            "model may not be identified");
    for (size_t k = 0; k < q; k++)
        for (size_t l = 0; l <= k; l++) {
            vcov[k * q + l] /= e->n_total;
            vcov[l * q + k] = vcov[k * q + l];
        }
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        sem_param *row = &e->pt->rows[r];
        int k = e->row_par[r];
        if (e->row_t[r].mat == SEM_MAT_NONE)
            continue;
        row->est = k >= 0 ? e->x[k] : e->row_fixed[r];
        row->se = k >= 0 ? sqrt(vcov[(size_t)k * q + (size_t)k]) : 0.0;
    }
    return CX_OK;
}

/* Defined parameters: value from the labelled estimates; se by the delta
 * method with a central-difference Jacobian (Richardson-extrapolated). */
typedef struct label_ctx {
    const sem_est *e;
    const double *values; /* per row */
} label_ctx;

static double lookup_label(const char *name, void *vctx)
{
    const label_ctx *c = vctx;
    const sem_partable *pt = c->e->pt;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->op == SEM_OP_EQUAL)
            continue;
        if (row->op == SEM_OP_DEFINED ? strcmp(row->lhs, name) == 0
                                      : ((row->label[0] && strcmp(row->label, name) == 0) ||
                                         (row->plabel[0] && strcmp(row->plabel, name) == 0)))
            return c->values[r];
    }
    return NAN;
}

/* Evaluate all := rows in order into values[] (rows earlier may be used). */
static int eval_defined(const sem_est *e, double *values)
{
    label_ctx c = {e, values};
    int all_ok = 1;
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        if (e->pt->rows[r].op != SEM_OP_DEFINED)
            continue;
        /* The parser's tree when the table came from syntax; else (a table
         * built elsewhere, e.g. from lavaan's parTable) parse lavaan's rhs. */
        const sem_expr *expr = e->pt->rows[r].expr;
        sem_expr *parsed = NULL;
        cx_error ignore = {0};
        if (!expr)
            expr = parsed = sem_expr_parse(e->pt->rows[r].rhs, &ignore);
        values[r] = expr ? sem_expr_eval(expr, lookup_label, &c) : NAN;
        all_ok &= expr != NULL;
        sem_expr_free(parsed);
    }
    return all_ok;
}

static void row_values_from_x(const sem_est *e, const double *x, double *values)
{
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        int k = e->row_par[r];
        values[r] = k >= 0 ? x[k] : e->row_fixed[r];
    }
}

static int defined_parameters(sem_est *e, const double *vcov, sem_fit *fit, cx_error *err)
{
    size_t n = e->pt->n_rows, q = e->q, n_def = 0;
    for (size_t r = 0; r < n; r++)
        n_def += e->pt->rows[r].op == SEM_OP_DEFINED;
    if (n_def == 0)
        return CX_OK;
    double *vals = cx_malloc(sizeof(double) * (3 * n + n * (q + 1) + q), err);
    if (!vals)
        return CX_ENOMEM;
    double *hi = vals + n, *lo = hi + n, *jac = lo + n, *xs = jac + n * (q + 1);
    row_values_from_x(e, e->x, vals);
    if (!eval_defined(e, vals))
        sem_fit_warn(fit, "a defined parameter (:=) could not be evaluated");
    memset(jac, 0, sizeof(double) * n * (q + 1));
    for (size_t k = 0; k < q; k++) {
        double h = 1e-4 * (1.0 + fabs(e->x[k]));
        /* D(h) then D(h/2); Richardson (4 D(h/2) - D(h)) / 3 cancels the h^2 term */
        for (int pass = 0; pass < 2; pass++, h *= 0.5) {
            memcpy(xs, e->x, sizeof(double) * q);
            xs[k] = e->x[k] + h;
            row_values_from_x(e, xs, hi);
            eval_defined(e, hi);
            xs[k] = e->x[k] - h;
            row_values_from_x(e, xs, lo);
            eval_defined(e, lo);
            for (size_t r = 0; r < n; r++) {
                if (e->pt->rows[r].op != SEM_OP_DEFINED)
                    continue;
                double d = (hi[r] - lo[r]) / (2.0 * h);
                jac[r * q + k] = pass == 0 ? d : (4.0 * d - jac[r * q + k]) / 3.0;
            }
        }
    }
    for (size_t r = 0; r < n; r++) {
        sem_param *row = &e->pt->rows[r];
        if (row->op != SEM_OP_DEFINED)
            continue;
        double v = 0.0;
        for (size_t k = 0; k < q; k++)
            for (size_t l = 0; l < q; l++)
                v += jac[r * q + k] * vcov[k * q + l] * jac[r * q + l];
        row->est = vals[r];
        row->se = v > 0 ? sqrt(v) : 0.0;
    }
    free(vals);
    return CX_OK;
}

/* Defined parameters' values only (no SEs): a bootstrap replicate. */
static int defined_values(sem_est *e, sem_fit *fit, cx_error *err)
{
    size_t n = e->pt->n_rows;
    double *vals = cx_malloc(sizeof(double) * (n ? n : 1), err);
    if (!vals)
        return CX_ENOMEM;
    row_values_from_x(e, e->x, vals);
    if (!eval_defined(e, vals))
        sem_fit_warn(fit, "a defined parameter (:=) could not be evaluated");
    for (size_t r = 0; r < n; r++)
        if (e->pt->rows[r].op == SEM_OP_DEFINED)
            e->pt->rows[r].est = vals[r];
    free(vals);
    return CX_OK;
}

/* std_lv / std_all for every row, := rows from the standardized labels. */
static int standardized_solution(sem_est *e, cx_error *err)
{
    size_t n = e->pt->n_rows;
    double *v = cx_malloc(sizeof(double) * 3 * n + 1, err);
    if (!v)
        return CX_ENOMEM;
    double *slv = v + n, *sall = slv + n;
    for (size_t r = 0; r < n; r++)
        v[r] = e->row_t[r].mat == SEM_MAT_NONE ? 0.0 : e->pt->rows[r].est;
    sem_standardize(e, e->pt->rows, n, v, slv, sall);
    eval_defined(e, slv);
    eval_defined(e, sall);
    for (size_t r = 0; r < n; r++) {
        sem_param *row = &e->pt->rows[r];
        if (e->row_t[r].mat == SEM_MAT_NONE && row->op != SEM_OP_DEFINED) {
            row->std_lv = row->std_all = NAN;
            continue;
        }
        row->std_lv = slv[r];
        row->std_all = sall[r];
    }
    free(v);
    return CX_OK;
}

/* Heywood cases and non-positive-definite Psi / Theta. */
static void check_solution(sem_est *e, sem_fit *fit)
{
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        const sem_param *row = &e->pt->rows[r];
        if (row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, row->rhs) == 0 && row->est < 0)
            sem_fit_warn(fit, "Heywood case: negative variance estimate %s ~~ %s = %.6g (group %d)",
                         row->lhs, row->rhs, row->est, row->group + 1);
    }
    size_t p = e->p, M = e->mod.n_nodes;
    double *a = malloc(sizeof(double) * (p * p + M * M + 1));
    for (size_t g = 0; g < e->n_groups; g++) {
        memcpy(a, e->mod.grp[g].theta, sizeof(double) * p * p);
        for (size_t i = 0; i < p; i++) /* phantoms have zero Theta by design */
            if (e->mod.ov_node[i] >= 0)
                a[i * p + i] = 1.0;
        if (p && LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, a, (lapack_int)p) != 0)
            sem_fit_warn(fit,
                         "group %zu: the residual covariance matrix (theta) is not "
                         "positive definite",
                         g + 1);
        memcpy(a, e->mod.grp[g].v, sizeof(double) * M * M);
        if (M && LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)M, a, (lapack_int)M) != 0)
            sem_fit_warn(fit,
                         "group %zu: the covariance matrix of the latent variables (psi) "
                         "is not positive definite",
                         g + 1);
    }
    free(a);
}

/* MLR: the sandwich vcov replaces the expected-information one. */
static int robust_estimates(sem_est *e, double *vcov, cx_error *err)
{
    int rc =
        e->fiml ? sem_fiml_robust(e, vcov, e->rob, err) : sem_robust_vcov(e, vcov, e->rob, err);
    if (rc != CX_OK)
        return rc;
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        int k = e->row_par[r];
        if (e->row_t[r].mat != SEM_MAT_NONE && k >= 0)
            e->pt->rows[r].se = sqrt(vcov[(size_t)k * e->q + (size_t)k]);
    }
    return CX_OK;
}

/* MLR with missing = fiml (fiml.c) has no fixed.x covariates yet: lavaan
 * zeroes their rows in the casewise h1 informations there (complete data:
 * robust.c). */
static int check_mlr(const sem_partable *pt, cx_error *err)
{
    for (size_t r = 0; r < pt->n_rows; r++)
        if (pt->rows[r].exo && pt->rows[r].free <= 0 &&
            (pt->rows[r].op == SEM_OP_COVARIANCE || pt->rows[r].op == SEM_OP_INTERCEPT))
            return cx_error_set(err, CX_EUSAGE,
                                "estimator mlr with observed exogenous covariates ('%s') and "
                                "missing = fiml is not supported yet",
                                pt->rows[r].lhs);
    return CX_OK;
}

/* missing = fiml: lavaan's default standard errors use the observed
 * information (information = "observed", observed.information = "hessian"). */
static int fiml_estimates(sem_est *e, double *vcov, cx_error *err)
{
    int rc = sem_fiml_observed_vcov(e, vcov, err);
    for (size_t r = 0; rc == CX_OK && r < e->pt->n_rows; r++) {
        int k = e->row_par[r];
        if (e->row_t[r].mat != SEM_MAT_NONE && k >= 0)
            e->pt->rows[r].se = sqrt(vcov[(size_t)k * e->q + (size_t)k]);
    }
    return rc;
}

static int finish(sem_est *e, scoring_ws *w, double fmin, const sem_fit_options *opt, sem_fit *fit,
                  cx_error *err)
{
    size_t q = e->q ? e->q : 1;
    double *vcov = cx_malloc(sizeof(double) * q * q, err);
    if (!vcov)
        return CX_ENOMEM;
    int rc = write_estimates(e, w, vcov, err);
    if (opt && opt->estimates_only) { /* a replicate needs nothing more */
        free(vcov);
        return rc == CX_OK ? defined_values(e, fit, err) : rc;
    }
    if (rc == CX_OK && e->rob)
        rc = robust_estimates(e, vcov, err);
    else if (rc == CX_OK && e->fiml)
        rc = fiml_estimates(e, vcov, err);
    if (rc == CX_OK)
        rc = defined_parameters(e, vcov, fit, err);
    free(vcov);
    if (rc == CX_OK)
        rc = standardized_solution(e, err);
    if (rc == CX_OK)
        rc = sem_rsquare(e, fit, err);
    if (rc == CX_OK)
        rc = sem_fit_measures(e, fmin, fit, err);
    if (rc == CX_OK && opt && opt->want_modindices)
        rc = sem_modindices(e, fit, err);
    if (rc == CX_OK)
        check_solution(e, fit);
    return rc;
}

int sem_estimate(sem_partable *pt, const sem_sample *samples, const sem_fit_options *opt,
                 sem_fit *fit, cx_error *err)
{
    int mlr = opt && opt->estimator == SEM_MLR;
    if (opt && opt->estimator != SEM_ML && !mlr)
        return cx_error_set(err, CX_EUSAGE, "only estimators ML and MLR are implemented");
    if (mlr && samples[0].patterns && check_mlr(pt, err) != CX_OK)
        return err->code;
    fit->warnings[0] = '\0';
    sem_est e;
    sem_robust rob;
    scoring_ws w = {0};
    double fmin = NAN;
    int rc = setup(&e, pt, samples, err);
    e.rob = mlr ? &rob : NULL;
    if (rc == CX_OK)
        rc = ws_alloc(&w, &e, err);
    if (rc == CX_OK)
        rc = start_values(&e, opt, err);
    if (rc == CX_OK) {
        rc = optimize(&e, opt, fit, &w, &fmin, err);
    }
    if (rc == CX_OK) {
        pt->n_free = e.q;
        fit->fmin = fmin;
        rc = finish(&e, &w, fmin, opt, fit, err);
    }
    ws_free(&w);
    est_free(&e);
    return rc;
}

/* ---- for tests: an estimator state at the start values ---------------- */

int sem_est_open(sem_est *e, sem_partable *pt, const sem_sample *samples, cx_error *err)
{
    int rc = setup(e, pt, samples, err);
    if (rc == CX_OK)
        rc = start_values(e, NULL, err);
    if (rc != CX_OK)
        est_free(e);
    return rc;
}

void sem_est_close(sem_est *e)
{
    est_free(e);
}
