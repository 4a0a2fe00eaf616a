# lib.sh — shared scaffolding of the shell benchmarks (sourced, not run):
# medians and timing of one command.  Wall seconds and CPU seconds (user
# + system of the command and its children) come from bash's `time`
# (timed) or the clock (median_wall): on a loaded machine wall time is
# mostly waiting, so the benches print both.

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# med X...: the median of its arguments.
med() { printf '%s\n' "$@" | median; }

now() { date +%s.%N; }

# timed CMD...: run CMD once, its stdout dropped and its stderr to
# $TIMED_ERR (default /dev/null); prints "WALL CPU" in seconds and
# returns CMD's exit status (nothing printed when it fails).  bash's own
# `time` measures both (wall to the ms; CPU = user + system of CMD and its
# children), so no extra process runs inside the timed interval.
timed() {
    local out rc TIMEFORMAT='%3R %3U %3S'
    out=$( { time "$@" >/dev/null 2>"${TIMED_ERR:-/dev/null}"; } 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && awk '{printf "%.6f %.3f\n", $1, $2 + $3}' <<<"$out"
    return "$rc"
}

# median_wall REPS CMD...: the median wall seconds of REPS runs of CMD
# (stdout dropped); stops at the first failing run with its status.
median_wall() {
    local reps="$1" r t0 t1 times=()
    shift
    for r in $(seq "$reps"); do
        t0=$(now)
        "$@" >/dev/null || return
        t1=$(now)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    med "${times[@]}"
}
