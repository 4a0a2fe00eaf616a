/*
 * fuzz_targets.h — the parsers' fuzz entry points, shared by the libFuzzer
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

#endif
