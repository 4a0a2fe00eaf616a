/*
 * resample.c — see resample.h.
 */
#include "resample.h"

#include <string.h>

/* Inverse CDF of Poisson(1): P(k <= K) for K = 0..19 (the rest of the
 * mass, < 1e-19, is below the 53-bit resolution of the uniform). */
static const double poisson1_cdf[] = {
    0.36787944117144233, 0.73575888234288467, 0.91969860292860584, 0.98101184312384626,
    0.99634015317265634, 0.99940581518241833, 0.99991675885071196, 0.99998975080332531,
    0.99999887479740202, 0.9999998885745216, 0.9999999899522336, 0.99999999916838922,
    0.99999999993640221, 0.99999999999548017, 0.99999999999970002, 0.99999999999998135,
    0.99999999999999889, 0.99999999999999989, 1.0, 1.0,
};

unsigned cx_boot_count(uint64_t seed, uint64_t replicate, uint64_t key)
{
    double u = (double)(cx_draw_bits(seed, replicate + 1, key) >> 11) * 0x1.0p-53;
    unsigned k = 0;
    while (k + 1 < sizeof poisson1_cdf / sizeof *poisson1_cdf && u >= poisson1_cdf[k])
        k++;
    return k;
}

size_t cx_fold_of(uint64_t seed, uint64_t row, size_t k)
{
    /* the top bits times k: no modulo bias worth the name for k <= 1000 */
    uint64_t bits = cx_draw_bits(seed, CX_STREAM_FOLD, row) >> 32;
    return (size_t)((bits * (uint64_t)k) >> 32);
}

uint64_t cx_value_key(double value)
{
    if (value == 0)
        value = 0; /* -0 -> +0 */
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}
