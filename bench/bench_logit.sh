#!/usr/bin/env bash
# bench_logit.sh — binary logit on N rows (default 1M), cxfit vs R's glm,
# side by side on the same data.
#
# R draws y ~ Bernoulli(logistic(x'b)) with 10 standard-normal regressors
# once and writes a CSV that `cxfit import` turns into HDF5; then
#   cxfit: wall time of `cxfit run` (read the HDF5 table; one streaming
#          pass at b = 0, one per Newton iteration, one at the estimates;
#          SEs, fit measures, AUC; write results), and its iteration count;
#   glm_fit: glm(binomial) on the data frame already in memory;
#   glm_total: glm + summary + the same AIC/BIC/AUC work after read.csv
#          (start R, read the data: the end-to-end peer of `cxfit run`).
# Medians of REPS runs (default 3); ratios are R / cxfit.
# Usage: bash bench/bench_logit.sh [build/cxfit]    (N=... REPS=... -j via JOBS=...;
#        DATA=dir keeps the data for the next run)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CXFIT="${1:-$here/../build/cxfit}"
N="${N:-1000000}"
REPS="${REPS:-3}"
JOBS="${JOBS:-2}"
if [ -n "${DATA:-}" ]; then # DATA=dir keeps/reuses dir/d.csv and dir/d.h5
    work="$DATA"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

[ -f "$work/d.h5" ] || Rscript -e "set.seed(1); n <- $N; X <- matrix(rnorm(n * 10), n, 10); colnames(X) <- paste0('x', 1:10);
  b <- seq(-0.5, 0.5, length.out = 10); y <- rbinom(n, 1, plogis(0.3 + X %*% b));
  write.csv(data.frame(y = y, X), '$work/d.csv', row.names = FALSE)"
[ -f "$work/d.h5" ] || "$CXFIT" import "$work/d.csv" "$work/d.h5" >/dev/null
cat > "$work/b.ini" <<INI
[data]
file  = $work/d.h5
table = /data

[job lg]
model   = logit
formula = y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10
INI
cx=()
cxc=()
TIMEFORMAT='%R %U %S'
for _ in $(seq "$REPS"); do
    t=$( { time "$CXFIT" run "$work/b.ini" -o "$work/r.h5" --force --quiet -j "$JOBS" ; } 2>&1 )
    read -r real user sys <<<"$t"
    cx+=("$real")
    cxc+=("$(echo "$user + $sys" | bc -l)")
done
iters=$("$CXFIT" show "$work/r.h5" --all | awk '/iterations/ {print $2}')
cx_med=$(printf '%s\n' "${cx[@]}" | median)
cxc_med=$(printf '%s\n' "${cxc[@]}" | median)
r_out=$(Rscript -e "d <- read.csv('$work/d.csv'); f <- y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10;
  fit <- numeric(0); tot <- numeric(0); cpu <- numeric(0)
  cput <- function() { p <- proc.time(); p[['user.self']] + p[['sys.self']] }
  for (i in 1:$REPS) {
    c0 <- cput(); t0 <- proc.time()[['elapsed']]; m <- glm(f, binomial, d); t1 <- proc.time()[['elapsed']]
    cpu <- c(cpu, cput() - c0)
    s <- summary(m); a <- AIC(m); b <- BIC(m); p <- fitted(m)
    r <- rank(p); n1 <- sum(d\$y); auc <- (sum(r[d\$y == 1]) - n1 * (n1 + 1) / 2) / (as.numeric(n1) * (nrow(d) - n1))
    t2 <- proc.time()[['elapsed']]; fit <- c(fit, t1 - t0); tot <- c(tot, t2 - t0) }
  t0 <- proc.time()[['elapsed']]; d2 <- read.csv('$work/d.csv'); rd <- proc.time()[['elapsed']] - t0
  cat(median(fit), median(tot) + rd, m\$iter, median(cpu), '\n')")
read -r glm_fit glm_total glm_iter glm_cpu <<<"$r_out"
# wall seconds (the machine may be shared: see the CPU columns too)
printf '%-8s %9s %9s %11s %7s %8s %8s %9s %9s %8s\n' rows cx_wall cx_cpu glm_fit_wall glm_cpu \
    cx_iter glm_iter fit/cx tot/cx cpu/cpu
printf '%-8s %9.3f %9.3f %11.3f %7.3f %8s %8s %9.1f %9.1f %8.1f\n' "$N" "$cx_med" "$cxc_med" \
    "$glm_fit" "$glm_cpu" "$iters" "$glm_iter" "$(echo "$glm_fit / $cx_med" | bc -l)" \
    "$(echo "$glm_total / $cx_med" | bc -l)" "$(echo "$glm_cpu / $cxc_med" | bc -l)"
