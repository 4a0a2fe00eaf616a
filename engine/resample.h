/*
 * resample.h — counter-based random draws for bootstrap replicates and
 * validation folds.
 *
 * Every draw is a pure function of (seed, stream, key): a bootstrap
 * replicate's weight for a row is a hash of (seed, replicate, table row),
 * a row's fold a hash of (seed, row).  Nothing depends on the order rows
 * are read in, the number of threads, the block size or (later) the MPI
 * rank that reads them, and any single draw can be recomputed by hand
 * (tests do).  The hash is SplitMix64's finalizer applied in a chain,
 * which passes BigCrush as a counter-based generator.
 *
 * Bootstrap weights are Poisson(1) counts (the "Poisson bootstrap"): each
 * row enters a replicate k ~ Poisson(1) times, independently.  lavaan
 * resamples N rows with replacement (multinomial counts); the two agree
 * to O(1/N) in every moment and so give the same SEs within Monte Carlo
 * error, and Poisson counts need no knowledge of N or of other rows, so
 * the replicates are built in the same single pass as everything else.
 */
#ifndef CX_RESAMPLE_H
#define CX_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* SplitMix64's output function: a bijective 64-bit mix. */
static inline uint64_t cx_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The draw of (seed, stream, key) as 64 random bits. */
static inline uint64_t cx_draw_bits(uint64_t seed, uint64_t stream, uint64_t key)
{
    return cx_mix64(cx_mix64(cx_mix64(seed) ^ stream) ^ key);
}

/* Streams: folds use stream 0, bootstrap replicate r (0-based) r + 1. */
#define CX_STREAM_FOLD 0ULL

/* Poisson(1) count of row/unit `key` in bootstrap replicate r. */
unsigned cx_boot_count(uint64_t seed, uint64_t replicate, uint64_t key);
/* Fold 0..k-1 of table row `row` for kfold(k). */
size_t cx_fold_of(uint64_t seed, uint64_t row, size_t k);
/* A unit key from a cluster column's value (its bits; -0 and 0 agree). */
uint64_t cx_value_key(double value);

#endif
