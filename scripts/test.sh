#!/usr/bin/env bash
# test.sh — install what is missing, build, and run every test through
# ctest; then build again with AddressSanitizer + UndefinedBehaviorSanitizer
# and run every test again; then build with clang and run them once more.
# In CI (CI=true) every build treats warnings as errors, with gcc and clang.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1

WERROR=OFF
if [ "${CI:-}" = "true" ] || [ "${CXFIT_WERROR:-}" = "ON" ]; then WERROR=ON; fi
export CXFIT_TEST_PACKAGES=1    # setup.sh: also what the tests need (clang, a browser, ...)

CMAKE_EXTRA="-DCXFIT_WERROR=$WERROR" bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j2

echo "== again under AddressSanitizer + UndefinedBehaviorSanitizer ==" >&2
BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_EXTRA="-DCXFIT_SANITIZE=ON -DCXFIT_WERROR=$WERROR" \
    bash scripts/setup.sh
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2

echo "== again built with clang ==" >&2
CC=clang BUILD_DIR=build-clang CMAKE_EXTRA="-DCXFIT_WERROR=$WERROR" bash scripts/setup.sh
ctest --test-dir build-clang --output-on-failure -j2
