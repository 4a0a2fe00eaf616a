/*
 * standardize.c — lavaan's standardized solutions and R².
 *
 * std.lv rescales by the model-implied standard deviations of the latent
 * variables (sqrt of diag(V)); std.all additionally by those of the
 * observed variables (sqrt of diag(Sigma)).  With lavaan's default
 * cov.std = TRUE a covariance a ~~ b (a != b) is divided by the square
 * roots of the |estimates| of the variance rows a ~~ a and b ~~ b (i.e.
 * residual variances), not by the total variances (lav_standardize_lv /
 * lav_standardize_all).  R² = 1 - std.all of the residual variance of
 * every indicator and every regression outcome (lav_object_inspect_rsquare).
 */
#include "est_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct std_ctx {
    const sem_est *e;
    const sem_param *rows;
    size_t n_rows;
    const double *values;
} std_ctx;

static int is_lv_name(const sem_est *e, const char *name)
{
    int k = sem_model_node_index(&e->mod, name);
    return k >= 0 && (size_t)k < e->mod.m;
}

/* sqrt of the implied variance of a latent variable (NaN if negative). */
static double lv_sd(const sem_est *e, int group, const char *name)
{
    int k = sem_model_node_index(&e->mod, name);
    if (k < 0 || (size_t)k >= e->mod.m)
        return NAN;
    size_t M = e->mod.n_nodes;
    double v = e->mod.grp[group].v[(size_t)k * M + (size_t)k];
    return v >= 0 ? sqrt(v) : NAN;
}

/* Implied variance of an observed variable (NaN when zero). */
static double ov_var(const sem_est *e, int group, const char *name)
{
    int i = sem_model_ov_index(&e->mod, name);
    if (i < 0)
        return NAN;
    double v = e->mod.grp[group].sigma[(size_t)i * e->p + (size_t)i];
    return fabs(v) < DBL_EPSILON ? NAN : v;
}

static double ov_sd(const sem_est *e, int group, const char *name)
{
    double v = ov_var(e, group, name);
    return v >= 0 ? sqrt(v) : NAN;
}

/* sqrt(|value|) of the variance row name ~~ name in the same list. */
static double row_sd(const std_ctx *c, int group, const char *name)
{
    for (size_t r = 0; r < c->n_rows; r++) {
        const sem_param *row = &c->rows[r];
        if (row->op == SEM_OP_COVARIANCE && row->group == group && strcmp(row->lhs, name) == 0 &&
            strcmp(row->rhs, name) == 0)
            return sqrt(fabs(c->values[r]));
    }
    return NAN;
}

static double std_lv_one(const std_ctx *c, const sem_param *row, double v)
{
    const sem_est *e = c->e;
    int g = row->group, lhs_lv = is_lv_name(e, row->lhs), rhs_lv = is_lv_name(e, row->rhs);
    switch (row->op) {
    case SEM_OP_LOADING:
        v *= lv_sd(e, g, row->lhs);
        return rhs_lv ? v / lv_sd(e, g, row->rhs) : v;
    case SEM_OP_REGRESSION:
        if (lhs_lv)
            v /= lv_sd(e, g, row->lhs);
        return rhs_lv ? v * lv_sd(e, g, row->rhs) : v;
    case SEM_OP_COVARIANCE:
        if (strcmp(row->lhs, row->rhs) == 0)
            return rhs_lv ? v / (lv_sd(e, g, row->lhs) * lv_sd(e, g, row->rhs)) : v;
        if (lhs_lv)
            v /= row_sd(c, g, row->lhs);
        return rhs_lv ? v / row_sd(c, g, row->rhs) : v;
    case SEM_OP_INTERCEPT:
        return lhs_lv ? v / lv_sd(e, g, row->lhs) : v;
    default:
        return v;
    }
}

static double std_all_one(const std_ctx *c, const sem_param *row, double v)
{
    const sem_est *e = c->e;
    int g = row->group, lhs_lv = is_lv_name(e, row->lhs), rhs_lv = is_lv_name(e, row->rhs);
    switch (row->op) {
    case SEM_OP_LOADING:
        return rhs_lv ? v : v / ov_sd(e, g, row->rhs);
    case SEM_OP_REGRESSION:
        if (sem_model_ov_index(&e->mod, row->lhs) >= 0)
            v /= ov_sd(e, g, row->lhs);
        return sem_model_ov_index(&e->mod, row->rhs) >= 0 ? v * ov_sd(e, g, row->rhs) : v;
    case SEM_OP_COVARIANCE:
        if (strcmp(row->lhs, row->rhs) == 0)
            return lhs_lv ? v : v / ov_var(e, g, row->lhs);
        if (!lhs_lv)
            v /= row_sd(c, g, row->lhs);
        return rhs_lv ? v : v / row_sd(c, g, row->rhs);
    case SEM_OP_INTERCEPT:
        return lhs_lv ? v : v / ov_sd(e, g, row->lhs);
    default:
        return v;
    }
}

void sem_standardize(const sem_est *e, const sem_param *rows, size_t n_rows, const double *values,
                     double *std_lv, double *std_all)
{
    std_ctx c = {e, rows, n_rows, values};
    for (size_t r = 0; r < n_rows; r++) {
        const sem_param *row = &rows[r];
        int model_row =
            row->op <= SEM_OP_INTERCEPT && row->group >= 0 && (size_t)row->group < e->n_groups;
        std_lv[r] = model_row ? std_lv_one(&c, row, values[r]) : values[r];
        std_all[r] = model_row ? std_all_one(&c, row, std_lv[r]) : std_lv[r];
    }
}

/* 1 when `name` is an indicator or a regression outcome in `group`. */
static int is_outcome(const sem_partable *pt, int group, const char *name)
{
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->group != group)
            continue;
        if ((row->op == SEM_OP_LOADING && strcmp(row->rhs, name) == 0) ||
            (row->op == SEM_OP_REGRESSION && strcmp(row->lhs, name) == 0))
            return 1;
    }
    return 0;
}

int sem_rsquare(const sem_est *e, sem_fit *fit, cx_error *err)
{
    const sem_partable *pt = e->pt;
    size_t n = 0;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        n += row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, row->rhs) == 0 &&
             is_outcome(pt, row->group, row->lhs);
    }
    fit->r2_names = cx_calloc(n + 1, sizeof *fit->r2_names, err);
    fit->r2_group = cx_calloc(n + 1, sizeof(int), err);
    fit->r2 = cx_calloc(n + 1, sizeof(double), err);
    if (!fit->r2_names || !fit->r2_group || !fit->r2)
        return CX_ENOMEM;
    fit->n_r2 = 0;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (!(row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, row->rhs) == 0 &&
              is_outcome(pt, row->group, row->lhs)))
            continue;
        size_t k = fit->n_r2++;
        snprintf(fit->r2_names[k], SEM_NAME_MAX, "%s", row->lhs);
        fit->r2_group[k] = row->group;
        double r2 = 1.0 - row->std_all;
        fit->r2[k] = r2 > 1.0 ? NAN : r2;
    }
    return CX_OK;
}
