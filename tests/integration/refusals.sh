#!/usr/bin/env bash
# refusals.sh — nothing is silently ignored: `cxfit check` refuses every
# shared key a model cannot honour (exit 2, one line naming the job and the
# key), and a run with the same config writes nothing.  Then the keys the
# SEM models do honour (bootstrap, validate, by) run and write their tables.
source "$(dirname "$0")/lib.bash" "$@"
HS="$SRC/datasets/HolzingerSwineford1939.h5"
BFI="$SRC/datasets/bfi.h5"
CFA='syntax = visual =~ x1 + x2 + x3
         textual =~ x4 + x5 + x6
         speed =~ x7 + x8 + x9'

# refuse NAME KEY FRAGMENT BODY: a one-job config on HolzingerSwineford
# that check must refuse (lib.bash's expect_refused)
refuse() { expect_refused "$HS" "$@"; }

# the wide view (derived_wide.c): two rows per id and time, and
# wide_columns without wide
refuse wide_duplicates wide "more than one row at time" "model = describe
wide = school grade
items = x1_w7 x1_w8"
refuse wide_columns_alone wide_columns "needs 'wide'" "model = describe
wide_columns = x1
items = x1"
refuse describe_validate validate "does not support validate" "model = describe
items = x1 x2 x3
validate = kfold(5)"
refuse describe_weights weights "does not take weights" "model = describe
items = x1 x2
weights = x3"
refuse nps_validate validate "does not support validate" "model = nps
score = grade
validate = holdout(sex == 1)"
refuse reliability_weights weights "weighted reliability is listwise only" "model = reliability
scales = A: x1 x2 x3
missing = pairwise
weights = x4"
refuse reliability_scale scales "expected at least two items" "model = reliability
scales = A: x1 x2 x3
         B: x4"
refuse reliability_cfa_job cfa_job "names no earlier job" "model = reliability
cfa_job = nope"
refuse reliability_pairwise_bootstrap bootstrap "expected missing = listwise" "model = reliability
scales = A: x1 x2 -x3
missing = pairwise
bootstrap = 10"
refuse describe_fiml missing "missing = fiml is not supported by model 'describe'" "model = describe
items = x1 x2
missing = fiml"
refuse cfa_fiml_weights weights "with missing = fiml is not supported yet" "model = cfa
$CFA
missing = fiml
weights = ageyr"
refuse cfa_fiml_meanstructure meanstructure "always has a meanstructure" "model = cfa
$CFA
missing = fiml
meanstructure = no"
# ordinal items (ordered, estimator wlsmv): what the WLSMV fit cannot honour
refuse cfa_ordered_weights weights_are "sampling weights only" "model = cfa
$CFA
ordered = all
weights = ageyr
weights_are = frequency"
refuse cfa_ordered_weights_invariance invariance "sampling weights is not supported with ordered" "model = cfa
$CFA
ordered = all
group = school
weights = ageyr
invariance = configural metric"
refuse cfa_ordered_pairwise missing "listwise-complete rows only" "model = cfa
$CFA
ordered = all
missing = pairwise"
refuse cfa_ordered_group_equal group_equal "residual variances are no parameters in the delta parameterization" "model = cfa
$CFA
ordered = all
group = school
group_equal = loadings residuals"
refuse cfa_ordered_intercepts group_equal "need 'thresholds'" "model = cfa
$CFA
ordered = all
group = school
group_equal = loadings intercepts"
refuse cfa_ordered_strict invariance "step 'strict' with ordered items needs parameterization = theta" "model = cfa
$CFA
ordered = all
group = school
invariance = configural metric scalar strict"
refuse cfa_ordered_modindices modindices "not supported with ordered items" "model = cfa
$CFA
ordered = all
modindices = yes"
refuse cfa_parameterization_continuous parameterization "applies to ordered items only" "model = cfa
$CFA
parameterization = theta"
refuse cfa_ordered_parameterization parameterization "gamma" "model = cfa
$CFA
ordered = all
parameterization = gamma"
refuse cfa_ordered_ml estimator "estimator wlsmv only" "model = cfa
$CFA
ordered = all
estimator = ml"
refuse cfa_ordered_mixed ordered "mixing continuous and ordinal" "model = cfa
$CFA
ordered = x1 x2"
refuse cfa_ordered_unknown ordered "not an observed variable of the model" "model = cfa
$CFA
ordered = x1 x2 x3 x4 x5 x6 x7 x8 x9 x10"
refuse cfa_wlsmv_continuous estimator "needs ordinal items" "model = cfa
$CFA
estimator = wlsmv"
# weights with cfa/sem/growth: `weights_are` (sampling | frequency)
refuse cfa_weights_are weights_are "expected sampling | frequency" "model = cfa
$CFA
weights = grade
weights_are = survey"
refuse cfa_weights_are_alone weights_are "needs \`weights\`" "model = cfa
$CFA
weights_are = frequency"
refuse cfa_weights_pairwise weights "missing = pairwise are not supported" "model = cfa
$CFA
weights = grade
missing = pairwise"
# logistic families (HS: school is a two-level categorical column)
refuse ologit_hc3 se "ologit has no hat values" "model = ologit
formula = school ~ x1
se = hc3"
refuse mlogit_hc2 se "mlogit has no hat values" "model = mlogit
formula = school ~ x1
se = hc2"
refuse logit_hc4 se "expected classical, hc0, hc1, hc2, hc3" "model = logit
formula = school ~ x1
se = hc4"
refuse logit_boot_cluster bootstrap_cluster "needs bootstrap = B" "model = logit
formula = school ~ x1
bootstrap_cluster = id"
refuse ologit_no_intercept formula "thresholds replace the intercept" "model = ologit
formula = factor(x1) ~ x2 - 1"
# fixed.x covariates with missing = fiml fit (tests/reference/hs_fiml_exo),
# and with estimator = mlr on complete data (hs_mlr_exo); MLR with both is
# still refused
refuse sem_fiml_exo_mlr estimator "estimator mlr with observed exogenous covariates ('ageyr')" "model = sem
syntax = visual =~ x1 + x2 + x3
         visual ~ ageyr
missing = fiml
estimator = mlr"
refuse cluster_without_bootstrap bootstrap_cluster "needs bootstrap = B" "model = cfa
$CFA
bootstrap_cluster = id"
refuse cluster_column bootstrap_cluster "no column 'nope'" "model = cfa
$CFA
bootstrap = 10
bootstrap_cluster = nope"
refuse bootstrap_invariance bootstrap "bootstrap with invariance" "model = cfa
$CFA
group = school
invariance = configural metric
bootstrap = 10"
refuse validate_invariance validate "validate with invariance" "model = cfa
$CFA
group = school
invariance = configural metric
validate = kfold(3)"
refuse kfold_k validate "kfold(K) needs K from 2 to 1000" "model = cfa
$CFA
validate = kfold(1)"
refuse holdout_column validate "nope" "model = cfa
$CFA
validate = holdout(nope == 1)"

# What cfa honours runs and writes its tables.
cat >"$WORK/ok.ini" <<INI
[data]
file  = $HS
table = /data

[job boot]
model = cfa
$CFA
by = school
bootstrap = 50
bootstrap_cluster = id
seed = 3

[job folds]
model = cfa
$CFA
validate = kfold(3)

[job nps_boot]
model = nps
score = grade
by = school
bootstrap = 200

[job describe_boot]
model = describe
items = x1 x2 x3
bootstrap = 100

[job holdout]
model = cfa
$CFA
validate = holdout(school == "Pasteur")

[job ologit_folds]
model = ologit
formula = school ~ x1 + x2
validate = kfold(3)

[job mlogit_holdout]
model = mlogit
formula = school ~ x1 + x2
validate = holdout(sex == 1)

[job logit_hc3]
model = logit
formula = school ~ x1 + x2
se = hc3

[job ologit_boot]
model = ologit
formula = school ~ x1 + x2
bootstrap = 20
bootstrap_cluster = id
INI
expect_exit 0 "check accepts bootstrap and validate on cfa" -- "$CXFIT" check "$WORK/ok.ini"
expect_exit 0 "bootstrap and validate run" -- "$CXFIT" run "$WORK/ok.ini" -o "$WORK/ok.h5" -j 2
[ "$(job_attr "$WORK/ok.h5" boot se)" = bootstrap ] && ok "se type recorded" || fail "se attr: $(job_attr "$WORK/ok.h5" boot se)"
h5ls "$WORK/ok.h5/boot/bootstrap" >/dev/null 2>&1 && ok "bootstrap table written" || fail "no bootstrap table"
h5ls "$WORK/ok.h5/nps_boot/bootstrap" >/dev/null 2>&1 && ok "nps bootstrap table written" || fail "no nps bootstrap table"
h5ls "$WORK/ok.h5/describe_boot/bootstrap" >/dev/null 2>&1 && ok "describe bootstrap table written" || fail "no describe bootstrap table"
h5ls "$WORK/ok.h5/folds/validation" >/dev/null 2>&1 && ok "kfold validation table" || fail "no validation table (kfold)"
h5ls "$WORK/ok.h5/holdout/validation" >/dev/null 2>&1 && ok "holdout validation table" || fail "no validation table (holdout)"
h5ls "$WORK/ok.h5/ologit_folds/validation" >/dev/null 2>&1 && ok "ologit kfold validation table" || fail "no ologit validation table"
h5ls "$WORK/ok.h5/mlogit_holdout/validation" >/dev/null 2>&1 && ok "mlogit holdout validation table" || fail "no mlogit validation table"
h5ls "$WORK/ok.h5/ologit_boot/bootstrap" >/dev/null 2>&1 && ok "ologit bootstrap table" || fail "no ologit bootstrap table"
[ "$(job_attr "$WORK/ok.h5" logit_hc3 status)" = ok ] && ok "logit hc3 runs" || fail "logit hc3 status: $(job_attr "$WORK/ok.h5" logit_hc3 status)"
finish
