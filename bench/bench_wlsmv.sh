#!/usr/bin/env bash
# bench_wlsmv.sh — WLSMV with ordinal items, cxfit vs lavaan, side by side
# on the same data.
#
# R draws N rows (default 100k) of 20 five-category items from a 4-factor
# model (continuous responses cut at fixed thresholds), writes a CSV that
# `cxfit import` turns into HDF5, and then times
#   cxfit: wall time of `cxfit run` (read the table, the counts pass,
#          thresholds and polychorics, the scores pass for Gamma, DWLS fit,
#          robust SEs, scaled-shifted test, write results);
#   lavaan_fit: cfa(..., ordered = TRUE-for-all, estimator = "WLSMV") on the
#          data frame already in memory (sample statistics included).
# Each is the median of REPS runs (default 3; lavaan LAVAAN_REPS, default
# 1 because one fit takes minutes).  The ratio is lavaan / cxfit.
# Usage: bash bench/bench_wlsmv.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
LAVAAN_REPS="${LAVAAN_REPS:-1}"
N="${N:-100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
have_r=0
Rscript -e 'quit(status = !requireNamespace("lavaan", quietly = TRUE))' 2>/dev/null && have_r=1

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

model="PEX =~ x1 + x2 + x3 + x4 + x5
OUT =~ x6 + x7 + x8 + x9 + x10
MOT =~ x11 + x12 + x13 + x14 + x15
POM =~ x16 + x17 + x18 + x19 + x20"

Rscript - "$N" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1]); p <- 20; m <- 4
set.seed(1)
phi <- matrix(0.4, m, m); diag(phi) <- 1
f <- matrix(rnorm(n * m), n, m) %*% chol(phi)
lam <- rep(c(0.8, 0.7, 0.6, 0.75, 0.65), m)
ystar <- f[, rep(1:m, each = 5)] * rep(lam, each = n) +
  matrix(rnorm(n * p), n, p) * rep(sqrt(1 - lam^2), each = n)
x <- apply(ystar, 2, function(v) findInterval(v, c(-1.5, -0.5, 0.3, 1.2)) + 1L)
colnames(x) <- paste0("x", 1:p)
write.csv(x, args[2], row.names = FALSE)
R
"$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data 2>/dev/null
{
    printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = cfa\nordered = all\nestimator = wlsmv\nsyntax = '
    echo "$model" | sed '2,$s/^/         /'
} >"$work/bench.ini"
times=""
for r in $(seq "$REPS"); do
    t0=$(date +%s.%N)
    "$CXFIT" run "$work/bench.ini" -o "$work/out.h5" --force --quiet
    t1=$(date +%s.%N)
    times="$times $(echo "$t1 - $t0" | bc -l)"
done
cx=$(echo $times | tr ' ' '\n' | median)
lv="NA"
if [ "$have_r" = 1 ]; then
    lv=$(Rscript - "$work/data.csv" "$LAVAAN_REPS" "$model" <<'R'
args <- commandArgs(TRUE)
suppressMessages(library(lavaan))
d <- read.csv(args[1])
t <- replicate(as.integer(args[2]),
               system.time(cfa(args[3], data = d, ordered = names(d), estimator = "WLSMV"))[["elapsed"]])
cat(median(t))
R
)
fi
ratio="NA"
[ "$lv" != NA ] && ratio=$(echo "$lv / $cx" | bc -l | xargs printf '%.1f')
printf '%-8s %-6s %10s %11s %7s\n' rows items cxfit_s lavaan_fit ratio
printf '%-8s %-6s %10.3f %11s %7s\n' "$N" 20 "$cx" "$lv" "$ratio"
