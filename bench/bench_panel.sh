#!/usr/bin/env bash
# bench_panel.sh — two-way fixed effects with firm-clustered SEs, cxfit vs
# plm, side by side on the same data (issue 16's benchmark).
#
# R draws FIRMS x PERIODS rows (default 10000 x 20) with 3 regressors,
# firm and period effects, and drops 5% of the rows at random (an
# unbalanced panel, so the two-way demeaning really iterates); the CSV is
# imported to HDF5 once. Then, REPS times each (default 3), medians:
#   cxfit: wall time of `cxfit run` (read the HDF5 table, sort, two-way
#          within by alternating projections, cluster SEs, write results);
#   plm_fit: plm(y ~ x1 + x2 + x3, model = "within", effect = "twoways")
#          plus vcovHC() on the pdata.frame already in memory;
#   plm_total: wall time of the R script a user runs (start R, load plm,
#          read.csv, pdata.frame, fit, vcovHC).
# Ratios are plm / cxfit.
#
# Then the streamed case (STREAM_FIRMS x PERIODS, default 100000 x 20, the
# same generator): bench_panel_sweep times, medians of REPS, one two-way
# demeaning sweep of y x1 x2 x3 against one statistics pass over the same
# HDF5 table (goal: within 2x); STREAM_FIRMS=0 skips it.
# Usage: bash bench/bench_panel.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
FIRMS="${FIRMS:-10000}"
STREAM_FIRMS="${STREAM_FIRMS:-100000}"
PERIODS="${PERIODS:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source "$here/lib.sh"

make_panel() { # firms periods out.csv
Rscript - "$1" "$2" "$3" <<'R' >/dev/null
args <- commandArgs(TRUE); N <- as.integer(args[1]); T <- as.integer(args[2])
set.seed(1)
d <- expand.grid(year = 1:T, firm = 1:N)[, c("firm", "year")]
a <- rnorm(N); g <- rnorm(T)
d$x1 <- rnorm(nrow(d)) + a[d$firm]; d$x2 <- rnorm(nrow(d)) + g[d$year]; d$x3 <- rnorm(nrow(d))
d$y <- 0.5 * d$x1 - 0.3 * d$x2 + 0.2 * d$x3 + a[d$firm] + g[d$year] + rnorm(nrow(d))
d <- d[runif(nrow(d)) > 0.05, ]
write.csv(d, args[3], row.names = FALSE)
R
}
make_panel "$FIRMS" "$PERIODS" "$work/panel.csv"
"$CXFIT" import "$work/panel.csv" "$work/panel.h5" --table /data 2>/dev/null
printf '[data]\nfile = panel.h5\ntable = /data\n\n[job fe2]\nmodel = panel\nformula = y ~ x1 + x2 + x3\nindex = firm year\nmethod = within\neffect = twoways\nse = cluster(firm)\n' >"$work/bench.ini"
cat >"$work/plm.R" <<'R'
suppressMessages(library(plm))
args <- commandArgs(TRUE)
d <- read.csv(args[1]); pd <- pdata.frame(d, index = c("firm", "year"))
t0 <- proc.time()
fit <- plm(y ~ x1 + x2 + x3, data = pd, model = "within", effect = "twoways")
se <- sqrt(diag(vcovHC(fit)))
t1 <- proc.time() - t0
cat(t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]], "\n")
cat(sprintf("%.10g", c(coef(fit), se)), "\n", file = args[2])
R
# wall and CPU (user + sys) seconds: on a loaded machine wall time is
# mostly waiting, so both are printed.
cx=(); cxc=(); pf=(); pfc=(); pt=()
for r in $(seq "$REPS"); do
    wc=$(timed "$CXFIT" run "$work/bench.ini" -o "$work/out.h5" --force --quiet)
    cx+=("${wc% *}"); cxc+=("${wc#* }")
    t0=$(now); read -r fw fc < <(Rscript "$work/plm.R" "$work/panel.csv" "$work/plm.txt"); t1=$(now)
    pf+=("$fw"); pfc+=("$fc"); pt+=("$(echo "$t1 - $t0" | bc -l)")
done
mcx=$(med "${cx[@]}"); mcxc=$(med "${cxc[@]}"); mpf=$(med "${pf[@]}"); mpfc=$(med "${pfc[@]}"); mpt=$(med "${pt[@]}")
printf '%-10s %8s %8s %8s %8s %8s %8s %9s %7s\n' panel cxfit_s cx_cpu plm_fit plm_cpu ratio cpu_ratio plm_total ratio
printf '%-10s %8.3f %8.3f %8.3f %8.3f %8.1f %8.1f %9.3f %7.1f\n' "${FIRMS}x${PERIODS}" "$mcx" "$mcxc" "$mpf" "$mpfc" \
    "$(echo "$mpf / $mcx" | bc -l)" "$(echo "$mpfc / $mcxc" | bc -l)" "$mpt" "$(echo "$mpt / $mcx" | bc -l)"
# same numbers? (coefficients and SEs, cxfit vs plm)
echo "plm:   $(cat "$work/plm.txt")"
echo "cxfit: $(h5dump -d /fe2/estimates/est -d /fe2/estimates/se "$work/out.h5" | sed -n 's/^ *(0): *//p' | tr '\n' ' ')"

if [ "$STREAM_FIRMS" -gt 0 ]; then
    echo
    echo "streamed: ${STREAM_FIRMS} firms x ${PERIODS} periods from HDF5 (bench_panel_sweep)"
    make_panel "$STREAM_FIRMS" "$PERIODS" "$work/big.csv"
    "$CXFIT" import "$work/big.csv" "$work/big.h5" --table /data 2>/dev/null
    rm -f "$work/big.csv"
    "$(dirname "$CXFIT")/bench_panel_sweep" "$work/big.h5" --repeats "$REPS"
fi
