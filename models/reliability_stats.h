/*
 * reliability_stats.h — psych::alpha's statistics of one scale from its
 * item covariance matrix (models/reliability_stats.c).
 */
#ifndef CX_RELIABILITY_STATS_H
#define CX_RELIABILITY_STATS_H

#include <stddef.h>

/* psych's alpha.1: raw and standardized alpha, Guttman's lambda 6 (smc),
 * average / median / variance of the inter-item r, signal/noise, the
 * asymptotic variance Q of alpha and ase = sqrt(Q / N). */
typedef struct rel_alpha {
    double raw, std, g6, av_r, med_r, var_r, s_n, q, ase;
} rel_alpha;

typedef struct rel_item_result {
    double std_r, r_cor, r_drop;
    rel_alpha dropped; /* the scale without this item */
} rel_item_result;

typedef struct rel_scale_result {
    rel_alpha total;
    double omega, omega_model; /* one-factor CFA (NaN when not fitted)  */
    rel_item_result *item; /* k, caller-owned */
} rel_scale_result;

/* Doubles of scratch rel_scale_stats needs for k items. */
size_t rel_work_size(size_t k);
/* C: k x k covariance (divisor N - 1), k >= 2; n: the scale's N (ase).
 * Returns -1 when an eigen decomposition fails. */
int rel_scale_stats(const double *C, size_t k, double n, rel_scale_result *s, double *work);
int rel_alpha_of(const double *C, size_t k, double n, rel_alpha *out, double *work);
int rel_smc(const double *R, size_t k, double *smc, double *work);
/* The F quantile as R's qf, as the root of GSL's F CDF by Brent's method
 * (GSL's inverse CDF does not converge at large degrees of freedom, e.g. a
 * scale on 6000 rows). NaN for p outside (0, 1) or bad df. */
double rel_quantile_f(double p, double df1, double df2);
/* Feldt's CI of alpha at `level` (psych's alpha.ci): qf is the F quantile. */
void rel_feldt(double alpha, double n, size_t k, double level, double *lower, double *upper,
               double (*qf)(double p, double df1, double df2));

#endif
