#!/usr/bin/env bash
# bench_cfa.sh — CFA fit time, cxfit vs lavaan, side by side on the same data.
#
# For N in 10k, 100k, 1M rows and two models (9 items / 3 factors, the
# Holzinger-Swineford shape; 20 items / 4 factors, the EXQ shape), R draws
# the data once, writes a CSV that `cxfit import` turns into HDF5, and then:
#   cxfit: wall time of `cxfit run` (read the HDF5 table, one streaming pass
#          for the covariances, ML fit, SEs, fit measures, write results);
#   lavaan_fit: time of cfa() on the data frame already in memory;
#   lavaan_total: wall time of the R script a user runs (start R, load
#          lavaan, read.csv the same data, cfa()) — the end-to-end peer of
#          `cxfit run`, which reads its HDF5 table itself.
# Each is the median of REPS runs (default 3); ratios are lavaan / cxfit.
# lavaan at 1M rows is skipped unless LAVAAN_1M=1 (it takes minutes).
# Usage: bash bench/bench_cfa.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
SIZES="${SIZES:-10000 100000 1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
have_r=0
Rscript -e 'quit(status = !requireNamespace("lavaan", quietly = TRUE))' 2>/dev/null && have_r=1

source "$here/lib.sh"

model_syntax() {
    if [ "$1" = 9 ]; then
        echo "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
    else
        echo "PEX =~ x1 + x2 + x3 + x4 + x5
OUT =~ x6 + x7 + x8 + x9 + x10
MOT =~ x11 + x12 + x13 + x14 + x15
POM =~ x16 + x17 + x18 + x19 + x20"
    fi
}

printf '%-8s %-6s %10s %11s %7s %13s %7s\n' rows items cxfit_s lavaan_fit ratio lavaan_total ratio
for p in 9 20; do
    for n in $SIZES; do
        m=$((p / (p == 9 ? 3 : 5)))
        Rscript - "$n" "$p" "$m" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1]); p <- as.integer(args[2]); m <- as.integer(args[3])
set.seed(1)
k <- p / m
phi <- matrix(0.4, m, m); diag(phi) <- 1
f <- matrix(rnorm(n * m), n, m) %*% chol(phi)
lam <- rep(c(0.8, 0.7, 0.6, 0.75, 0.65)[1:k], m)
x <- f[, rep(1:m, each = k)] * rep(lam, each = n) + matrix(rnorm(n * p, sd = 0.6), n, p)
colnames(x) <- paste0("x", 1:p)
write.csv(round(x, 4), args[4], row.names = FALSE)
R
        "$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data 2>/dev/null
        {
            printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = cfa\nsyntax = '
            model_syntax "$p" | sed '2,$s/^/         /'
        } >"$work/bench.ini"
        cx=$(median_wall "$REPS" "$CXFIT" run "$work/bench.ini" -o "$work/out.h5" --force --quiet)
        lv="NA"
        if [ "$have_r" = 1 ] && { [ "$n" -lt 1000000 ] || [ "${LAVAAN_1M:-0}" = 1 ]; }; then
            lv=$(Rscript - "$work/data.csv" "$REPS" "$(model_syntax "$p")" <<'R'
args <- commandArgs(TRUE)
suppressMessages(library(lavaan))
d <- read.csv(args[1])
t <- replicate(as.integer(args[2]), system.time(cfa(args[3], data = d))[["elapsed"]])
cat(median(t))
R
)
        fi
        total="NA"
        if [ "$lv" != NA ]; then
            total=$(median_wall "$REPS" Rscript -e 'suppressMessages(library(lavaan)); d <- read.csv(commandArgs(TRUE)[1]); invisible(cfa(commandArgs(TRUE)[2], data = d))' \
                "$work/data.csv" "$(model_syntax "$p")" 2>/dev/null)
        fi
        ratio="NA"
        ratio_total="NA"
        [ "$lv" != NA ] && ratio=$(echo "$lv / $cx" | bc -l | xargs printf '%.1f')
        [ "$total" != NA ] && ratio_total=$(echo "$total / $cx" | bc -l | xargs printf '%.1f')
        [ "$total" != NA ] && total=$(printf '%.3f' "$total")
        printf '%-8s %-6s %10.3f %11s %7s %13s %7s\n' "$n" "$p" "$cx" "$lv" "$ratio" "$total" "$ratio_total"
        rm -f "$work/data.h5" "$work/data.csv"
    done
done
