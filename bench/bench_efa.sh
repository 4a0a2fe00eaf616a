#!/usr/bin/env bash
# bench_efa.sh — EFA and parallel analysis time, cxfit vs psych, side by
# side on the same data.
#
# R draws 25 items x N rows (default 100k) once from a 5-factor model
# (bfi's shape: 5 items per factor, integer 1..6 answers), writes a CSV
# that `cxfit import` turns into HDF5, and then times:
#   efa:      `cxfit run` of fa(nfactors = 5, fm = "ml", rotate = "oblimin")
#             vs psych::fa on the data frame already in memory;
#   parallel: `cxfit run` with factors = parallel, n_iter = 100 vs
#             psych::fa.parallel(n.iter = 100, plot = FALSE) (R's part is
#             run once: it takes minutes; set PARALLEL_REPS to repeat).
# cxfit's time is the whole command (read the HDF5 table, one pass, fit,
# write results); psych's excludes reading the CSV.  Medians of REPS
# (default 3) runs; ratio = psych / cxfit.  PARALLEL_REPS=0 skips the
# parallel analysis on both sides (R's takes minutes).  Threads: cxfit -j THREADS
# (default 2, the machine's cores); psych single-threaded except
# fa.parallel, which uses mclapply's default cores (2).
# Usage: bash bench/bench_efa.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
PARALLEL_REPS="${PARALLEL_REPS:-1}"
N="${N:-100000}"
THREADS="${THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

Rscript - "$N" "$work/data.csv" <<'R' >/dev/null
args <- commandArgs(TRUE); n <- as.integer(args[1])
set.seed(1)
m <- 5; k <- 5; p <- m * k
phi <- matrix(0.2, m, m); diag(phi) <- 1
f <- matrix(rnorm(n * m), n, m) %*% chol(phi)
lam <- rep(c(0.8, 0.7, 0.6, 0.5, 0.65), m)
x <- f[, rep(1:m, each = k)] * rep(lam, each = n) + matrix(rnorm(n * p, sd = 0.7), n, p)
x <- pmin(pmax(round(3.5 + 1.2 * x), 1), 6)
colnames(x) <- paste0("x", 1:p)
write.csv(x, args[2], row.names = FALSE)
R
"$CXFIT" import "$work/data.csv" "$work/data.h5" --table /data >/dev/null 2>&1
items="$(printf 'x%d ' $(seq 25))"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job efa]\nmodel = efa\nitems = %s\nfactors = 5\nmethod = ml\nrotation = oblimin\n' "$items" >"$work/efa.ini"
printf '[data]\nfile = data.h5\ntable = /data\n\n[job pa]\nmodel = efa\nitems = %s\nfactors = parallel\nn_iter = 100\nmethod = minres\nrotation = oblimin\n' "$items" >"$work/par.ini"

time_cxfit() {
    local ini=$1 times=""
    for _ in $(seq "$REPS"); do
        t0=$(date +%s.%N)
        "$CXFIT" run "$ini" -o "$work/out.h5" --force --quiet -j "$THREADS"
        t1=$(date +%s.%N)
        times="$times $(echo "$t1 - $t0" | bc -l)"
    done
    echo $times | tr ' ' '\n' | median
}

cx_efa=$(time_cxfit "$work/efa.ini")
cx_par=1
[ "$PARALLEL_REPS" -gt 0 ] && cx_par=$(time_cxfit "$work/par.ini")
read -r r_efa r_par < <(Rscript - "$work/data.csv" "$REPS" "$PARALLEL_REPS" 2>/dev/null <<'R' | tail -1
args <- commandArgs(TRUE)
suppressMessages({ library(psych); library(GPArotation) })
d <- read.csv(args[1])
t1 <- replicate(as.integer(args[2]), system.time(fa(d, nfactors = 5, fm = "ml", rotate = "oblimin"))[["elapsed"]])
t2 <- if (as.integer(args[3]) > 0) replicate(as.integer(args[3]), system.time(invisible(capture.output(fa.parallel(d, fm = "minres", n.iter = 100, plot = FALSE))))[["elapsed"]]) else 1
cat(median(t1), median(t2), "\n")
R
)
printf '%-28s %8s %10s %10s %8s\n' task rows cxfit_s psych_s ratio
printf '%-28s %8s %10.3f %10.3f %8.1f\n' "fa ml oblimin 5 factors" "$N" "$cx_efa" "$r_efa" "$(echo "$r_efa / $cx_efa" | bc -l)"
[ "$PARALLEL_REPS" -gt 0 ] &&
    printf '%-28s %8s %10.3f %10.3f %8.1f\n' "fa.parallel n.iter=100" "$N" "$cx_par" "$r_par" "$(echo "$r_par / $cx_par" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
