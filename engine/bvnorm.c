/*
 * bvnorm.c — see bvnorm.h.  Genz's BVND computes the upper tail
 * L(h, k; r) = P(X > h, Y > k); Phi2(h, k; r) = L(-h, -k; r).
 */
#include "bvnorm.h"

#include <math.h>

#include <gsl/gsl_cdf.h>

#define TWO_PI 6.283185307179586476925286766559

/* Gauss-Legendre nodes on [-1, 0] and weights of the 6-, 12- and 20-point
 * rules (half of each symmetric set; tests/test_bvnorm.c checks them
 * against the Legendre polynomials). */
static const double gl_x[3][10] = {{-0.9324695142031522, -0.6612093864662647, -0.2386191860831970},
                                   {-0.9815606342467191, -0.9041172563704750, -0.7699026741943050,
                                    -0.5873179542866171, -0.3678314989981802, -0.1252334085114692},
                                   {-0.9931285991850949, -0.9639719272779138, -0.9122344282513259,
                                    -0.8391169718222188, -0.7463319064601508, -0.6360536807265150,
                                    -0.5108670019508271, -0.3737060887154196, -0.2277858511416451,
                                    -0.07652652113349733}};
static const double gl_w[3][10] = {{0.1713244923791705, 0.3607615730481384, 0.4679139345726904},
                                   {0.04717533638651177, 0.1069393259953183, 0.1600783285433464,
                                    0.2031674267230659, 0.2334925365383547, 0.2491470458134029},
                                   {0.01761400713915212, 0.04060142980038694, 0.06267204833410906,
                                    0.08327674157670475, 0.1019301198172404, 0.1181945319615184,
                                    0.1316886384491766, 0.1420961093183821, 0.1491729864726037,
                                    0.1527533871307259}};
static const int gl_n[3] = {3, 6, 10};

static double phi(double x)
{
    return gsl_cdf_ugaussian_P(x);
}

/* |r| < 0.925: Plackett's identity, integrated over asin(r). */
static double bvnd_small(double h, double k, double r, int ng)
{
    double hk = h * k, hs = (h * h + k * k) / 2, asr = asin(r), bvn = 0;
    for (int i = 0; i < gl_n[ng]; i++) {
        double sn = sin(asr * (gl_x[ng][i] + 1) / 2);
        bvn += gl_w[ng][i] * exp((sn * hk - hs) / (1 - sn * sn));
        sn = sin(asr * (-gl_x[ng][i] + 1) / 2);
        bvn += gl_w[ng][i] * exp((sn * hk - hs) / (1 - sn * sn));
    }
    return bvn * asr / (2 * TWO_PI) + phi(-h) * phi(-k);
}

/* |r| >= 0.925: the expansion in sqrt(1 - r^2) with its remainder by
 * quadrature (Drezner & Wesolowsky's second formula, as Genz writes it). */
static double bvnd_large(double h, double k, double r, int ng)
{
    double hk = h * k, bvn = 0;
    if (r < 0) {
        k = -k;
        hk = -hk;
    }
    if (fabs(r) < 1) {
        double as = (1 - r) * (1 + r), a = sqrt(as), bs = (h - k) * (h - k);
        double c = (4 - hk) / 8, d = (12 - hk) / 16;
        bvn = a * exp(-(bs / as + hk) / 2) *
              (1 - c * (bs - as) * (1 - d * bs / 5) / 3 + c * d * as * as / 5);
        if (hk > -160) {
            double b = sqrt(bs);
            bvn -=
                exp(-hk / 2) * sqrt(TWO_PI) * phi(-b / a) * b * (1 - c * bs * (1 - d * bs / 5) / 3);
        }
        a /= 2;
        for (int i = 0; i < gl_n[ng]; i++)
            for (int is = -1; is <= 1; is += 2) {
                double xs = a * (is * gl_x[ng][i] + 1);
                xs *= xs;
                double rs = sqrt(1 - xs), asr = -(bs / xs + hk) / 2;
                if (asr > -100)
                    bvn += a * gl_w[ng][i] * exp(asr) *
                           (exp(-hk * xs / (2 * (1 + rs) * (1 + rs))) / rs -
                            (1 + c * xs * (1 + d * xs)));
            }
        bvn = -bvn / TWO_PI;
    }
    if (r > 0)
        return bvn + phi(-fmax(h, k));
    bvn = -bvn;
    if (k > h)
        bvn += h < 0 ? phi(k) - phi(h) : phi(-h) - phi(-k);
    return bvn;
}

static double bvnd(double h, double k, double r)
{
    double ar = fabs(r);
    int ng = ar < 0.3 ? 0 : ar < 0.75 ? 1 : 2;
    return ar < 0.925 ? bvnd_small(h, k, r, ng) : bvnd_large(h, k, r, ng);
}

double cx_bvnorm_cdf(double h, double k, double rho)
{
    if (isnan(h) || isnan(k) || isnan(rho))
        return NAN;
    if (h == -INFINITY || k == -INFINITY)
        return 0.0;
    if (h == INFINITY)
        return phi(k);
    if (k == INFINITY)
        return phi(h);
    double p = bvnd(-h, -k, rho);
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

double cx_bvnorm_pdf(double x, double y, double rho)
{
    if (isinf(x) || isinf(y))
        return 0.0;
    double s = 1 - rho * rho;
    return exp(-(x * x - 2 * rho * x * y + y * y) / (2 * s)) / (TWO_PI * sqrt(s));
}
