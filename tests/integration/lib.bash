# lib.sh — shared helpers for the integration tests (sourced, not run).
# Each test is called as: bash TEST.sh PATH/TO/cxfit SOURCE_DIR
set -uo pipefail
CXFIT="$1"
SRC="$2"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cxfit-it.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CXFIT_PROGRESS=0
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION -- COMMAND...: run, compare the exit status,
# keep stderr in $WORK/stderr for later checks.
expect_exit() {
    local want="$1" what="$2"
    shift 3
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, expected $want; stderr: $(head -c 400 "$WORK/stderr")"
    else
        ok "$what (exit $got)"
    fi
}

# expect_stderr FRAGMENT DESCRIPTION: the last command's stderr contains FRAGMENT
expect_stderr() {
    if grep -qF -- "$1" "$WORK/stderr"; then ok "$2"; else
        fail "$2: stderr lacks '$1': $(head -c 400 "$WORK/stderr")"
    fi
}

expect_stdout() {
    if grep -qF -- "$1" "$WORK/stdout"; then ok "$2"; else
        fail "$2: stdout lacks '$1': $(head -c 400 "$WORK/stdout")"
    fi
}

# expect_refused DATA NAME KEY FRAGMENT BODY: a one-job config (job NAME
# with BODY, on table /data of file DATA) that check must refuse with one
# stderr line naming the job and the key, and that run must refuse
# without writing a file.
expect_refused() {
    local data="$1" name="$2" key="$3" fragment="$4" body="$5"
    printf '[data]\nfile = %s\ntable = /data\n\n[job %s]\n%s\n' "$data" "$name" "$body" >"$WORK/$name.ini"
    expect_exit 2 "check refuses $name" -- "$CXFIT" check "$WORK/$name.ini"
    expect_stderr "$fragment" "$name: message says why"
    expect_stderr "'$key'" "$name: message names the key"
    expect_stderr "$name" "$name: message names the job"
    [ "$(wc -l <"$WORK/stderr")" -eq 1 ] && ok "$name: one line" || fail "$name: $(wc -l <"$WORK/stderr") lines"
    expect_exit 2 "run refuses $name" -- "$CXFIT" run "$WORK/$name.ini" -o "$WORK/$name.h5"
    [ -e "$WORK/$name.h5" ] && fail "$name: a refused run wrote a file" || ok "$name: nothing written"
}

# job_attr FILE JOB ATTR: print a job attribute of a results file
job_attr() {
    h5dump -a "/$2/$3" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"' | head -n1
}

# small_panel: the small simulated panel the run tests share ($WORK/panel.h5).
small_panel() {
    "$CXFIT" simulate "$WORK/panel.h5" --firms 3 --waves 2 --respondents 40 --seed 5 2>/dev/null ||
        fail "simulate"
}

# four_job_study FILE: a study on that panel touching every path of a run:
# describe, nps by firm x wave, a cfa, and a job reading nps_by_firm's table.
four_job_study() {
    cat >"$1" <<INI
[data]
file  = panel.h5
table = /responses
[job items]
model = describe
items = pex1 pex2 pex3
[job nps_by_firm]
model = nps
score = ltr
by    = firm wave
[job cfa]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
[job nps_desc]
model = describe
table = @nps_by_firm/nps
items = nps
INI
}

# big_panel: a simulated panel of 72,000 rows ($WORK/big.h5): two row
# blocks (CX_BLOCK_ROWS = 65,536), so passes can be split across ranks.
big_panel() {
    "$CXFIT" simulate "$WORK/big.h5" --firms 4 --waves 3 --respondents 6000 --seed 3 2>/dev/null ||
        fail "simulate big"
}

# rowsplit_study FILE: every kind of streaming pass on big.h5: moments per
# `by` level, bootstrap replicates, kfold folds, pairwise moments, a logit's
# Newton passes (rowpass) with kfold and cluster SEs, an ols, reducers of
# models that cannot be packed (describe, nps), and a later stage reading
# an earlier job's table.
rowsplit_study() {
    cat >"$1" <<INI
[data]
file  = big.h5
table = /responses
[job items]
model = describe
items = pex1 pex2 pex3 sat
[job nps]
model = nps
score = ltr
by    = firm wave
[job cfa_by]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
by     = firm
[job cfa_boot]
model     = cfa
syntax    = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
bootstrap = 40
[job cfa_kfold]
model    = cfa
syntax   = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
validate = kfold(3)
[job web]
model    = logit
formula  = factor(segment) ~ PEX + wave + sat
scores   = PEX: mean(pex1 pex2 pex3 pex4 pex5)
where    = segment < 2
se       = cluster(firm)
validate = kfold(3)
[job cfa_pw]
model   = cfa
syntax  = OUT =~ out1 + out2 + out3 + out4 + out5
missing = pairwise
[job drivers]
model   = ols
formula = ltr ~ PEX + wave
scores  = PEX: mean(pex1 pex2 pex3 pex4 pex5)
[job nps_desc]
model = describe
table = @nps/nps
items = nps
INI
}

# rowsplit_more_study FILE: the passes packed for issue 19's second round,
# one job each on big.h5 (job index in brackets, for mpi.sh's trace):
# describe pairwise by level, with a continuous item whose value counts
# overflow (it travels as its flag; the fallback reads it) [0] and with a
# clustered bootstrap [1], EFA
# parallel analysis keeping its rows [2], CFA MLR fourth moments by level
# [3], OLS cluster scores with kfold [4] and HC3 weighted by level [5],
# ologit [6] and mlogit [7] with cluster sums and validation, reliability
# with a reverse-keyed item (range pass), bootstrap and by firm [8], gap by
# level [9], a logit by wave [10], whose 3 levels are dealt to the ranks
# whole, and an EFA by firm [11] (levels dealt).
rowsplit_more_study() {
    cat >"$1" <<INI
[data]
file  = big.h5
table = /responses
[job desc_pw]
model   = describe
items   = pex1 pex2 pex3 sat weight
missing = pairwise
by      = wave
[job desc_boot]
model     = describe
items     = pex1 pex2 ltr
bootstrap = 20
bootstrap_cluster = respondent
[job efa_pa]
model   = efa
items   = pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5
factors = parallel
n_iter  = 5
[job cfa_mlr]
model     = cfa
syntax    = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
estimator = mlr
by        = wave
[job ols_cl]
model    = ols
formula  = ltr ~ PEX + wave
scores   = PEX: mean(pex1 pex2 pex3 pex4 pex5)
se       = cluster(firm)
validate = kfold(3)
[job ols_hc3]
model   = ols
formula = ltr ~ PEX + factor(segment)
scores  = PEX: mean(pex1 pex2 pex3 pex4 pex5)
se      = hc3
weights = weight
by      = firm
[job sat]
model    = ologit
formula  = factor(sat) ~ PEX + wave
scores   = PEX: mean(pex1 pex2 pex3 pex4 pex5)
se       = cluster(firm)
validate = holdout(wave == 3)
[job seg]
model    = mlogit
formula  = segment ~ PEX + ltr
scores   = PEX: mean(pex1 pex2 pex3 pex4 pex5)
se       = cluster(firm)
validate = kfold(3)
[job rel]
model     = reliability
scales    = PEX: pex1 pex2 pex3 pex4 -pex5
            OUT: out1 out2 out3 out4 out5
bootstrap = 10
by        = firm
[job gaps]
model = gap
pairs = pex1: out1, pex2: out2
by    = segment
[job web_by]
model   = logit
formula = factor(segment) ~ PEX + sat
scores  = PEX: mean(pex1 pex2 pex3 pex4 pex5)
where   = segment < 2
se      = cluster(firm)
by      = wave
[job efa_by]
model   = efa
items   = pex1 pex2 pex3 pex4 pex5 out1 out2 out3 out4 out5
factors = 2
by      = firm
INI
}

# expect_same_results A B WHAT: the results files agree to 1e-10 relative
# (h5diff), apart from elapsed times and the run's provenance attributes.
expect_same_results() {
    h5diff -p 1e-10 "$1" "$2" >"$WORK/diff" 2>&1
    local others
    others=$(grep '^attribute:' "$WORK/diff" | grep -v -e '<elapsed_s of' -e '<threads of </>>' \
        -e '<created of </>>' -e '<ranks of </>>' | wc -l)
    if [ "$others" -eq 0 ] && ! grep -q '^dataset' "$WORK/diff"; then ok "$3 (1e-10)"; else
        fail "$3: files differ: $(head -c 600 "$WORK/diff")"
    fi
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
