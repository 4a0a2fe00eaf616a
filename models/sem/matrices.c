/*
 * matrices.c — LISREL all-y model matrices, implied moments and their
 * derivatives (see matrices.h for the formulas).
 */
#include "matrices.h"

#include <cblas.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

int sem_model_ov_index(const sem_model *mod, const char *name)
{
    return name_index(mod->ov_names, mod->p, name);
}

int sem_model_node_index(const sem_model *mod, const char *name)
{
    return name_index(mod->node_names, mod->n_nodes, name);
}

static int is_lv(const sem_partable *pt, const char *name)
{
    return name_index((const char *const *)pt->lv_names, pt->n_lv, name) >= 0;
}

/* An observed variable needs a phantom node when it is part of a structural
 * regression or covaries with a latent variable (lavaan's ov.y / ov.x in
 * the LISREL representation). */
static void mark_phantoms(const sem_partable *pt, int *need)
{
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        int l = name_index((const char *const *)pt->ov_names, pt->n_ov, row->lhs);
        int k = name_index((const char *const *)pt->ov_names, pt->n_ov, row->rhs);
        if (row->op == SEM_OP_REGRESSION) {
            if (l >= 0 && !is_lv(pt, row->lhs))
                need[l] = 1;
            if (k >= 0 && !is_lv(pt, row->rhs))
                need[k] = 1;
        } else if (row->op == SEM_OP_COVARIANCE) {
            if (l >= 0 && is_lv(pt, row->rhs))
                need[l] = 1;
            if (k >= 0 && is_lv(pt, row->lhs))
                need[k] = 1;
        }
    }
}

static int alloc_group(sem_group_matrices *g, size_t p, size_t M, cx_error *err)
{
    size_t n = p * M * 3 + M * M * 4 + p * p * 2 + p * 2 + M * 2;
    double *blk = cx_calloc(n, sizeof(double), err);
    if (!blk)
        return CX_ENOMEM;
    g->lambda = blk;
    g->beta = g->lambda + p * M;
    g->psi = g->beta + M * M;
    g->theta = g->psi + M * M;
    g->nu = g->theta + p * p;
    g->alpha = g->nu + p;
    g->b = g->alpha + M;
    g->g = g->b + M * M;
    g->v = g->g + p * M;
    g->lv = g->v + M * M;
    g->eta = g->lv + p * M;
    g->sigma = g->eta + M;
    g->mu = g->sigma + p * p;
    return CX_OK;
}

int sem_model_init(sem_model *mod, const sem_partable *pt, cx_error *err)
{
    memset(mod, 0, sizeof *mod);
    mod->p = pt->n_ov;
    mod->m = pt->n_lv;
    mod->n_groups = pt->n_groups ? pt->n_groups : 1;
    mod->meanstructure = pt->meanstructure;
    mod->ov_names = (const char **)pt->ov_names;
    int *need = cx_calloc(mod->p, sizeof(int), err);
    mod->ov_node = cx_calloc(mod->p, sizeof(int), err);
    mod->node_names = cx_calloc(mod->m + mod->p, sizeof(char *), err);
    mod->grp = cx_calloc(mod->n_groups, sizeof(sem_group_matrices), err);
    if (!need || !mod->ov_node || !mod->node_names || !mod->grp) {
        free(need);
        sem_model_free(mod);
        return CX_ENOMEM;
    }
    mark_phantoms(pt, need);
    for (size_t i = 0; i < mod->m; i++)
        mod->node_names[i] = pt->lv_names[i];
    mod->n_nodes = mod->m;
    for (size_t i = 0; i < mod->p; i++) {
        mod->ov_node[i] = need[i] ? (int)mod->n_nodes : -1;
        if (need[i])
            mod->node_names[mod->n_nodes++] = pt->ov_names[i];
    }
    free(need);
    size_t M = mod->n_nodes;
    mod->work = cx_calloc(2 * M * M + M + 1, sizeof(double), err);
    if (!mod->work) {
        sem_model_free(mod);
        return CX_ENOMEM;
    }
    for (size_t g = 0; g < mod->n_groups; g++)
        if (alloc_group(&mod->grp[g], mod->p, M, err) != CX_OK) {
            sem_model_free(mod);
            return CX_ENOMEM;
        }
    sem_model_clear(mod);
    return CX_OK;
}

void sem_model_free(sem_model *mod)
{
    if (mod->grp)
        for (size_t g = 0; g < mod->n_groups; g++)
            free(mod->grp[g].lambda);
    free(mod->grp);
    free(mod->ov_node);
    free(mod->node_names);
    free(mod->work);
    memset(mod, 0, sizeof *mod);
}

/* Node of a variable: a latent variable or a phantom observed one. */
static int node_of(const sem_model *mod, const char *name)
{
    int k = name_index(mod->node_names, mod->m, name);
    if (k >= 0)
        return k;
    int i = sem_model_ov_index(mod, name);
    return i >= 0 ? mod->ov_node[i] : -1;
}

static int target_loading(const sem_model *mod, const char *lhs, const char *rhs, sem_target *t)
{
    int f = name_index(mod->node_names, mod->m, lhs);
    if (f < 0)
        return 0;
    int n = node_of(mod, rhs);
    if (n >= 0) { /* higher-order factor or phantom indicator */
        t->mat = SEM_MAT_BETA;
        t->i = n;
        t->j = f;
        return 1;
    }
    int y = sem_model_ov_index(mod, rhs);
    if (y < 0)
        return 0;
    t->mat = SEM_MAT_LAMBDA;
    t->i = y;
    t->j = f;
    return 1;
}

static int target_covariance(const sem_model *mod, const char *lhs, const char *rhs, sem_target *t)
{
    int a = node_of(mod, lhs), b = node_of(mod, rhs);
    if (a >= 0 && b >= 0) {
        t->mat = SEM_MAT_PSI;
        t->i = a;
        t->j = b;
        return 1;
    }
    a = sem_model_ov_index(mod, lhs);
    b = sem_model_ov_index(mod, rhs);
    if (a < 0 || b < 0 || mod->ov_node[a] >= 0 || mod->ov_node[b] >= 0)
        return 0;
    t->mat = SEM_MAT_THETA;
    t->i = a;
    t->j = b;
    return 1;
}

static int target_intercept(const sem_model *mod, const char *lhs, sem_target *t)
{
    int a = node_of(mod, lhs);
    if (a >= 0) {
        t->mat = SEM_MAT_ALPHA;
        t->i = a;
        t->j = 0;
        return 1;
    }
    a = sem_model_ov_index(mod, lhs);
    if (a < 0)
        return 0;
    t->mat = SEM_MAT_NU;
    t->i = a;
    t->j = 0;
    return 1;
}

int sem_model_target(const sem_model *mod, const char *lhs, sem_op op, const char *rhs, int group,
                     sem_target *t, cx_error *err)
{
    int ok = 0;
    t->mat = SEM_MAT_NONE;
    t->group = group;
    t->i = t->j = 0;
    switch (op) {
    case SEM_OP_LOADING:
        ok = target_loading(mod, lhs, rhs, t);
        break;
    case SEM_OP_REGRESSION: {
        int y = node_of(mod, lhs), x = node_of(mod, rhs);
        ok = y >= 0 && x >= 0;
        t->mat = SEM_MAT_BETA;
        t->i = y;
        t->j = x;
        break;
    }
    case SEM_OP_COVARIANCE:
        ok = target_covariance(mod, lhs, rhs, t);
        break;
    case SEM_OP_INTERCEPT:
        ok = target_intercept(mod, lhs, t);
        break;
    default:
        return CX_OK; /* not a model-matrix element */
    }
    if (!ok || group < 0 || (size_t)group >= mod->n_groups) {
        t->mat = SEM_MAT_NONE;
        return cx_error_set(err, CX_EUSAGE, "parameter '%s %s %s' refers to an unknown variable",
                            lhs,
                            op == SEM_OP_LOADING      ? "=~"
                            : op == SEM_OP_REGRESSION ? "~"
                            : op == SEM_OP_COVARIANCE ? "~~"
                                                      : "~1",
                            rhs);
    }
    return CX_OK;
}

void sem_model_clear(sem_model *mod)
{
    size_t p = mod->p, M = mod->n_nodes;
    for (size_t g = 0; g < mod->n_groups; g++) {
        sem_group_matrices *G = &mod->grp[g];
        memset(G->lambda, 0, sizeof(double) * (p * M + 2 * M * M + p * p + p + M));
        for (size_t i = 0; i < p; i++)
            if (mod->ov_node[i] >= 0)
                G->lambda[i * M + (size_t)mod->ov_node[i]] = 1.0;
    }
}

static double *element(const sem_model *mod, const sem_target *t, int mirror)
{
    const sem_group_matrices *G = &mod->grp[t->group];
    size_t p = mod->p, M = mod->n_nodes;
    size_t i = (size_t)(mirror ? t->j : t->i), j = (size_t)(mirror ? t->i : t->j);
    switch (t->mat) {
    case SEM_MAT_LAMBDA:
        return &G->lambda[i * M + j];
    case SEM_MAT_BETA:
        return &G->beta[i * M + j];
    case SEM_MAT_PSI:
        return &G->psi[i * M + j];
    case SEM_MAT_THETA:
        return &G->theta[i * p + j];
    case SEM_MAT_NU:
        return &G->nu[t->i];
    case SEM_MAT_ALPHA:
        return &G->alpha[t->i];
    default:
        return NULL;
    }
}

void sem_model_set(sem_model *mod, const sem_target *t, double value)
{
    double *e = element(mod, t, 0);
    if (!e)
        return;
    *e = value;
    if (t->mat == SEM_MAT_PSI || t->mat == SEM_MAT_THETA)
        *element(mod, t, 1) = value;
}

double sem_model_get(const sem_model *mod, const sem_target *t)
{
    const double *e = element(mod, t, 0);
    return e ? *e : 0.0;
}

/* B = (I - Beta)^-1 by LU (dgesv against the identity). */
static int invert_i_minus_beta(const sem_model *mod, const sem_group_matrices *G, cx_error *err)
{
    size_t M = mod->n_nodes;
    double *a = mod->work;
    lapack_int *piv = (lapack_int *)(mod->work + M * M);
    if (M == 0)
        return CX_OK;
    for (size_t i = 0; i < M * M; i++)
        a[i] = -G->beta[i];
    memset(G->b, 0, sizeof(double) * M * M);
    for (size_t i = 0; i < M; i++) {
        a[i * M + i] += 1.0;
        G->b[i * M + i] = 1.0;
    }
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)M, (lapack_int)M, a,
                                    (lapack_int)M, piv, G->b, (lapack_int)M);
    if (info != 0)
        return cx_error_set(err, CX_EFAIL, "I - Beta is singular (a feedback loop)");
    return CX_OK;
}

/* Symmetrize against rounding so Cholesky sees an exactly symmetric matrix. */
static void symmetrize(size_t p, double *sigma)
{
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++) {
            double s = 0.5 * (sigma[i * p + j] + sigma[j * p + i]);
            sigma[i * p + j] = sigma[j * p + i] = s;
        }
}

static void implied_group(const sem_model *mod, sem_group_matrices *G)
{
    size_t p = mod->p, M = mod->n_nodes;
    double *tmp = mod->work; /* M*M: Psi B' */
    int ip = (int)p, iM = (int)M;
    if (M > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, iM, iM, iM, 1.0, G->psi, iM, G->b, iM,
                    0.0, tmp, iM);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, iM, iM, iM, 1.0, G->b, iM, tmp, iM,
                    0.0, G->v, iM);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ip, iM, iM, 1.0, G->lambda, iM, G->b,
                    iM, 0.0, G->g, iM);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ip, iM, iM, 1.0, G->lambda, iM, G->v,
                    iM, 0.0, G->lv, iM);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, iM, iM, 1.0, G->b, iM, G->alpha, 1, 0.0, G->eta,
                    1);
    }
    memcpy(G->sigma, G->theta, sizeof(double) * p * p);
    memcpy(G->mu, G->nu, sizeof(double) * p);
    if (M > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ip, ip, iM, 1.0, G->lv, iM, G->lambda,
                    iM, 1.0, G->sigma, ip);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, ip, iM, 1.0, G->lambda, iM, G->eta, 1, 1.0, G->mu,
                    1);
    }
    symmetrize(p, G->sigma);
}

/* 1 when Beta is zero (a CFA): then B = I, and V = Psi, G = Lambda
 * exactly, without the LU and the products by the identity that gave the
 * same numbers. */
static int beta_is_zero(const sem_model *mod, const sem_group_matrices *G)
{
    size_t M = mod->n_nodes;
    for (size_t i = 0; i < M * M; i++)
        if (G->beta[i] != 0.0)
            return 0;
    return 1;
}

static void implied_group_cfa(const sem_model *mod, sem_group_matrices *G)
{
    size_t p = mod->p, M = mod->n_nodes;
    int ip = (int)p, iM = (int)M;
    memset(G->b, 0, sizeof(double) * M * M);
    for (size_t i = 0; i < M; i++)
        G->b[i * M + i] = 1.0;
    memcpy(G->v, G->psi, sizeof(double) * M * M);
    memcpy(G->g, G->lambda, sizeof(double) * p * M);
    memcpy(G->eta, G->alpha, sizeof(double) * M);
    memcpy(G->sigma, G->theta, sizeof(double) * p * p);
    memcpy(G->mu, G->nu, sizeof(double) * p);
    if (M > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ip, iM, iM, 1.0, G->lambda, iM, G->v,
                    iM, 0.0, G->lv, iM);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ip, ip, iM, 1.0, G->lv, iM, G->lambda,
                    iM, 1.0, G->sigma, ip);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, ip, iM, 1.0, G->lambda, iM, G->eta, 1, 1.0, G->mu,
                    1);
    }
    symmetrize(p, G->sigma);
}

int sem_model_implied(sem_model *mod, cx_error *err)
{
    for (size_t g = 0; g < mod->n_groups; g++) {
        sem_group_matrices *G = &mod->grp[g];
        if (beta_is_zero(mod, G)) {
            implied_group_cfa(mod, G);
            continue;
        }
        int rc = invert_i_minus_beta(mod, G, err);
        if (rc != CX_OK)
            return rc;
        implied_group(mod, G);
    }
    return CX_OK;
}

/* dsigma += scale * (a b' + b a') for column vectors a, b of length p with
 * strides sa, sb. */
static void add_sym_outer(size_t p, double scale, const double *a, size_t sa, const double *b,
                          size_t sb, double *dsigma)
{
    for (size_t r = 0; r < p; r++)
        for (size_t c = 0; c < p; c++)
            dsigma[r * p + c] += scale * (a[r * sa] * b[c * sb] + b[r * sb] * a[c * sa]);
}

static void add_column(size_t p, double scale, const double *a, size_t sa, double *dmu)
{
    for (size_t r = 0; r < p; r++)
        dmu[r] += scale * a[r * sa];
}

void sem_model_add_derivative(const sem_model *mod, const sem_target *t, double scale,
                              double *dsigma, double *dmu)
{
    const sem_group_matrices *G = &mod->grp[t->group];
    size_t p = mod->p, M = mod->n_nodes;
    size_t i = (size_t)t->i, j = (size_t)t->j;
    switch (t->mat) {
    case SEM_MAT_LAMBDA:
        /* dSigma = e_i LV_j' + LV_j e_i' */
        for (size_t a = 0; a < p; a++) {
            dsigma[i * p + a] += scale * G->lv[a * M + j];
            dsigma[a * p + i] += scale * G->lv[a * M + j];
        }
        if (dmu)
            dmu[i] += scale * G->eta[j];
        break;
    case SEM_MAT_BETA:
        add_sym_outer(p, scale, G->g + i, M, G->lv + j, M, dsigma);
        if (dmu)
            add_column(p, scale * G->eta[j], G->g + i, M, dmu);
        break;
    case SEM_MAT_PSI:
        add_sym_outer(p, i == j ? 0.5 * scale : scale, G->g + i, M, G->g + j, M, dsigma);
        break;
    case SEM_MAT_THETA:
        dsigma[i * p + j] += scale;
        if (i != j)
            dsigma[j * p + i] += scale;
        break;
    case SEM_MAT_NU:
        if (dmu)
            dmu[i] += scale;
        break;
    case SEM_MAT_ALPHA:
        if (dmu)
            add_column(p, scale, G->g + i, M, dmu);
        break;
    default:
        break;
    }
}
