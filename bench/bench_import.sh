#!/usr/bin/env bash
# bench_import.sh — `cxfit import` of an SPSS file against R's
# haven::read_sav on the same file: wall time, CPU time (user + sys) and
# peak memory (maximum resident set size, /usr/bin/time -v).
#
# For each N in SIZES (default 200000 1000000) bench_make_sav writes a
# survey-shaped .sav (31 columns: 20 labelled Likert items with a
# user-missing code, NPS with a missing range, 3 nominal labelled
# variables, 4 decimals, a date, a string), then:
#   cxfit: `cxfit import FILE.sav OUT.h5` (two ReadStat passes, HDF5 written
#          in row blocks);
#   haven: `Rscript -e 'haven::read_sav(FILE)'` (one pass into memory; the
#          R start-up, ~0.3 s, is included, as a user running it pays it).
# Each figure is the median of REPS runs (default 3).
# Usage: bash bench/bench_import.sh [build-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BUILD="${1:-$here/../build}"
REPS="${REPS:-3}"
SIZES="${SIZES:-200000 1000000}"
work="$(mktemp -d "${BENCH_DIR:-/tmp}/cxfit-bench-import.XXXXXX")"
trap 'rm -rf "$work"' EXIT
have_r=0
Rscript -e 'quit(status = !requireNamespace("haven", quietly = TRUE))' 2>/dev/null && have_r=1

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure LABEL COMMAND...: REPS runs, prints "LABEL wall cpu peak_MB"
measure() {
    local label=$1; shift
    local walls="" cpus="" peaks=""
    for _ in $(seq "$REPS"); do
        rm -f "$work/out.h5"
        /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt"
        walls+="$(awk -F': ' '/Elapsed/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.txt")"$'\n'
        cpus+="$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {print u + s}' "$work/time.txt")"$'\n'
        peaks+="$(awk -F': ' '/Maximum resident/ {print $2 / 1024}' "$work/time.txt")"$'\n'
    done
    printf '%-8s %9.2f %9.2f %9.0f\n' "$label" "$(printf '%s' "$walls" | median)" \
        "$(printf '%s' "$cpus" | median)" "$(printf '%s' "$peaks" | median)"
}

cat >"$work/read.R" <<'R'
suppressPackageStartupMessages(library(haven))
d <- read_sav(commandArgs(TRUE)[1])
stopifnot(nrow(d) > 0)
R

for n in $SIZES; do
    "$BUILD/bench_make_sav" "$work/survey.sav" "$n"
    echo "== $n rows, $(du -m "$work/survey.sav" | cut -f1) MB .sav (median of $REPS)"
    printf '%-8s %9s %9s %9s\n' "" "wall s" "cpu s" "peak MB"
    measure cxfit "$BUILD/cxfit" import "$work/survey.sav" "$work/out.h5" --quiet
    [ "$have_r" = 1 ] && measure haven Rscript "$work/read.R" "$work/survey.sav"
    rm -f "$work/survey.sav"
done
