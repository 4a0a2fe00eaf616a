/*
 * modindices.c — univariate score tests (modification indices) as lavaan
 * 0.6.14's modindices() (Saris, Satorra & Sorbom 1987).
 *
 * Candidates: every fixed model parameter of the table (freed one at a
 * time), then the parameters of lav_partable_full() not yet in the table:
 * lv =~ ov cross-loadings, ~~ among observed (non-fixed.x) variables,
 * ~~ among fixed.x covariates, ~~ among latent variables, ~ among the
 * variables of the structural part, ~1 with a meanstructure.
 * With I the expected information of the extended model (model params p,
 * candidates c) and g the gradient of fmin at the estimate:
 *   V_c   = I_cc - I_cp I_pp^-1 I_pc
 *   mi    = N g_c^2 / V_c,   epc = -g_c / V_c
 * Candidates with V_c < eps^(1/3) (not identified if freed) are dropped,
 * as lavaan's na.remove does.  sepc.lv / sepc.all standardize |epc| with
 * the estimate's implied moments and restore its sign.
 */
#include "est_internal.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cand_list {
    sem_param *rows; /* candidate rows (lhs, op, rhs, group) */
    sem_target *t;
    size_t n, cap;
} cand_list;

static int same_target(const sem_target *a, const sem_target *b)
{
    if (a->mat != b->mat || a->group != b->group)
        return 0;
    if (a->i == b->i && a->j == b->j)
        return 1;
    return (a->mat == SEM_MAT_PSI || a->mat == SEM_MAT_THETA) && a->i == b->j && a->j == b->i;
}

static int known_target(const sem_est *e, const cand_list *c, const sem_target *t)
{
    for (size_t r = 0; r < e->pt->n_rows; r++)
        if (e->row_t[r].mat != SEM_MAT_NONE && same_target(&e->row_t[r], t))
            return 1;
    for (size_t k = 0; k < c->n; k++)
        if (same_target(&c->t[k], t))
            return 1;
    return 0;
}

static int add_candidate(const sem_est *e, cand_list *c, const char *lhs, sem_op op,
                         const char *rhs, int group, int allow_known)
{
    sem_target t;
    if (sem_model_target(&e->mod, lhs, op, rhs, group, &t, NULL) != CX_OK || t.mat == SEM_MAT_NONE)
        return CX_OK; /* no place in the representation: skipped */
    if (!allow_known && known_target(e, c, &t))
        return CX_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        sem_param *rows = realloc(c->rows, cap * sizeof *rows);
        if (rows)
            c->rows = rows;
        sem_target *tt = realloc(c->t, cap * sizeof *tt);
        if (tt)
            c->t = tt;
        if (!rows || !tt)
            return CX_ENOMEM;
        c->cap = cap;
    }
    sem_param *row = &c->rows[c->n];
    memset(row, 0, sizeof *row);
    snprintf(row->lhs, SEM_NAME_MAX, "%s", lhs);
    snprintf(row->rhs, SEM_NAME_MAX, "%s", rhs);
    row->op = op;
    row->group = group;
    c->t[c->n++] = t;
    return CX_OK;
}

/* Variable roles in one group, as lavaan's vnames(). */
typedef struct roles {
    const sem_est *e;
    int group;
} roles;

static int row_has(const roles *r, sem_op op, const char *lhs, const char *rhs)
{
    const sem_partable *pt = r->e->pt;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *row = &pt->rows[k];
        if (row->group == r->group && row->op == op && (!lhs || strcmp(row->lhs, lhs) == 0) &&
            (!rhs || strcmp(row->rhs, rhs) == 0))
            return 1;
    }
    return 0;
}

static int is_x(const roles *r, const char *name)
{
    const sem_partable *pt = r->e->pt;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *row = &pt->rows[k];
        if (row->group == r->group && row->exo && row->free <= 0 && row->op == SEM_OP_COVARIANCE &&
            strcmp(row->lhs, name) == 0)
            return 1;
    }
    return 0;
}

static int in_eqs(const roles *r, const char *name)
{
    return row_has(r, SEM_OP_REGRESSION, name, NULL) || row_has(r, SEM_OP_REGRESSION, NULL, name);
}

static int is_ind(const roles *r, const char *name)
{
    return row_has(r, SEM_OP_LOADING, NULL, name);
}

static int add_full_group(const sem_est *e, cand_list *c, int g)
{
    const sem_partable *pt = e->pt;
    roles r = {e, g};
    int rc = CX_OK;
    size_t p = pt->n_ov, m = pt->n_lv;
    for (size_t f = 0; f < m && rc == CX_OK; f++) /* 1. =~ */
        for (size_t i = 0; i < p && rc == CX_OK; i++)
            if (!is_x(&r, pt->ov_names[i]) && !in_eqs(&r, pt->ov_names[i]))
                rc = add_candidate(e, c, pt->lv_names[f], SEM_OP_LOADING, pt->ov_names[i], g, 0);
    for (size_t j = 0; j < p && rc == CX_OK; j++) /* 2a. ~~ among ov.nox */
        for (size_t i = j; i < p && rc == CX_OK; i++) {
            const char *a = pt->ov_names[j], *b = pt->ov_names[i];
            if (is_x(&r, a) || is_x(&r, b))
                continue;
            int other_a = !is_ind(&r, a) && !in_eqs(&r, a);
            int other_b = !is_ind(&r, b) && !in_eqs(&r, b);
            if (!other_a && !other_b)
                rc = add_candidate(e, c, a, SEM_OP_COVARIANCE, b, g, 0);
        }
    for (size_t j = 0; j < p && rc == CX_OK; j++) /* exo ~~ */
        for (size_t i = j; i < p && rc == CX_OK; i++)
            if (is_x(&r, pt->ov_names[j]) && is_x(&r, pt->ov_names[i]))
                rc = add_candidate(e, c, pt->ov_names[j], SEM_OP_COVARIANCE, pt->ov_names[i], g, 0);
    for (size_t j = 0; j < m && rc == CX_OK; j++) /* 2b. ~~ among lv */
        for (size_t i = j; i < m && rc == CX_OK; i++)
            rc = add_candidate(e, c, pt->lv_names[j], SEM_OP_COVARIANCE, pt->lv_names[i], g, 0);
    /* 3. ~ among the structural variables (nodes in eqs), indicator ~ lv excluded */
    const sem_model *mod = &e->mod;
    for (size_t y = 0; y < mod->n_nodes && rc == CX_OK; y++)
        for (size_t x = 0; x < mod->n_nodes && rc == CX_OK; x++) {
            const char *ny = mod->node_names[y], *nx = mod->node_names[x];
            if (x == y || !in_eqs(&r, ny) || !in_eqs(&r, nx))
                continue;
            if (is_ind(&r, ny) && x < mod->m)
                continue;
            rc = add_candidate(e, c, ny, SEM_OP_REGRESSION, nx, g, 0);
        }
    if (pt->meanstructure) { /* 4. ~1 */
        for (size_t i = 0; i < p && rc == CX_OK; i++)
            rc = add_candidate(e, c, pt->ov_names[i], SEM_OP_INTERCEPT, "", g, 0);
        for (size_t f = 0; f < m && rc == CX_OK; f++)
            rc = add_candidate(e, c, pt->lv_names[f], SEM_OP_INTERCEPT, "", g, 0);
    }
    return rc;
}

static int build_candidates(const sem_est *e, cand_list *c)
{
    int rc = CX_OK;
    for (size_t r = 0; r < e->pt->n_rows && rc == CX_OK; r++) {
        const sem_param *row = &e->pt->rows[r];
        if (e->row_t[r].mat != SEM_MAT_NONE && e->row_par[r] < 0)
            rc = add_candidate(e, c, row->lhs, row->op, row->rhs, row->group, 1);
    }
    for (size_t g = 0; g < e->n_groups && rc == CX_OK; g++)
        rc = add_full_group(e, c, (int)g);
    return rc;
}

/* V_c for every candidate from the extended information (n_slots^2). */
static int conditional_variances(const sem_est *e, const double *info, size_t n_cand, double *v)
{
    size_t q = e->q, ns = q + n_cand;
    double *i22 = malloc(sizeof(double) * (q * q + q * n_cand + 1));
    double *z = i22 + q * q;
    for (size_t k = 0; k < q; k++)
        for (size_t l = 0; l < q; l++)
            i22[k * q + l] = info[k * ns + l];
    for (size_t k = 0; k < q; k++)
        for (size_t c = 0; c < n_cand; c++)
            z[k * n_cand + c] = info[k * ns + q + c];
    int rc = CX_OK;
    if (q > 0 && LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)q, (lapack_int)n_cand, i22,
                               (lapack_int)q, z, (lapack_int)n_cand) != 0)
        rc = CX_EFAIL;
    for (size_t c = 0; c < n_cand && rc == CX_OK; c++) {
        double acc = info[(q + c) * ns + q + c];
        for (size_t k = 0; k < q; k++)
            acc -= info[(q + c) * ns + k] * z[k * n_cand + c];
        v[c] = acc;
    }
    free(i22);
    return rc;
}

static int score_tests(sem_est *e, const cand_list *c, double *v, double *grad, cx_error *err)
{
    size_t q = e->q, ns = q + c->n, p = e->p, G = e->n_groups;
    /* dense derivative matrices only for FIML (complete data: info_sparse.c) */
    size_t Gd = e->fiml ? G : 0;
    sem_entry *en = cx_malloc(sizeof(sem_entry) * (e->n_entries + c->n), err);
    double *ds = cx_malloc(sizeof(double) * (Gd * ns * p * p + 1), err);
    double *dm = cx_malloc(sizeof(double) * (Gd * ns * p + 1), err);
    double *info = cx_malloc(sizeof(double) * ns * ns, err);
    int rc = en && ds && dm && info ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        memcpy(en, e->entries, sizeof(sem_entry) * e->n_entries);
        for (size_t k = 0; k < c->n; k++) {
            en[e->n_entries + k].slot = (int)(q + k);
            en[e->n_entries + k].t = c->t[k];
        }
        if (!e->fiml) {
            rc = sem_est_ml_derivatives(e, en, e->n_entries + c->n, ns, grad, info);
        } else {
            sem_est_delta(e, en, e->n_entries + c->n, ns, ds, dm);
            sem_est_gradient(e, ds, dm, ns, grad);
            sem_est_information(e, ds, dm, ns, info);
        }
        if (rc != CX_OK)
            rc = cx_error_set(err, CX_ENOMEM, "out of memory");
        else if (conditional_variances(e, info, c->n, v) != CX_OK)
            rc = cx_error_set(err, CX_EFAIL,
                              "could not compute modification indices; "
                              "information matrix is singular");
    }
    free(en);
    free(ds);
    free(dm);
    free(info);
    return rc;
}

/* sepc.lv and sepc.all of every candidate (lavaan: EPC of variances is
 * replaced by their estimate under cov.std; tiny variance EPCs give 0). */
static int standardize_epc(const sem_est *e, const cand_list *c, const double *epc, double *slv,
                           double *sall, cx_error *err)
{
    size_t n0 = e->pt->n_rows, n = n0 + c->n;
    sem_param *rows = cx_malloc(sizeof(sem_param) * n, err);
    double *vals = cx_malloc(sizeof(double) * 3 * n, err);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        return CX_ENOMEM;
    }
    double *olv = vals + n, *oall = olv + n;
    memcpy(rows, e->pt->rows, sizeof(sem_param) * n0);
    memcpy(rows + n0, c->rows, sizeof(sem_param) * c->n);
    for (size_t r = 0; r < n0; r++)
        vals[r] = e->pt->rows[r].est;
    for (size_t k = 0; k < c->n; k++) {
        const sem_param *row = &c->rows[k];
        int var = row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, row->rhs) == 0;
        vals[n0 + k] = var ? sem_model_get(&e->mod, &c->t[k]) : fabs(epc[k]);
    }
    sem_standardize(e, rows, n, vals, olv, oall);
    for (size_t k = 0; k < c->n; k++) {
        const sem_param *row = &c->rows[k];
        int var = row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, row->rhs) == 0;
        double sign = epc[k] > 0 ? 1.0 : epc[k] < 0 ? -1.0 : 0.0;
        int small = var && fabs(vals[n0 + k]) < sqrt(DBL_EPSILON);
        slv[k] = small ? 0.0 : sign * fabs(olv[n0 + k]);
        sall[k] = small ? 0.0 : sign * fabs(oall[n0 + k]);
    }
    free(rows);
    free(vals);
    return CX_OK;
}

static void store(sem_fit *fit, const cand_list *c, const double *v, const double *grad, size_t q,
                  const double *slv, const double *sall, double n_total)
{
    double thr = cbrt(DBL_EPSILON);
    fit->n_modindices = 0;
    for (size_t k = 0; k < c->n; k++) {
        if (!(v[k] >= thr))
            continue; /* not identified if freed: NA, removed */
        sem_modindex *mi = &fit->modindices[fit->n_modindices++];
        double g = grad[q + k];
        snprintf(mi->lhs, SEM_NAME_MAX, "%s", c->rows[k].lhs);
        snprintf(mi->rhs, SEM_NAME_MAX, "%s", c->rows[k].rhs);
        mi->op = c->rows[k].op;
        mi->group = c->rows[k].group;
        mi->mi = n_total * g * g / v[k];
        mi->epc = -g / v[k];
        mi->sepc_lv = slv[k];
        mi->sepc_all = sall[k];
    }
}

int sem_modindices(sem_est *e, sem_fit *fit, cx_error *err)
{
    cand_list c = {0};
    int rc = build_candidates(e, &c);
    if (rc != CX_OK) {
        free(c.rows);
        free(c.t);
        return cx_error_set(err, rc, "out of memory building modification indices");
    }
    size_t n = c.n ? c.n : 1, q = e->q;
    double *v = cx_malloc(sizeof(double) * (5 * n + q), err);
    free(fit->modindices);
    fit->modindices = cx_calloc(n, sizeof(sem_modindex), err);
    fit->n_modindices = 0;
    if (!v || !fit->modindices)
        rc = CX_ENOMEM;
    double *epc = v + n, *slv = epc + n, *sall = slv + n, *grad = sall + n;
    if (rc == CX_OK && c.n > 0)
        rc = score_tests(e, &c, v, grad, err);
    for (size_t k = 0; rc == CX_OK && k < c.n; k++)
        epc[k] = v[k] != 0 ? -grad[q + k] / v[k] : 0.0;
    if (rc == CX_OK && c.n > 0)
        rc = standardize_epc(e, &c, epc, slv, sall, err);
    if (rc == CX_OK)
        store(fit, &c, v, grad, q, slv, sall, e->n_total);
    free(v);
    free(c.rows);
    free(c.t);
    return rc;
}
