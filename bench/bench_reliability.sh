#!/usr/bin/env bash
# bench_reliability.sh — `model = reliability` vs psych::alpha, side by side
# on the same data.
#
# R draws 25 Likert items (1..6; five scales of five items, one
# reverse-keyed item per scale) for N rows, writes a CSV that `cxfit
# import` turns into HDF5, and then:
#   cxfit: wall time of `cxfit run` of one reliability job with the five
#          scales (range scan, one pass of moments, alpha statistics, the
#          five one-factor CFAs for omega, the 25-item bifactor CFA for
#          omega hierarchical, the results file);
#   alpha: psych::alpha of the five scales (with keys) on the data frame
#          already in memory — alpha statistics only, no omega;
#   alpha+omega: the same plus lavaan cfa() + semTools::compRelSEM per scale
#          and for the bifactor model (what the cxfit job computes).
# Each is the median of REPS runs (default 3); ratios are R / cxfit.
# Usage: bash bench/bench_reliability.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
SIZES="${SIZES:-10000 100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source "$here/lib.sh"

scales="S1: x1 x2 x3 x4 -x5
         S2: x6 x7 x8 x9 -x10
         S3: x11 x12 x13 x14 -x15
         S4: x16 x17 x18 x19 -x20
         S5: x21 x22 x23 x24 -x25"

printf '%-8s %9s %9s %7s %12s %7s\n' rows cxfit_s alpha_s ratio alpha+omega ratio
for n in $SIZES; do
    Rscript - "$n" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1]); set.seed(1)
f <- matrix(rnorm(n * 5), n, 5) %*% chol(matrix(0.3, 5, 5) + diag(0.7, 5))
lam <- rep(c(0.8, 0.7, 0.6, 0.75, -0.65), 5)
y <- f[, rep(1:5, each = 5)] * rep(lam, each = n) + matrix(rnorm(n * 25, sd = 0.7), n, 25)
x <- pmin(pmax(round(3.5 + 1.2 * y), 1), 6)
colnames(x) <- paste0("x", 1:25)
write.csv(x, args[2], row.names = FALSE)
R
    rm -f "$work/data.h5" # import never overwrites a file
    "$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data 2>/dev/null
    printf '[data]\nfile = data.h5\ntable = /data\n\n[job rel]\nmodel = reliability\nscales = %s\n' \
        "$scales" >"$work/bench.ini"
    cx=$(median_wall "$REPS" "$CXFIT" run "$work/bench.ini" -o "$work/out.h5" --force --quiet)
    out=$(Rscript - "$work/data.csv" "$REPS" <<'R'
args <- commandArgs(TRUE)
suppressMessages({library(psych); library(lavaan); library(semTools)})
d <- read.csv(args[1]); reps <- as.integer(args[2])
sc <- lapply(0:4, function(s) paste0("x", s * 5 + 1:5))
alpha_all <- function() for (s in sc) psych::alpha(d[, s], keys = s[5], warnings = FALSE)
omega_all <- function() {
  k <- d; for (s in sc) k[[s[5]]] <- 7 - k[[s[5]]]
  for (s in sc) compRelSEM(cfa(paste("F =~", paste(s, collapse = "+")), data = k, std.lv = TRUE))
  m <- paste0("g =~ ", paste(unlist(sc), collapse = "+"), "\n",
              paste(sapply(1:5, function(i) paste0("f", i, " =~ ", paste(sc[[i]], collapse = "+"))), collapse = "\n"))
  compRelSEM(cfa(m, data = k, std.lv = TRUE, orthogonal = TRUE))
}
ta <- replicate(reps, system.time(alpha_all())[["elapsed"]])
to <- replicate(reps, system.time({alpha_all(); omega_all()})[["elapsed"]])
cat(median(ta), median(to))
R
)
    a=${out% *}; o=${out#* }
    printf '%-8s %9.3f %9.3f %7.1f %12.3f %7.1f\n' "$n" "$cx" "$a" "$(echo "$a / $cx" | bc -l)" \
        "$o" "$(echo "$o / $cx" | bc -l)"
done
