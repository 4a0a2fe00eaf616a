/*
 * common.h — what the regression families of models/logit/ (logit, ologit)
 * share: the parsed keys of a job (formula, scores, se), the design for
 * them, and the small dense linear algebra of their covariance matrices.
 */
#ifndef CX_LOGIT_COMMON_H
#define CX_LOGIT_COMMON_H

#include "design.h"
#include "model.h"

typedef enum logit_se { SE_CLASSICAL, SE_HC0, SE_HC1, SE_CLUSTER } logit_se;

/* A job's parsed keys. */
typedef struct logit_spec {
    cx_formula *formula;
    cx_scores *scores;
    logit_se se;
    char cluster[CX_NAME_MAX];
    const char *weights;
} logit_spec;

/* `formula`, `scores`, `se`; errors name file, line and key. */
int lg_parse_spec(const cx_job *job, logit_spec *s, cx_error *err);
void lg_spec_free(logit_spec *s);
/* The design of the job's formula (cluster column as extra 0). */
cx_design *lg_design_for(const cx_job *job, const logit_spec *s, cx_error *err);
/* check(): keys parse and every column exists. */
int lg_check(const cx_job *job, cx_error *err);

/* Inverse of a q x q symmetric positive definite matrix in place
 * (column-major, full result); CX_EFAIL when singular. */
int lg_invert_spd(double *a, size_t q);
/* V = scale B M B (all q x q, symmetric, column-major). */
void lg_sandwich(const double *B, const double *M, size_t q, double scale, double *V);
/* Fill the lower triangle of a column-major upper triangle. */
void lg_symmetrize(double *a, size_t q);
/* lhs of every estimate: the outcome's column (or its label). */
const char *lg_outcome_name(const cx_formula *f);
/* Index (< n) of the least determined of the first n parameters: the
 * largest variance inflation V_jj info_jj (both d x d, column-major). */
size_t lg_weakest(const double *V, const double *info, size_t d, size_t n);
int lg_add_fits(cx_result *r, const char *const *names, const double *values, size_t n,
                cx_error *err);

#endif
