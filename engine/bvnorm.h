/*
 * bvnorm.h — the standard bivariate normal distribution: density and
 * lower-tail probability Phi2(h, k; rho) = P(X <= h, Y <= k) for standard
 * normal X, Y with correlation rho.
 *
 * GSL has the density (gsl_ran_bivariate_gaussian_pdf) but no bivariate
 * CDF, so the CDF is Alan Genz's BVND algorithm (Genz 2004, "Numerical
 * computation of rectangular bivariate and trivariate normal and t
 * probabilities", Statistics and Computing 14:251-260), itself a
 * refinement of Drezner & Wesolowsky (1990): Gauss-Legendre quadrature of
 * Plackett's integral over asin(rho) with 6, 12 or 20 points for |rho| <
 * 0.3, < 0.75, < 0.925, and a series plus quadrature in sqrt(1 - rho^2)
 * above.  Absolute accuracy about 1e-15, the algorithm R's pbivnorm (and
 * so lavaan's polychoric correlations) uses.
 */
#ifndef CX_BVNORM_H
#define CX_BVNORM_H

/* P(X <= h, Y <= k), rho in [-1, 1]; h and k may be +-INFINITY. */
double cx_bvnorm_cdf(double h, double k, double rho);
/* The density phi2(x, y; rho), |rho| < 1 (0 at infinite x or y). */
double cx_bvnorm_pdf(double x, double y, double rho);

#endif
