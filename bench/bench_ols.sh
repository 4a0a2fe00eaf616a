#!/usr/bin/env bash
# bench_ols.sh — OLS with 20 regressors, cxfit vs R's lm, side by side on
# the same data (issue 14: at least 20x lm on the data in memory).
#
# R draws N rows (default 1M) of 20 correlated regressors, a cluster id
# (1000 clusters) and y once, writes a CSV that `cxfit import` turns into
# HDF5, and then, median of REPS runs (default 3):
#   cxfit_s:     wall time of `cxfit run -j THREADS` (read the HDF5 table,
#                one streaming pass of cross-products, fit, write results);
#   cxfit_cl_s:  the same with se = cluster(g): a second pass of scores;
#   lm_s:        lm(y ~ x1 + ... + x20) on the data frame already in memory;
#   lm_cl_s:     lm() + sandwich::vcovCL(cluster = ~g) in memory.
# Ratios are R / cxfit.  Usage: bash bench/bench_ols.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
N="${N:-1000000}"
THREADS="${THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

Rscript - "$N" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1])
set.seed(1)
f <- rnorm(n)
x <- matrix(rnorm(n * 20), n, 20) + 0.4 * f
colnames(x) <- paste0("x", 1:20)
g <- sample.int(1000, n, replace = TRUE)
y <- drop(x %*% seq(0.05, 1, by = 0.05)) + rnorm(1000)[g] + rnorm(n)
write.csv(data.frame(round(x, 4), g = g, y = round(y, 4)), args[2], row.names = FALSE)
R
"$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data >/dev/null 2>&1
rhs="$(printf 'x%d + ' $(seq 1 20) | sed 's/ + $//')"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = ols\nformula = y ~ %s\n' \
    "$rhs" >"$work/ols.ini"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = ols\nformula = y ~ %s\nse = cluster(g)\n' \
    "$rhs" >"$work/ols_cl.ini"

time_cxfit() {
    for _ in $(seq "$REPS"); do
        s=$(date +%s.%N)
        "$CXFIT" run "$1" -o "$work/out.h5" -j "$THREADS" --force --quiet
        e=$(date +%s.%N)
        echo "$e - $s" | bc
    done | median
}
cx=$(time_cxfit "$work/ols.ini")
cxcl=$(time_cxfit "$work/ols_cl.ini")
read -r lm lmcl < <(Rscript - "$work/data.csv" "$REPS" <<'R'
suppressPackageStartupMessages(library(sandwich))
args <- commandArgs(TRUE); d <- read.csv(args[1]); reps <- as.integer(args[2])
f <- reformulate(paste0("x", 1:20), "y")
t1 <- replicate(reps, system.time(m <- lm(f, data = d))[["elapsed"]])
t2 <- replicate(reps, system.time({m <- lm(f, data = d); v <- vcovCL(m, cluster = ~g)})[["elapsed"]])
cat(median(t1), median(t2), "\n")
R
)
printf '%-9s %8s %8s %7s %10s %9s %7s %14s\n' rows cxfit_s lm_s ratio cxfit_cl_s lm_cl_s ratio cl/classical
printf '%-9s %8.3f %8.3f %7.1f %10.3f %9.3f %7.1f %14.2f\n' "$N" "$cx" "$lm" \
    "$(echo "$lm / $cx" | bc -l)" "$cxcl" "$lmcl" "$(echo "$lmcl / $cxcl" | bc -l)" \
    "$(echo "$cxcl / $cx" | bc -l)"
