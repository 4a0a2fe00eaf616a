#!/usr/bin/env bash
# bench_onepass.sh — "one pass, many fits" (issue 13), side by side:
#   by72   the 20-item four-factor CFA per firm x wave (`by = firm wave`,
#          72 levels) on 720k rows of `cxfit simulate` data;
#   all    the same CFA on all 720k rows at once (one fit);
#   boot   Holzinger-Swineford CFA with bootstrap = 1000;
#   kfold  Holzinger-Swineford CFA with validate = kfold(10).
# Prints wall and user CPU seconds (median of REPS, default 3) for -j 1
# and -j 2.  With OLD=path/to/old/cxfit also times the old binary's by72.
# The R peer of by72 (unless LAVAAN=0, or lavaan is missing): lavaan's
# cfa() in a loop over the same 72 firm x wave subsets of the same rows
# (exported with h5dump; 255 = missing, listwise as cxfit), data already in
# R's memory: elapsed and user CPU seconds of the loop, and the ratios to
# cxfit's -j 1 by72 (whole process: read, pass, fits, write).
# Usage: bash bench/bench_onepass.sh [build/cxfit]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
REPS="${REPS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$CXFIT" simulate "$work/sim.h5" --firms 12 --waves 6 --respondents 10000 >/dev/null 2>&1
HS="$here/../datasets/HolzingerSwineford1939.h5"
cfa20='PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
         OUT =~ out1 + out2 + out3 + out4 + out5
         MOT =~ mot1 + mot2 + mot3 + mot4 + mot5
         POM =~ pom1 + pom2 + pom3 + pom4 + pom5'
hs='visual =~ x1 + x2 + x3
         textual =~ x4 + x5 + x6
         speed =~ x7 + x8 + x9'
printf '[data]\nfile = %s\ntable = /responses\n\n[job j]\nmodel = cfa\nby = firm wave\nsyntax = %s\n' "$work/sim.h5" "$cfa20" >"$work/by72.ini"
printf '[data]\nfile = %s\ntable = /responses\n\n[job j]\nmodel = cfa\nsyntax = %s\n' "$work/sim.h5" "$cfa20" >"$work/all.ini"
printf '[data]\nfile = %s\ntable = /data\n\n[job j]\nmodel = cfa\nbootstrap = 1000\nsyntax = %s\n' "$HS" "$hs" >"$work/boot.ini"
printf '[data]\nfile = %s\ntable = /data\n\n[job j]\nmodel = cfa\nvalidate = kfold(10)\nsyntax = %s\n' "$HS" "$hs" >"$work/kfold.ini"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_case() { # BINARY CASE THREADS -> "wall user"
    local walls="" users=""
    for _ in $(seq "$REPS"); do
        /usr/bin/time -f "%e %U" -o "$work/t" "$1" run "$work/$2.ini" -o "$work/o.h5" --force --quiet -j "$3"
        walls+="$(cut -d' ' -f1 "$work/t")"$'\n'
        users+="$(cut -d' ' -f2 "$work/t")"$'\n'
    done
    echo "$(printf '%s' "$walls" | median) $(printf '%s' "$users" | median)"
}
printf '%-8s %-4s %9s %9s\n' case j wall_s user_s
for c in by72 all boot kfold; do
    for j in 1 2; do
        read -r w u <<<"$(time_case "$CXFIT" "$c" "$j")"
        printf '%-8s %-4s %9s %9s\n' "$c" "$j" "$w" "$u"
    done
done
if [ -n "${OLD:-}" ]; then
    read -r w u <<<"$(time_case "$OLD" by72 1)"
    printf '%-8s %-4s %9s %9s  (OLD=%s)\n' by72-old 1 "$w" "$u" "$OLD"
fi
if [ "${LAVAAN:-1}" != 0 ] && Rscript -e 'quit(status = !requireNamespace("lavaan", quietly = TRUE))' 2>/dev/null; then
    cols="firm wave pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5 mot1 mot2 mot3 mot4 mot5 pom1 pom2 pom3 pom4 pom5"
    for c in $cols; do
        h5dump -d "/responses/$c" -b LE -o "$work/$c.bin" "$work/sim.h5" >/dev/null
    done
    read -r lw lu <<<"$(Rscript - "$work" "$cfa20" $cols <<'R'
args <- commandArgs(TRUE); dir <- args[1]; model <- args[2]; cols <- args[-(1:2)]
suppressMessages(library(lavaan))
n <- file.size(file.path(dir, "firm.bin"))
d <- as.data.frame(lapply(setNames(cols, cols), function(c) {
  x <- readBin(file.path(dir, paste0(c, ".bin")), "integer", n = n, size = 1, signed = FALSE)
  x[x == 255] <- NA
  x
}))
t0 <- proc.time()
fits <- lapply(split(d, list(d$firm, d$wave), drop = TRUE), function(s) cfa(model, data = s))
t <- proc.time() - t0
stopifnot(length(fits) == 72)
cat(t[["elapsed"]], t[["user.self"]], "\n")
R
)"
    read -r cw cu <<<"$(time_case "$CXFIT" by72 1)"
    printf '%-8s %-4s %9s %9s  lavaan loop over the 72 subsets (data in memory)\n' by72-R 1 "$lw" "$lu"
    printf 'lavaan / cxfit by72 -j1: wall %.1fx, user CPU %.1fx\n' "$(echo "$lw / $cw" | bc -l)" "$(echo "$lu / $cu" | bc -l)"
fi
