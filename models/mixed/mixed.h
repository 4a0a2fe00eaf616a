/*
 * mixed.h — the internals of `model = mixed` (linear mixed models as lme4
 * fits them), shared by the files of models/mixed/:
 *
 *   mixed.c         keys, check, fit: the model interface (docs/models/mixed.md)
 *   mixed_pass.c    one streaming pass: per-cell cross-products of [Z X y]
 *   mixed_system.c  cells -> grouping terms, their levels, Z'Z blocks, Z'X, Z'y
 *   mixed_pls.c     lme4's penalized least squares: the profiled deviance or
 *                   REML criterion at theta, dense blocks or CHOLMOD
 *   mixed_opt.c     theta by Nelder-Mead (GSL nmsimplex2), the final solution
 *   mixed_tables.c  estimates, variance components, BLUPs, fit
 *
 * The data enter only through "cells": the distinct tuples of every
 * grouping column of the formula (a view grouped by those columns, so the
 * engine's level machinery finds them).  Each row belongs to exactly one
 * cell and all its random-effect columns are indexed by the cell's levels,
 * so the per-cell sums of v v' with v = [z, x, y] hold every cross-product
 * the PLS system needs (Z'Z including crossed blocks, Z'X, Z'y, X'X, X'y,
 * y'y): the rows are never held.
 */
#ifndef CX_MIXED_H
#define CX_MIXED_H

#include <stddef.h>

#include "design.h"
#include "model.h"

/* 2 pi (C11 has no M_PI) */
#define MX_TWO_PI 6.283185307179586476925286766559

/* One bar of the formula, `(x | g)` or `(x || g)`. */
typedef struct mx_bar {
    size_t term;    /* grouping term it belongs to                       */
    size_t off;     /* first of its columns within the term's columns    */
    size_t k;       /* its columns                                       */
    int correlated; /* 0 for `||`: a diagonal relative factor            */
    size_t theta0;  /* its first theta; k(k+1)/2 (correlated) or k       */
    size_t ntheta;
} mx_bar;

/* A distinct grouping factor (the interaction of its columns) with every
 * column of the bars that share it, each bar's factor a diagonal block. */
typedef struct mx_term {
    char *name; /* "Subject", "batch:cask"                          */
    size_t n_gcols;
    size_t gcol[8]; /* positions in the cell tuple                      */
    size_t q;       /* random-effect columns per level                  */
    size_t *zcol;   /* q design z columns                               */
    size_t n_levels;
    double *levels;     /* n_levels x n_gcols values (row-major)            */
    size_t *cell_level; /* level of each cell                             */
    size_t off;         /* first global random-effect index: off + l*q      */
} mx_term;

/* Off-diagonal block of Z'Z between level ua of term a and ub of term b
 * (a < b): q_a x q_b, column-major. */
typedef struct mx_block {
    size_t a, ua, b, ub;
    double *v;
    size_t *colpos; /* CHOLMOD path: position of its column c's first row */
} mx_block;

typedef struct mx_problem {
    size_t p, nz, m; /* fixed columns, z columns, m = nz + p + 1         */
    size_t n_cells;
    double *cells;                     /* n_cells x m*m: sums of v v' (full, column-major)  */
    double *cell_n;                    /* rows per cell                                    */
    double n;                          /* rows                                             */
    double *xy;                        /* (p+1)^2: [X y]'[X y]                             */
    size_t n_terms, n_bars, ntheta, q; /* q: all random effects            */
    mx_term *terms;
    mx_bar *bars;
    double *diag;    /* per level of each term its q_t x q_t block of Z'Z  */
    size_t *diag_at; /* per term: index of its first block in diag       */
    double *zxy;     /* q x (p+1): [Z'X Z'y], column-major               */
    size_t n_blocks;
    mx_block *blocks; /* off-diagonal Z'Z blocks, sorted by (b, ub, a, ua) */
    /* validate: the pass's sums per slot (fold, or 0 = training and
     * 1 = holdout rows), slot-major: n_slots x n_cells x m*m, x n_cells
     * rows and sums of y; cells / cell_n are their totals.  n_slots = 1
     * and NULL without validation. */
    size_t n_slots;
    double *slot_cells, *slot_n, *slot_sy;
} mx_problem;

void mx_problem_free(mx_problem *pr);

/* mixed_pass.c: stream the view once; pr->p, nz, m set by the caller,
 * pr->n_cells = v->n_levels.  Fills cells, cell_n, n. */
int mx_pass(const cx_job *job, const cx_view *v, const cx_design *d, mx_problem *pr, cx_error *err);

/* mixed_system.c: terms and bars from the formula (before the pass) ... */
int mx_terms_setup(const cx_formula *f, const cx_design *d, const int *gcols, size_t n_gcols,
                   const cx_table *t, mx_problem *pr, cx_error *err);
/* ... and after the pass: levels, Z'Z blocks, [Z'X Z'y], [X y]'[X y]. */
int mx_system_build(mx_problem *pr, const cx_view *grouped, cx_error *err);

/* mixed_pls.c: the workspace of one deviance evaluation, allocated once. */
typedef struct mx_pls mx_pls;
mx_pls *mx_pls_alloc(const mx_problem *pr, int reml, cx_error *err);
void mx_pls_free(mx_pls *w);
/* 1 when the sparse (CHOLMOD) path is used: Z'Z is not block diagonal. */
int mx_pls_sparse(const mx_pls *w);
/* A cluster-bootstrap replicate of a one-term (dense) problem: level l
 * of the term counts mult[l] times (copies of the group), with the
 * replicate's [X y]'[X y] (xy) and rows n; mult = NULL restores the data. */
void mx_pls_set_replicate(mx_pls *w, const double *mult, const double *xy, double n);
/* beta and sigma^2 at theta (for replicates); -1 when singular. */
int mx_pls_estimates(mx_pls *w, const double *theta, double *beta, double *sigma2);
/* -2 log-likelihood (ML) or the REML criterion at theta; +inf when a
 * factorization fails. */
double mx_pls_deviance(mx_pls *w, const double *theta);
/* The criterion as a function of theta and sigma (beta profiled out, sigma
 * not): -2 logLik (ML) or -2 REML logLik; its minimum over sigma is
 * mx_pls_deviance.  For the Wald covariance of the variance parameters. */
double mx_pls_minus2ll(mx_pls *w, const double *theta, double sigma);
/* sigma^2 (RX'RX)^-1 at theta (p x p), the covariance of beta-hat as a
 * function of the variance parameters; -1 when RX is singular. */
int mx_pls_beta_vcov(mx_pls *w, const double *theta, double sigma, double *vcov);
/* At the last evaluated theta: beta, its covariance (p x p, sigma^2 (RX'RX)^-1),
 * sigma^2, the spherical and scaled random effects b (q), r^2, log|L|^2, log|RX|^2. */
typedef struct mx_solution {
    double *beta, *vcov, *b;
    double sigma2, pwrss, ldL2, ldRX2, dev;
} mx_solution;
int mx_pls_solution(mx_pls *w, const double *theta, mx_solution *s, cx_error *err);
void mx_solution_free(mx_solution *s);
/* T of term t at theta (q_t x q_t lower triangular, column-major). */
void mx_term_factor(const mx_problem *pr, size_t t, const double *theta, double *T);

/* mixed_opt.c: minimize over theta (fills o; o->theta is allocated). */
typedef struct mx_opt_result {
    double *theta;
    double dev;
    long evals;
    int converged;
    int singular;
} mx_opt_result;
int mx_optimize(mx_pls *w, const mx_problem *pr, mx_opt_result *o, cx_error *err);

/* Central-difference gradient g and Hessian H (n x n) of f at x, steps
 * h[i]; f0 = f(x).  x is restored on return.  Returns the evaluations. */
typedef double (*mx_fn)(void *ctx, const double *x);
long mx_hessian(mx_fn f, void *ctx, double *x, size_t n, const double *h, double f0, double *g,
                double *H);

/* mixed_vcov.c: the Wald covariance of phi = (theta, sigma), 2 H^-1 with H
 * the Hessian of mx_pls_minus2ll at the optimum; V (ntheta+1)^2 is all
 * NaN when H is not positive definite (a singular fit). */
int mx_param_cov(mx_pls *w, const mx_problem *pr, const double *theta, double sigma, double *V,
                 cx_error *err);

/* Satterthwaite degrees of freedom of each fixed effect (lmerTest's
 * method): df_j = 2 C_jj^2 / (g_j' A g_j), C(phi) = mx_pls_beta_vcov,
 * g_j its gradient in phi = (theta, sigma), A = V of mx_param_cov.
 * NaN where A is (a singular fit). */
int mx_satterthwaite(mx_pls *w, const mx_problem *pr, const double *theta, double sigma,
                     const double *V, double *df, cx_error *err);

/* mixed_tables.c: the variance components (vcov column, in the
 * variance_components table's row order) at theta and sigma^2. */
size_t mx_vc_count(const mx_problem *pr);
void mx_vc_values(const mx_problem *pr, const double *theta, double sigma2, double *out);

/* mixed_boot.c: the cluster bootstrap by the (one) grouping factor. */
typedef struct mx_boot {
    size_t B, nvc;
    double *beta; /* B x p replicate fixed effects      */
    double *vc;   /* B x nvc replicate variance comps.  */
    unsigned char *ok;
} mx_boot;
int mx_bootstrap(const cx_job *job, mx_pls *w, const mx_problem *pr, mx_boot *b, cx_error *err);
/* SEs and percentile CIs into the estimates and variance_components tables. */
int mx_boot_write(cx_result *res, const mx_problem *pr, const mx_boot *b, cx_error *err);
void mx_boot_free(mx_boot *b);

/* mixed_validate.c: validate = kfold(K) | holdout(EXPR) from the slot
 * sums of the pass: per split a training fit (the other slots' sums) and
 * the held-out SSE from the held-out sums; writes the validation table. */
typedef struct mx_refit_ctx {
    const cx_formula *f;
    const cx_design *d;
    const int *gcols;
    size_t n_gcols;
    const cx_table *t;
    const cx_view *grouped;
    int reml;
} mx_refit_ctx;
int mx_validate(const cx_job *job, const mx_refit_ctx *ctx, const mx_problem *pr, cx_result *res,
                cx_error *err);

/* mixed.c: lme4's size checks (rows > fixed effects, levels < rows, random
 * effects <= rows); the error names the job's formula key. */
int mx_check_sizes(const cx_job *job, const mx_problem *pr, cx_error *err);

/* mixed_tables.c */
int mx_write_tables(cx_result *res, const mx_problem *pr, const cx_design *d, const cx_formula *f,
                    const cx_table *t, const int *gcols, int reml, const mx_opt_result *o,
                    const mx_solution *s, const double *V, const double *df, int sparse,
                    double level, cx_error *err);

#endif
