#!/usr/bin/env bash
# bench_many_jobs.sh — many small jobs: N Holzinger-Swineford CFA jobs in one
# study (per-fit bookkeeping: results writing, thread start-up, buffers),
# against lavaan fitting the same model N times in one R session.
#   bash bench/bench_many_jobs.sh [N=300] [REPEATS=5]
# Prints medians of wall and CPU (user+sys) time per fit, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-300}"
REPEATS="${2:-5}"
CXFIT=./build/cxfit
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
{
    printf '[data]\nfile = %s/datasets/HolzingerSwineford1939.h5\ntable = /data\n\n' "$PWD"
    for i in $(seq 1 "$N"); do
        printf '[job cfa%d]\nmodel = cfa\nsyntax = visual =~ x1 + x2 + x3\n' "$i"
        printf '         textual =~ x4 + x5 + x6\n         speed =~ x7 + x8 + x9\n\n'
    done
} >"$WORK/many.ini"
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for r in $(seq 1 "$REPEATS"); do
    rm -f "$WORK/m.h5"
    /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$CXFIT" run "$WORK/many.ini" -o "$WORK/m.h5" -j 1 --quiet
    awk '{print $1 > "'"$WORK/wall"'"; print $2 + $3 > "'"$WORK/cpu"'"}' "$WORK/t"
    cat "$WORK/wall" >>"$WORK/walls"
    cat "$WORK/cpu" >>"$WORK/cpus"
done
wall=$(median <"$WORK/walls")
cpu=$(median <"$WORK/cpus")
awk -v n="$N" -v w="$wall" -v c="$cpu" 'BEGIN {
    printf "cxfit  %d CFA jobs, -j 1: wall %.3f s (%.2f ms/fit), CPU %.3f s (%.2f ms/fit)\n", n, w, 1000 * w / n, c, 1000 * c / n }'
if command -v Rscript >/dev/null && Rscript -e 'library(lavaan)' >/dev/null 2>&1; then
    cp datasets/../../shared/reference/data/HolzingerSwineford1939.csv "$WORK/hs.csv" 2>/dev/null ||
        Rscript -e 'library(lavaan); write.csv(HolzingerSwineford1939, commandArgs(TRUE)[1], row.names = FALSE)' "$WORK/hs.csv"
    Rscript -e '
suppressMessages(library(lavaan))
args <- commandArgs(TRUE); n <- as.integer(args[2]); reps <- as.integer(args[3])
d <- read.csv(args[1])
m <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
invisible(cfa(m, data = d))  # warm up
t <- replicate(reps, system.time(for (i in seq_len(n)) cfa(m, data = d))[["elapsed"]])
cat(sprintf("lavaan %d cfa() calls in one session: %.3f s (%.2f ms/fit)\n", n, median(t), 1000 * median(t) / n))
' "$WORK/hs.csv" "$N" "$REPEATS" | tee "$WORK/lavaan"
    lav=$(awk '/^lavaan/ {print $(NF-3)}' "$WORK/lavaan")
    awk -v l="$lav" -v w="$wall" -v c="$cpu" 'BEGIN {
        printf "ratio lavaan / cxfit: %.1fx (wall), %.1fx (cxfit CPU)\n", l / w, l / c }'
else
    echo "lavaan not installed: no side-by-side ratio"
fi
