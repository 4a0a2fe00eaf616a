#!/usr/bin/env bash
# bench_fiml.sh — FIML CFA (missing = fiml vs lavaan's missing = "ml"),
# cxfit vs lavaan, side by side on the same data.
#
# R draws a 9-item / 3-factor CFA sample (the Holzinger-Swineford shape)
# of N rows once, removes every cell independently with probability 0.1
# (so ~61% of rows are incomplete, over ~500 missing patterns), writes a
# CSV that `cxfit import` turns into HDF5, and then:
#   cxfit: wall time of `cxfit run` (read the HDF5 table, one streaming pass
#          for the per-pattern statistics, EM for the saturated model,
#          FIML fit, observed-information SEs, fit measures, write results);
#   lavaan_fit: time of cfa(..., missing = "ml") on the data frame already
#          in memory (lavaan's defaults, which also fit h1 by EM and the
#          baseline model).
# Each is the median of REPS runs (default 3); the ratio is lavaan / cxfit.
# Usage: bash bench/bench_fiml.sh [build/cxfit]    (SIZES="100000" REPS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
SIZES="${SIZES:-100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
have_r=0
Rscript -e 'quit(status = !requireNamespace("lavaan", quietly = TRUE))' 2>/dev/null && have_r=1

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
syntax="visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"

printf '%-8s %9s %10s %11s %7s\n' rows patterns cxfit_s lavaan_fit ratio
for n in $SIZES; do
    Rscript - "$n" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1])
set.seed(1)
phi <- matrix(0.4, 3, 3); diag(phi) <- 1
f <- matrix(rnorm(n * 3), n, 3) %*% chol(phi)
x <- f[, rep(1:3, each = 3)] * rep(c(0.8, 0.7, 0.6), each = n, times = 3) +
     matrix(rnorm(n * 9, sd = 0.6), n, 9)
x <- round(x, 4)
x[matrix(runif(n * 9) < 0.1, n, 9)] <- NA
x <- x[rowSums(!is.na(x)) > 0, ]
colnames(x) <- paste0("x", 1:9)
write.csv(x, args[2], row.names = FALSE, na = "")
R
    "$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data 2>/dev/null
    {
        printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = cfa\nmissing = fiml\nsyntax = '
        echo "$syntax" | sed '2,$s/^/         /'
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
    pats="NA"
    if [ "$have_r" = 1 ]; then
        out=$(Rscript - "$work/data.csv" "$REPS" "$syntax" <<'R'
args <- commandArgs(TRUE)
suppressMessages(library(lavaan))
d <- read.csv(args[1])
t <- replicate(as.integer(args[2]), system.time(f <<- cfa(args[3], data = d, missing = "ml"))[["elapsed"]])
cat(median(t), nrow(lavInspect(f, "patterns")))
R
)
        lv=${out% *}
        pats=${out#* }
    fi
    ratio="NA"
    [ "$lv" != NA ] && ratio=$(echo "$lv / $cx" | bc -l | xargs printf '%.1f')
    printf '%-8s %9s %10.3f %11s %7s\n' "$n" "$pats" "$cx" "$lv" "$ratio"
    rm -f "$work/data.h5" "$work/data.csv"
done
