#!/usr/bin/env bash
# bench_efa_fit.sh — the EFA model in process, cxfit vs psych, on the same
# correlation matrix: bfi's 25 items (complete rows, n = 2436), 5 factors,
# minres / ml / pa x the seven rotations.  cxfit: bench_efa_fit (median
# CPU of REPS efa_run calls: extraction, rotation, psych's signs and
# order, fit statistics).  psych: median CPU (user + sys) of RREPS calls of
# fa(r = R, nfactors = 5, n.obs = 2436, fm, rotate) (the same work plus
# psych's factor score weights, which cxfit does not compute).  No data
# reading on either side.  ratio = psych / cxfit.
# Usage: bash bench/bench_efa_fit.sh [build/bench_efa_fit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BENCH="${1:-$here/../build/bench_efa_fit}"
REPS="${REPS:-201}"
RREPS="${RREPS:-21}"
CSV="${BFI_CSV:-$here/../../shared/reference/data/bfi.csv}"
[ -r "$CSV" ] || CSV=/work/shared/reference/data/bfi.csv
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
Rscript - "$CSV" "$work/cor.txt" "$RREPS" >"$work/psych.txt" 2>/dev/null <<'R'
args <- commandArgs(TRUE)
suppressMessages({ library(psych); library(GPArotation) })
x <- na.omit(read.csv(args[1])[, 1:25]); R <- cor(x)
write.table(R, args[2], row.names = FALSE, col.names = FALSE)
reps <- as.integer(args[3])
for (fm in c("minres", "ml", "pa")) for (rot in c("none", "varimax", "quartimax", "promax", "oblimin", "quartimin", "geominQ")) {
  t <- replicate(reps, sum(system.time(suppressWarnings(fa(R, 5, n.obs = nrow(x), fm = fm, rotate = rot)))[c("user.self", "sys.self")]))
  cat(fm, sub("geominQ", "geomin", rot), 1000 * median(t), "\n")
}
R
OPENBLAS_NUM_THREADS=1 "$BENCH" --cor "$work/cor.txt" --rows 2436 --factors 5 --repeats "$REPS" >"$work/cx.txt"
echo "load: $(uptime | sed 's/.*load average: //')"
printf '%-8s %-10s %10s %10s %8s\n' method rotation cxfit_ms psych_ms ratio
awk 'NR == FNR { t[$1 " " $2] = $3; next }
     ($1 " " $2) in t { printf "%-8s %-10s %10.3f %10.1f %8.0f\n", $1, $2, $3, t[$1 " " $2], t[$1 " " $2] / $3 }' \
    "$work/psych.txt" "$work/cx.txt"
