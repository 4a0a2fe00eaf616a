#!/usr/bin/env bash
# bench_stage_read.sh — one read of the table per stage (issue 13): a stage
# of 4 jobs (three CFAs and a describe of 10 items) on the same table of
# `cxfit simulate` data, with the stage's block cache off
# (CXFIT_BLOCK_CACHE_MB=0: every job decodes every block it reads) and on
# (the default budget: each column block is decoded once for the stage).
# Prints the median wall and CPU seconds of --repeats runs at each -j, and
# the column blocks decoded / reused / chunks inflated (CXFIT_BLOCK_STATS).
#
#   bench/bench_stage_read.sh [--rows 1000000] [--repeats 5] [--threads "1 2"] [--dir /tmp]
set -uo pipefail
ROWS=1000000
REPEATS=5
THREADS="1 2"
DIR="${BENCH_DIR:-/tmp}"
CXFIT="$(dirname "$0")/../build/cxfit"
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --cxfit) CXFIT="$2"; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--repeats K] [--threads \"1 2\"] [--dir DIR]" >&2; exit 2 ;;
    esac
done
export CXFIT_PROGRESS=0 OPENBLAS_NUM_THREADS=1
source "$(dirname "$0")/lib.sh"
RESP=$(((ROWS + 47) / 48))
DATA="$DIR/cxfit_bench_stage_12x4x${RESP}.h5"
[ -f "$DATA" ] || "$CXFIT" simulate "$DATA" --firms 12 --waves 4 --respondents $RESP --seed 13 || exit 1
WORK="$(mktemp -d "$DIR/cxfit-stage.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/four.ini" <<INI
[data]
file  = $DATA
table = /responses
[job cfa_pex]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
[job cfa_out]
model  = cfa
syntax = OUT =~ out1 + out2 + out3 + out4 + out5
[job cfa_two]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
         OUT =~ out1 + out2 + out3 + out4 + out5
[job items]
model = describe
items = pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5
INI
echo "rows: $((12 * 4 * RESP)), repeats: $REPEATS, $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %-10s %10s %10s   %s\n" threads cache "wall s" "cpu s" "blocks (last run)"
for T in $THREADS; do
    for MB in 0 256; do
        : >"$WORK/w"
        : >"$WORK/c"
        for ((k = 0; k < REPEATS; k++)); do
            wc=$(CXFIT_BLOCK_STATS=1 CXFIT_BLOCK_CACHE_MB=$MB TIMED_ERR="$WORK/err" \
                timed "$CXFIT" run "$WORK/four.ini" -o "$WORK/r.h5" --force --quiet -j "$T") ||
                { cat "$WORK/err"; exit 1; }
            echo "${wc% *}" >>"$WORK/w"
            echo "${wc#* }" >>"$WORK/c"
        done
        printf "%-8s %-10s %10.3f %10.3f   %s\n" "$T" "$([ $MB = 0 ] && echo off || echo "$MB MB")" \
            "$(median <"$WORK/w")" "$(median <"$WORK/c")" \
            "$(grep -o '[0-9]* column blocks decoded, [0-9]* reused[^;]*; [0-9]* chunks' "$WORK/err")"
    done
done
