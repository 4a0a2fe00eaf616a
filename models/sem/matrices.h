/*
 * matrices.h — the LISREL "all-y" representation of a structural equation
 * model, per group, and its first derivatives.
 *
 * Nodes are the latent variables (pt->lv_names, in order) followed by
 * "phantom" latent variables, one for every observed variable that takes
 * part in a structural regression (lhs or rhs of `~`) or that covaries with
 * a latent variable.  As in lavaan's lav_model, a phantom has a fixed
 * loading of 1 and a zero residual in Theta; its (residual) variance and
 * covariances live in Psi, its regressions in Beta, its intercept in alpha.
 *
 *   B     = (I - Beta)^-1                      (M x M)
 *   V     = B Psi B'                           implied node covariance
 *   Sigma = Lambda V Lambda' + Theta           (p x p)
 *   mu    = nu + Lambda B alpha                (p)
 *
 * Derivatives of Sigma and mu with respect to one matrix element are
 * rank-one or rank-two updates (Neudecker & Satorra 1991): with
 * G = Lambda B, LV = Lambda V and E = B alpha,
 *   dLambda_ij: dSigma = e_i LV_j' + LV_j e_i',   dmu = e_i E_j
 *   dBeta_ij:   dSigma = G_i LV_j' + LV_j G_i',   dmu = G_i E_j
 *   dPsi_ij:    dSigma = G_i G_j' + G_j G_i' (i != j), G_i G_i' (i == j)
 *   dTheta_ij:  likewise with unit vectors
 *   dnu_i:      dmu = e_i;   dalpha_i: dmu = G_i
 * All matrices are row-major.
 */
#ifndef CX_SEM_MATRICES_H
#define CX_SEM_MATRICES_H

#include <stddef.h>

#include "partable.h"

typedef enum sem_mat {
    SEM_MAT_NONE = -1, /* the row is not a model-matrix element (:=, ==) */
    SEM_MAT_LAMBDA = 0,
    SEM_MAT_BETA,
    SEM_MAT_PSI,
    SEM_MAT_THETA,
    SEM_MAT_NU,
    SEM_MAT_ALPHA
} sem_mat;

/* One element of one model matrix of one group. */
typedef struct sem_target {
    sem_mat mat;
    int group;
    int i, j; /* row/column; j unused for nu and alpha */
} sem_target;

typedef struct sem_group_matrices {
    double *lambda, *beta, *psi, *theta, *nu, *alpha; /* p*M, M*M, M*M, p*p, p, M */
    /* implied quantities, filled by sem_model_implied() */
    double *b;     /* (I - Beta)^-1, M*M           */
    double *g;     /* Lambda B, p*M                */
    double *v;     /* B Psi B', M*M                */
    double *lv;    /* Lambda V, p*M                */
    double *eta;   /* B alpha, M                   */
    double *sigma; /* p*p                          */
    double *mu;    /* p                            */
} sem_group_matrices;

typedef struct sem_model {
    size_t p;       /* observed variables                     */
    size_t m;       /* latent variables proper                */
    size_t n_nodes; /* m + phantoms                           */
    size_t n_groups;
    int meanstructure;
    const char **node_names; /* n_nodes names (borrowed from pt)  */
    const char **ov_names;   /* p names (borrowed)                */
    int *ov_node;            /* p: node of a phantom ov, or -1    */
    sem_group_matrices *grp; /* n_groups                          */
    double *work;            /* scratch, 2 * n_nodes^2 + n_nodes  */
} sem_model;

/* Build the node layout for `pt` (which must outlive the model). */
int sem_model_init(sem_model *mod, const sem_partable *pt, cx_error *err);
void sem_model_free(sem_model *mod);

/* Index of an observed variable / node by name, -1 if none. */
int sem_model_ov_index(const sem_model *mod, const char *name);
int sem_model_node_index(const sem_model *mod, const char *name);

/* Where a (lhs, op, rhs) parameter of `group` lives.  Returns CX_OK, or
 * CX_EUSAGE with a message when the combination has no place in the
 * representation (t->mat = SEM_MAT_NONE for := / == / < / > rows). */
int sem_model_target(const sem_model *mod, const char *lhs, sem_op op, const char *rhs, int group,
                     sem_target *t, cx_error *err);

/* Zero every matrix and put the phantoms' unit loadings in place. */
void sem_model_clear(sem_model *mod);
/* Write one element (and its mirror in the symmetric Psi / Theta). */
void sem_model_set(sem_model *mod, const sem_target *t, double value);
double sem_model_get(const sem_model *mod, const sem_target *t);

/* Compute B, V, Sigma, mu ... for every group.  CX_EFAIL when I - Beta is
 * singular (a non-recursive model with a unit feedback loop). */
int sem_model_implied(sem_model *mod, cx_error *err);

/* Add `scale` times d(Sigma)/d(element) to dsigma (p*p) and d(mu) to dmu
 * (p; may be NULL) for the target's group, at the current implied values. */
void sem_model_add_derivative(const sem_model *mod, const sem_target *t, double scale,
                              double *dsigma, double *dmu);

#endif
