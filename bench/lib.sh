# lib.sh — shared scaffolding of the shell benchmarks (sourced, not run):
# medians and timing of one command.  Wall seconds come from the clock
# (nanoseconds), CPU seconds (user + system of the command and its
# children) from /usr/bin/time: on a loaded machine wall time is mostly
# waiting, so the benches print both.

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# med X...: the median of its arguments.
med() { printf '%s\n' "$@" | median; }

now() { date +%s.%N; }

# timed CMD...: run CMD once, its stdout dropped and its stderr to
# $TIMED_ERR (default /dev/null); prints "WALL CPU" in seconds and
# returns CMD's exit status (nothing printed when it fails).
timed() {
    local tf rc t0 t1
    tf=$(mktemp)
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$tf" "$@" >/dev/null 2>"${TIMED_ERR:-/dev/null}"
    rc=$?
    t1=$(now)
    [ "$rc" -eq 0 ] && awk -v w="$(echo "$t1 - $t0" | bc -l)" '{printf "%.6f %.2f\n", w, $1 + $2}' "$tf"
    rm -f "$tf"
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
