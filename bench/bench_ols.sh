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
# Ratios are R / cxfit, for wall time and for CPU time (user + system: on
# a shared, loaded machine wall time mostly measures the other tenants).
# DATA=dir keeps/reuses dir/data.h5 and dir/data.csv.
# Usage: bash bench/bench_ols.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
N="${N:-1000000}"
THREADS="${THREADS:-2}"
if [ -n "${DATA:-}" ]; then
    work="$DATA"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
. "$here/lib.sh"

[ -f "$work/data.h5" ] || Rscript - "$N" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1])
set.seed(1)
f <- rnorm(n)
x <- matrix(rnorm(n * 20), n, 20) + 0.4 * f
colnames(x) <- paste0("x", 1:20)
g <- sample.int(1000, n, replace = TRUE)
y <- drop(x %*% seq(0.05, 1, by = 0.05)) + rnorm(1000)[g] + rnorm(n)
write.csv(data.frame(round(x, 4), g = g, y = round(y, 4)), args[2], row.names = FALSE)
R
[ -f "$work/data.h5" ] || "$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data >/dev/null 2>&1
rhs="$(printf 'x%d + ' $(seq 1 20) | sed 's/ + $//')"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = ols\nformula = y ~ %s\n' \
    "$rhs" >"$work/ols.ini"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job fit]\nmodel = ols\nformula = y ~ %s\nse = cluster(g)\n' \
    "$rhs" >"$work/ols_cl.ini"

# "wall cpu" of one run (lib.sh's timed: the wall clock in ns, CPU from
# /usr/bin/time), median of REPS for each
time_cxfit() {
    for _ in $(seq "$REPS"); do
        timed "$CXFIT" run "$1" -o "$work/out.h5" -j "$THREADS" --force --quiet
    done >"$work/times"
    echo "$(awk '{print $1}' "$work/times" | median) $(awk '{print $2}' "$work/times" | median)"
}
read -r cx cx_cpu < <(time_cxfit "$work/ols.ini")
read -r cxcl cxcl_cpu < <(time_cxfit "$work/ols_cl.ini")
read -r lm lm_cpu lmcl lmcl_cpu < <(Rscript - "$work/data.csv" "$REPS" <<'R'
suppressPackageStartupMessages(library(sandwich))
args <- commandArgs(TRUE); d <- read.csv(args[1]); reps <- as.integer(args[2])
f <- reformulate(paste0("x", 1:20), "y")
st <- function(e) { t <- system.time(e); c(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]]) }
t1 <- replicate(reps, st(m <- lm(f, data = d)))
t2 <- replicate(reps, st({m <- lm(f, data = d); v <- vcovCL(m, cluster = ~g)}))
cat(median(t1[1, ]), median(t1[2, ]), median(t2[1, ]), median(t2[2, ]), "\n")
R
)
r() { echo "$1 / $2" | bc -l; }
printf '%-22s %9s %9s %9s %9s %7s %7s\n' case cxfit_wall lm_wall cxfit_cpu lm_cpu wall_x cpu_x
printf '%-22s %9.3f %9.3f %9.3f %9.3f %7.1f %7.1f\n' "ols $N x 20" "$cx" "$lm" "$cx_cpu" "$lm_cpu" \
    "$(r "$lm" "$cx")" "$(r "$lm_cpu" "$cx_cpu")"
printf '%-22s %9.3f %9.3f %9.3f %9.3f %7.1f %7.1f\n' "ols + cluster(g)" "$cxcl" "$lmcl" "$cxcl_cpu" \
    "$lmcl_cpu" "$(r "$lmcl" "$cxcl")" "$(r "$lmcl_cpu" "$cxcl_cpu")"
echo "cluster / classical (cxfit): wall $(r "$cxcl" "$cx" | cut -c1-4), cpu $(r "$cxcl_cpu" "$cx_cpu" | cut -c1-4)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
