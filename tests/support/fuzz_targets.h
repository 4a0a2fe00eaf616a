/*
 * fuzz_targets.h — the parsers' and the results reader's fuzz entry points, shared by the libFuzzer
 * harnesses (tests/fuzz/, built with -DCXFIT_FUZZ=ON and clang) and the
 * deterministic mutation test that runs in every CI build
 * (tests/test_fuzz.c).  Each takes arbitrary bytes, must never crash or
 * leak, and returns 0 when the input parsed, 1 when it was rejected with a
 * proper one-line message; anything else is a bug (-1).
 */
#ifndef CX_FUZZ_TARGETS_H
#define CX_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_config(const uint8_t *data, size_t size);
int fuzz_where(const uint8_t *data, size_t size);
/* lavaan model syntax: first byte picks cfa/sem/growth, std_lv and groups */
int fuzz_lavaan(const uint8_t *data, size_t size);

/* R-style model formula, resolved and filled against a small table */
int fuzz_formula(const uint8_t *data, size_t size);

/* A results file, read the ways the engine reads it: `show` (overview and
 * each job alone) and what --resume reads (the job list, each job, the
 * root attributes).  0: everything read; 1: refused with a proper one-line
 * message (the first goes to msg, when not NULL); -1: a bug (a refusal
 * without a proper message, or HDF5 objects left open). */
int fuzz_results_file(const char *path, char *msg, size_t msg_size);
/* The same on raw bytes (written to a temporary file first). */
int fuzz_results(const uint8_t *data, size_t size);
/* Write a small results file with every kind of table show lays out
 * (estimates with two groups, fit, invariance, a failed job) through the
 * engine's writer: the seed of the mutation tests.  Returns 0 or -1. */
int fuzz_results_seed(const char *path);

#endif
