#!/usr/bin/env bash
# setup.sh — install what is missing (Debian packages only) and build cxfit.
# Idempotent: apt-get runs only when a package is missing.  Used by demo.sh
# and test.sh; BUILD_DIR and BUILD_TYPE may be set by the caller.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config libopenblas-dev liblapacke-dev libgsl-dev
libhdf5-dev zlib1g-dev libcmocka-dev libopenmpi-dev openmpi-bin hdf5-tools
libreadstat-dev libsuitesparse-dev libdeflate-dev"
# What only the tests need (scripts/test.sh sets CXFIT_TEST_PACKAGES=1):
# clang and its OpenMP runtime, because CI builds and tests with gcc and
# clang; an XML parser and a headless browser to check `cxfit report`.
TEST_PACKAGES="clang libomp-dev libxml2-utils chromium-headless-shell"
if [ -n "${CXFIT_TEST_PACKAGES:-}" ]; then PACKAGES="$PACKAGES $TEST_PACKAGES"; fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >&2
    $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 $missing >&2
fi

BUILD_DIR="${BUILD_DIR:-build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
CC="${CC:-cc}" cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_EXTRA:-} >&2
cmake --build "$BUILD_DIR" -j"$(nproc)" >&2
