/*
 * bootci.h — bootstrap standard errors and confidence intervals from
 * replicate estimates, for every model (lavaan's and boot's conventions).
 *
 * For replicates t_1..t_R and the estimate t0:
 *   se         sd(t), divisor R - 1;
 *   percentile boot's norm.inter at alpha/2 and 1 - alpha/2 (the
 *              (R+1) alpha-th order statistic, interpolated on the normal
 *              quantile scale), lavaan's boot.ci.type = "perc";
 *   normal     t0 - bias -/+ z se, bias = mean(t) - t0 (lavaan's "norm");
 *   BCa        lavaan's "bca.simple": percentiles at
 *              pnorm(2 w -/+ z), w = qnorm(#(t < t0) / R), acceleration 0.
 */
#ifndef CX_BOOTCI_H
#define CX_BOOTCI_H

#include <stddef.h>

typedef struct cx_boot_summary {
    double se, mean, perc[2], norm[2], bca[2];
} cx_boot_summary;

/* Summaries of replicates t[0..n) (n >= 2; t is sorted in place). */
void cx_boot_summarise(double *t, size_t n, double t0, double level, cx_boot_summary *s);
/* norm.inter: the alpha quantile of sorted x[0..n). */
double cx_boot_quantile(const double *x, size_t n, double alpha);

#endif
