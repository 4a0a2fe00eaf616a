#!/usr/bin/env bash
# bench_scaling.sh — strong scaling of a mixed study over MPI ranks and
# OpenMP threads (issue 19): the same study, the same data, run as
# R ranks x T threads for every R and T asked, median wall time of
# --repeats runs, speedup and parallel efficiency against 1 x 1, the
# Karp-Flatt serial fraction, and (for the largest R) the size and cost of
# every cross-rank reduction (CXFIT_DIST_TRACE).  It only prints; no
# assertion on time.  The repeats go round the configurations (load changes
# hit all alike); `cpu eff` = CPU seconds of 1 x 1 / CPU seconds of the
# configuration (all processes): the work a configuration adds (duplicated
# fits, MPI start-up), a bound on its efficiency that a loaded machine does
# not blur.
#
#   bench/bench_scaling.sh                              # 5M rows, 1-2 ranks, 1-2 threads
#   bench/bench_scaling.sh --rows 1000000 --repeats 3
#   bench/bench_scaling.sh --ranks "1 4" --threads "1 16" --split "auto rows jobs"
#   bench/bench_scaling.sh --configs "1x1 1x2 2x1" --split "rows jobs"   # ranks x threads pairs
#   MPIRUN="srun" bench/bench_scaling.sh --ranks "1 4" --threads "1 16"  # on a cluster
#
# The study (written next to the data): CFA of 20 items by firm x wave
# (96 levels at 5M rows), a 5-item CFA with bootstrap = B, an EFA of the 20
# items, an OLS with a factor and scale scores, NPS by firm x wave, and a
# panel (within) regression on the NPS table joined with the firm panel.
# The data: `cxfit simulate` (firms x waves x respondents = --rows).
#
# Split modes (ranks > 1; CXFIT_MPI_SPLIT): auto = the engine's rule,
# rows = every stage splits the row blocks of its passes, jobs = every
# stage splits whole jobs.  Threads of R ranks on one machine: R x T must
# not exceed the cores unless you mean to oversubscribe.
set -uo pipefail

ROWS=5000000
THREADS="1 2"
RANKS="1 2"
REPEATS=3
SPLITS="auto rows jobs"
BOOT=50
CONFIGS=""
DIR="${BENCH_DIR:-/tmp}"
CXFIT="$(dirname "$0")/../build/cxfit"
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --ranks) RANKS="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --split) SPLITS="$2"; shift 2 ;;
    --bootstrap) BOOT="$2"; shift 2 ;;
    --configs) CONFIGS="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --cxfit) CXFIT="$2"; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--threads \"1 2\"] [--ranks \"1 2\"] [--repeats K]" \
        "[--configs \"1x1 2x1\"] [--split \"auto rows jobs\"] [--bootstrap B] [--dir DIR] [--cxfit PATH]" >&2; exit 2 ;;
    esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export CXFIT_PROGRESS=0 OPENBLAS_NUM_THREADS=1
source "$(dirname "$0")/lib.sh"
read -r -a MPIRUN <<<"${MPIRUN:-mpirun --oversubscribe --bind-to none}"

FIRMS=24
WAVES=4
RESP=$(((ROWS + FIRMS * WAVES - 1) / (FIRMS * WAVES)))
DATA="$DIR/cxfit_bench_scaling_${FIRMS}x${WAVES}x${RESP}.h5"
if [ ! -f "$DATA" ]; then
    echo "writing $DATA ($((FIRMS * WAVES * RESP)) rows) ..."
    "$CXFIT" simulate "$DATA" --firms $FIRMS --waves $WAVES --respondents $RESP --seed 19 || exit 1
fi
WORK="$(mktemp -d "$DIR/cxfit-scaling.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/study.ini" <<INI
[data]
file  = $DATA
table = /responses
[job cfa_by]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
         OUT =~ out1 + out2 + out3 + out4 + out5
         MOT =~ mot1 + mot2 + mot3 + mot4 + mot5
         POM =~ pom1 + pom2 + pom3 + pom4 + pom5
by     = firm wave
[job cfa_boot]
model     = cfa
syntax    = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
bootstrap = $BOOT
[job efa]
model   = efa
items   = pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5
          mot1 mot2 mot3 mot4 mot5 pom1 pom2 pom3 pom4 pom5
factors = 4
[job drivers]
model   = ols
formula = ltr ~ PEX + OUT + factor(segment) + wave
scores  = PEX: mean(pex1 pex2 pex3 pex4 pex5)
          OUT: mean(out1 out2 out3 out4 out5)
[job nps_by]
model = nps
score = ltr
by    = firm wave
[job growth]
model   = panel
table   = @nps_by/nps
join    = /firms
join_on = firm wave
formula = revenue_growth ~ lag(nps, 1)
index   = firm wave
method  = within
effect  = individual
INI

# one run: wall seconds and CPU seconds (user + system, all processes)
one_run() { # RANKS THREADS SPLIT OUT
    local cmd=("$CXFIT" run "$WORK/study.ini" -o "$4" -j "$2" --force --quiet)
    [ "$1" -gt 1 ] && cmd=("${MPIRUN[@]}" -np "$1" "${cmd[@]}")
    CXFIT_MPI_SPLIT="$3" TIMED_ERR="$WORK/err" timed "${cmd[@]}" ||
        { echo "run failed: $(tail -3 "$WORK/err")" >&2; return 1; }
}

echo "rows: $((FIRMS * WAVES * RESP)), bootstrap = $BOOT, repeats: $REPEATS, $(nproc) cores," \
    "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$CONFIGS" ]; then
    for R in $RANKS; do for T in $THREADS; do CONFIGS="$CONFIGS ${R}x$T"; done; done
fi
# Every run to make: "R T SPLIT"; the repeats go round the list, so a change
# of the machine's load hits every configuration alike.
runs=()
for RT in $CONFIGS; do
    splits="auto"
    [ "${RT%x*}" -gt 1 ] && splits="$SPLITS"
    for S in $splits; do runs+=("${RT%x*} ${RT#*x} $S"); done
done
for ((i = 0; i < ${#runs[@]}; i++)); do : >"$WORK/walls$i"; : >"$WORK/cpus$i"; done
for ((k = 0; k < REPEATS; k++)); do
    for ((i = 0; i < ${#runs[@]}; i++)); do
        read -r R T S <<<"${runs[$i]}"
        out=$(one_run "$R" "$T" "$S" "$WORK/r.h5") || exit 1
        echo "${out% *}" >>"$WORK/walls$i"
        echo "${out#* }" >>"$WORK/cpus$i"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-8s %-6s %10s %10s %10s %9s %11s %11s %9s\n" ranks threads split "median s" "min s" \
    "cpu s" speedup efficiency karp-flatt "cpu eff"
base=""
cbase=""
for ((i = 0; i < ${#runs[@]}; i++)); do
    read -r R T S <<<"${runs[$i]}"
    med=$(median <"$WORK/walls$i")
    mn=$(sort -g "$WORK/walls$i" | head -1)
    cpu=$(median <"$WORK/cpus$i")
    [ -z "$base" ] && base=$med && cbase=$cpu
    awk -v r="$R" -v t="$T" -v s="$S" -v m="$med" -v mn="$mn" -v c="$cpu" -v b="$base" -v cb="$cbase" 'BEGIN {
        p = r * t; sp = b / m; e = sp / p
        kf = p > 1 ? (1 / sp - 1 / p) / (1 - 1 / p) : 0
        printf "%-6d %-8d %-6s %10.3f %10.3f %10.2f %9.2f %10.0f%% %11s %8.0f%%\n", r, t, s, m, mn, c,
            sp, 100 * e, (p > 1 ? sprintf("%.2f", kf) : "-"), 100 * cb / c }'
done

# Per job at 1 x 1 (elapsed_s of the results file): where the time goes.
echo
echo "per job, 1 rank x 1 thread (elapsed_s):"
one_run 1 1 auto "$WORK/one.h5" >/dev/null || exit 1
for j in cfa_by cfa_boot efa drivers nps_by growth; do
    printf "  %-9s %8s s\n" "$j" "$(h5dump -a "/$j/elapsed_s" "$WORK/one.h5" | sed -n 's/^ *(0): *//p')"
done

# The reductions of a row split at the largest rank count.
Rmax=$(for RT in $CONFIGS; do echo "${RT%x*}"; done | sort -n | tail -1)
if [ "$Rmax" -gt 1 ]; then
    echo
    echo "reductions, $Rmax ranks x 1 thread, every stage split by rows (rank 0's view):"
    CXFIT_MPI_SPLIT=rows CXFIT_DIST_TRACE=1 "${MPIRUN[@]}" -np "$Rmax" "$CXFIT" run "$WORK/study.ini" \
        -o "$WORK/t.h5" -j 1 --force --quiet 2>"$WORK/trace" >/dev/null
    grep "rank 0: .*bytes a rank, combined" "$WORK/trace" | awk '{
        job = $5; b = $8; ms = $14; n[job]++; bytes[job] = b > bytes[job] ? b : bytes[job]; t[job] += ms }
        END { for (j in n) printf "  job %s: %d passes, %d bytes a rank (largest), %.2f ms combining\n",
              j, n[j], bytes[j], t[j] }' | sort
    echo "  (job numbers: 0 cfa_by, 1 cfa_boot, 2 efa, 3 drivers, 4 nps_by, 5 growth;"
    echo "   a job not listed has no pass its ranks can combine: it runs whole on every rank)"
    echo "tasks dealt (fits from finished statistics: levels, replicates, folds), rank 0's view:"
    grep "rank 0: .*tasks dealt" "$WORK/trace" | awk '{
        printf "  job %s: %d tasks, %d bytes a rank, gathered in %.2f ms\n", $5, $8, $11, $17 }' | sort
fi
