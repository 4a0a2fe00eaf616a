/*
 * difftest.c — chi-square difference tests of nested SEM fits (see
 * difftest.h).  Formula from Satorra & Bentler (2001), "A scaled
 * difference chi-square test statistic for moment structure analysis",
 * Psychometrika 66, 507-514, as lavaan's lav_test_diff_SatorraBentler2001().
 */
#include "difftest.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

sem_diff_status sem_diff_satorra_bentler_2001(double t1, double r1, double c1, double t0,
                                              double r0, double c0, sem_diff_test *out)
{
    if (r1 == 0.0) /* a saturated model's statistic is 0 whatever its scaling */
        c1 = 1.0;
    out->df = r0 - r1;
    if (out->df == 0.0) {
        /* no difference in df: nothing to scale, nothing to test */
        out->stat = t0 - t1;
        out->scaling = NAN;
        out->pvalue = NAN;
        return SEM_DIFF_SAME_DF;
    }
    double cd = (r0 * c0 - r1 * c1) / out->df;
    if (cd < 0.0) {
        /* the scaled statistic would be negative: undefined */
        out->stat = out->scaling = out->pvalue = NAN;
        return SEM_DIFF_NEGATIVE_SCALE;
    }
    out->scaling = cd;
    out->stat = (t0 - t1) / cd;
    out->pvalue = out->df > 0 ? gsl_cdf_chisq_Q(fmax(out->stat, 0.0), out->df) : NAN;
    return SEM_DIFF_OK;
}
