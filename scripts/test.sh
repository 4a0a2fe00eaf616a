#!/usr/bin/env bash
# test.sh — install what is missing, build, and run every test through
# ctest; then build again with AddressSanitizer + UndefinedBehaviorSanitizer
# and run every test again.  Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
export CXFIT_TEST_PACKAGES=1 # the report tests need an XML parser and a browser

bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j2

echo "== again under AddressSanitizer + UndefinedBehaviorSanitizer ==" >&2
BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_EXTRA="-DCXFIT_SANITIZE=ON" bash scripts/setup.sh
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2
