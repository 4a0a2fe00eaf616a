#!/usr/bin/env bash
# bench_mixed.sh — random-intercept linear mixed model, cxfit vs lme4, side
# by side on the same data (issue 18's benchmark).
#
# R draws ROWS rows (default 1e6) in GROUPS groups (default 1e4, NGROUPS) with two
# regressors, a group intercept (sd 1) and a residual (sd 2); the CSV is
# imported to HDF5 once.  Then, REPS times each (default 3), medians:
#   cxfit: wall time of `cxfit run` (read the HDF5 table, one streaming
#          pass for the per-group cross-products, Nelder-Mead over theta,
#          write results);
#   lmer_fit: lmer(y ~ x1 + x2 + (1 | g), REML = TRUE) on the data frame
#          already in memory (its default optimizer);
#   lmer_total: wall time of the R script a user runs (start R, load lme4,
#          read.csv, fit).
# Ratios are lme4 / cxfit; the estimates of both are printed.
# Usage: bash bench/bench_mixed.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
ROWS="${ROWS:-1000000}"
NGROUPS="${NGROUPS:-10000}"
work="${WORK:-$(mktemp -d)}"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
source "$here/lib.sh"

Rscript - "$ROWS" "$NGROUPS" "$work/mixed.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1]); G <- as.integer(args[2])
set.seed(1)
g <- sort(sample.int(G, n, replace = TRUE))
x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.4)
y <- 1 + 0.5 * x1 - 0.3 * x2 + rnorm(G)[g] + rnorm(n, sd = 2)
write.csv(data.frame(g = g, x1 = x1, x2 = x2, y = y), args[3], row.names = FALSE)
R
rm -f "$work/mixed.h5"
"$CXFIT" import "$work/mixed.csv" "$work/mixed.h5" --table /data 2>/dev/null
printf '[data]\nfile = mixed.h5\ntable = /data\n\n[job ri]\nmodel = mixed\nformula = y ~ x1 + x2 + (1 | g)\n' >"$work/bench.ini"
cat >"$work/lmer.R" <<'R'
suppressMessages(library(lme4))
args <- commandArgs(TRUE)
d <- read.csv(args[1]); d$g <- factor(d$g)
t0 <- proc.time()
fit <- lmer(y ~ x1 + x2 + (1 | g), data = d, REML = TRUE)
t1 <- proc.time() - t0
cat(t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]], "\n")
vc <- as.data.frame(VarCorr(fit))$vcov
cat(sprintf("%.10g", c(fixef(fit), sqrt(diag(as.matrix(vcov(fit)))), vc)), "\n", file = args[2])
R
cx=(); cxc=(); lf=(); lfc=(); lt=()
for r in $(seq "$REPS"); do
    wc=$(timed "$CXFIT" run "$work/bench.ini" -o "$work/out.h5" --force --quiet)
    cx+=("${wc% *}"); cxc+=("${wc#* }")
    t0=$(now); read -r fw fc < <(Rscript "$work/lmer.R" "$work/mixed.csv" "$work/lmer.txt"); t1=$(now)
    lf+=("$fw"); lfc+=("$fc"); lt+=("$(echo "$t1 - $t0" | bc -l)")
done
mcx=$(med "${cx[@]}"); mcxc=$(med "${cxc[@]}"); mlf=$(med "${lf[@]}"); mlfc=$(med "${lfc[@]}"); mlt=$(med "${lt[@]}")
printf '%-12s %8s %8s %8s %8s %8s %9s %10s %7s\n' mixed cxfit_s cx_cpu lmer_fit lmer_cpu ratio cpu_ratio lmer_total ratio
printf '%-12s %8.3f %8.3f %8.3f %8.3f %8.1f %9.1f %10.3f %7.1f\n' "${ROWS}/${NGROUPS}" "$mcx" "$mcxc" "$mlf" "$mlfc" \
    "$(echo "$mlf / $mcx" | bc -l)" "$(echo "$mlfc / $mcxc" | bc -l)" "$mlt" "$(echo "$mlt / $mcx" | bc -l)"
echo "solver: $(h5dump -a /ri/solver "$work/out.h5" | sed -n 's/^ *(0): *//p')"
echo "lme4  (b0 b1 b2, se x3, var_g var_e): $(cat "$work/lmer.txt")"
echo "cxfit (b0 b1 b2, se x3, var_g var_e): $(h5dump -m %.10g -d /ri/estimates/est -d /ri/estimates/se -d /ri/variance_components/vcov "$work/out.h5" | sed -n 's/^ *([0-9]*): *//p' | tr -d ',' | tr '\n' ' ')"
