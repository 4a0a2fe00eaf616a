/*
 * difftest.h — chi-square difference tests of nested SEM fits (internal
 * to models/sem), as lavTestLRT() computes them.
 *
 * sem_diff_satorra_bentler_2001(): the scaled difference test of two fits
 * whose robust test is a scaled chi-square (estimator mlr, sampling
 * weights: lavaan's test = "yuan.bentler.mplus"), lavTestLRT()'s default
 * method "satorra.bentler.2001" for them (Satorra & Bentler 2001):
 *   c_d = (r0 c0 - r1 c1) / (r0 - r1),   T_d = (T0 - T1) / c_d,
 * with T the standard (unscaled) chi-squares, r their df and c their
 * scaling factors (chisq.scaling.factor); model 0 is the more
 * constrained one.  A saturated model 1 (r1 = 0) has c1 = 1.  Used by
 * invariance.c; it only needs the two fits' fit measures.
 */
#ifndef CX_SEM_DIFFTEST_H
#define CX_SEM_DIFFTEST_H

typedef enum sem_diff_status {
    SEM_DIFF_OK = 0,
    SEM_DIFF_SAME_DF,       /* r0 == r1: T_d = T0 - T1 unscaled, c_d NaN, no p-value */
    SEM_DIFF_NEGATIVE_SCALE /* c_d < 0: T_d and c_d NaN (lavaan warns)       */
} sem_diff_status;

typedef struct sem_diff_test {
    double stat;    /* T_d                                  */
    double df;      /* r0 - r1                              */
    double scaling; /* c_d (NaN when undefined)             */
    double pvalue;  /* upper tail of chi-square(df) at T_d (NaN when undefined) */
} sem_diff_test;

/* Model 1: the less constrained fit (t1, r1, c1); model 0: the more
 * constrained one (t0, r0, c0). */
sem_diff_status sem_diff_satorra_bentler_2001(double t1, double r1, double c1, double t0,
                                              double r0, double c0, sem_diff_test *out);

#endif
