#!/usr/bin/env bash
# demo.sh — install what is missing, build, and run the demo study on the
# bundled simulated CX panel (datasets/demo.h5); then print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p results
./build/cxfit run configs/demo.ini -o results/demo.h5 --force
echo
./build/cxfit report results/demo.h5 -o results/demo.html
echo "Results written to results/demo.h5 ($(du -h results/demo.h5 | cut -f1)); charts in results/demo.html."
echo "Summary (./build/cxfit show results/demo.h5 JOB for one job in full):"
./build/cxfit show results/demo.h5
