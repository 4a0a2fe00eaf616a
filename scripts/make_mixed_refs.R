# make_mixed_refs.R — reference values for `model = mixed` from lme4.
#
#   Rscript scripts/make_mixed_refs.R        (from the repository root)
#
# Writes datasets/Pastes.csv and datasets/Penicillin.csv (lme4's data, for
# scripts/make_datasets.sh to import into datasets/*.h5) and
# tests/reference/mixed_lme4.json, read by tests/test_mixed_reference.c
# together with configs/reference/mixed_lme4.ini (one job per case).
#
# lme4 is refitted with a tight optimizer (bobyqa, rhoend = 1e-12,
# maxfun = 1e5), then polished by Newton steps on its own criterion (see
# polished() below), so its optimum, not its stopping rule, is the
# reference: the default leaves theta uncertain in about the 7th digit,
# which is the 1e-6 tolerance of the test.
#
# Group names follow cxfit's convention: a nested `(1 | batch/cask)` gives
# the groups `batch` and `batch:cask` (lme4 prints `cask:batch`), and an
# uncorrelated `(Days || Subject)` keeps the group `Subject` for both
# columns (lme4 prints `Subject` and `Subject.1`).
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})

data(Pastes, package = "lme4")
data(Penicillin, package = "lme4")
write.csv(data.frame(strength = Pastes$strength, batch = as.character(Pastes$batch),
                     cask = as.character(Pastes$cask)),
          "datasets/Pastes.csv", row.names = FALSE)
write.csv(data.frame(diameter = Penicillin$diameter, plate = as.character(Penicillin$plate),
                     sample = as.character(Penicillin$sample)),
          "datasets/Penicillin.csv", row.names = FALSE)

sleep <- read.csv("/work/shared/reference/data/sleepstudy.csv")
sleep$Subject <- factor(sleep$Subject)
pastes <- read.csv("datasets/Pastes.csv", stringsAsFactors = TRUE)
penicillin <- read.csv("datasets/Penicillin.csv", stringsAsFactors = TRUE)

cases <- list(
  list(name = "sleep_ri", data = "sleep", formula = "Reaction ~ Days + (1 | Subject)"),
  list(name = "sleep_slope", data = "sleep", formula = "Reaction ~ Days + (Days | Subject)"),
  list(name = "sleep_uncorr", data = "sleep", formula = "Reaction ~ Days + (Days || Subject)"),
  list(name = "pastes_nested", data = "pastes", formula = "strength ~ 1 + (1 | batch/cask)"),
  list(name = "penicillin_crossed", data = "penicillin",
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"))
datasets <- list(sleep = sleep, pastes = pastes, penicillin = penicillin)
h5 <- list(sleep = "sleepstudy", pastes = "Pastes", penicillin = "Penicillin")

rename_grp <- function(g) {
  g <- sub("\\.[0-9]+$", "", g)
  ifelse(g == "cask:batch", "batch:cask", g)
}

# lme4 names the levels of cask:batch "a:A"; cxfit writes them in the
# order of the formula's columns, batch then cask: "A:a".
rename_levels <- function(g, lv) {
  if (g != "cask:batch") return(lv)
  vapply(strsplit(lv, ":"), function(p) paste(rev(p), collapse = ":"), "")
}

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                     check.conv.singular = "ignore")
# The optimum to ~1e-9 in theta: bobyqa's theta is then polished by
# Newton steps on lme4's own profiled criterion (central differences with
# step 1e-3, lme4:::deriv12; the step keeps the criterion's rounding noise
# out of the gradient) and the model is refitted at the polished theta
# (optimizer = NULL evaluates at the start).  Even rhoend = 1e-12 leaves
# theta ~1e-7 from the optimum (the criterion is flat there), which is
# 1e-5 relative on a small covariance.
polished <- function(fm, formula, d, reml) {
  th <- getME(fm, "theta")
  if (isSingular(fm)) return(fm)
  f <- lmer(as.formula(formula), data = d, REML = reml, devFunOnly = TRUE)
  for (it in 1:3) {
    dd <- lme4:::deriv12(f, th, delta = 1e-3)
    step <- solve(dd$Hessian, dd$gradient)
    if (f(th - step) > f(th) * (1 + 1e-8)) break
    th <- th - step
  }
  lmer(as.formula(formula), data = d, REML = reml, start = list(theta = th),
       control = lmerControl(optimizer = NULL))
}

# `Rscript scripts/make_mixed_refs.R validate` writes only the validation
# reference (below), leaving mixed_lme4.json as it is.
only_validate <- "validate" %in% commandArgs(TRUE)
if (!only_validate) {
out <- list()
ini <- c("# Reference cases mixed_lme4: lme4 (tests/reference/mixed_lme4.json, written by",
         "# scripts/make_mixed_refs.R; see docs/models/mixed.md).  One job per case.", "")
for (cs in cases) {
  for (reml in c(TRUE, FALSE)) {
    d <- datasets[[cs$data]]
    fm <- polished(lmer(as.formula(cs$formula), data = d, REML = reml, control = tight),
                   cs$formula, d, reml)
    s <- summary(fm)
    cf <- s$coefficients
    # Satterthwaite degrees of freedom and p-values (lmerTest 3.1, at the
    # same fit)
    st <- summary(lmerTest::as_lmerModLmerTest(fm))$coefficients
    vc <- as.data.frame(VarCorr(fm))
    name <- sprintf("%s_%s", cs$name, if (reml) "reml" else "ml")
    re <- ranef(fm)
    blup <- list()
    for (g in names(re)) {
      for (v in names(re[[g]]))
        blup[[length(blup) + 1]] <- list(group = rename_grp(g), level = I(rename_levels(g, rownames(re[[g]]))),
                                          term = v, value = I(re[[g]][[v]]))
    }
    out[[name]] <- Filter(Negate(is.null), list(
      name = name, formula = cs$formula, reml = reml,
      fixed = list(term = I(rownames(cf)), est = I(unname(cf[, 1])), se = I(unname(cf[, 2])),
                   t = I(unname(cf[, 3])), df = I(unname(st[, "df"])),
                   p = I(unname(st[, "Pr(>|t|)"]))),
      varcomp = list(grp = I(rename_grp(vc$grp)), var1 = I(ifelse(is.na(vc$var1), "", vc$var1)),
                     var2 = I(ifelse(is.na(vc$var2), "", vc$var2)), vcov = I(vc$vcov),
                     sdcor = I(vc$sdcor)),
      logLik = as.numeric(logLik(fm)), AIC = AIC(fm), BIC = BIC(fm),
      deviance = if (reml) NULL else deviance(fm),
      deviance_ml_at_reml = if (reml) as.numeric(deviance(fm, REML = FALSE)) else NULL,
      REMLcrit = if (reml) REMLcrit(fm) else NULL,
      sigma = sigma(fm), nobs = nobs(fm), ngrps = as.list(setNames(unname(ngrps(fm)), rename_grp(names(ngrps(fm))))),
      npar = attr(logLik(fm), "df"), theta = I(unname(getME(fm, "theta"))),
      singular = isSingular(fm), blup = blup,
      lme4 = as.character(packageVersion("lme4"))))
    ini <- c(ini, sprintf("[job %s]", name), "model   = mixed",
             sprintf("file    = ../../datasets/%s.h5", h5[[cs$data]]), "table   = /data",
             sprintf("formula = %s", cs$formula), sprintf("reml    = %s", if (reml) "yes" else "no"), "")
  }
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/mixed_lme4.json")
writeLines(ini, "configs/reference/mixed_lme4.ini")
cat("wrote tests/reference/mixed_lme4.json with", length(out), "cases\n")
}

# Validation: `validate = holdout(EXPR)` on sleepstudy.  lme4 fits the
# training rows (those outside EXPR), predict(fit, newdata = heldout,
# allow.new.levels = TRUE) gives fixed part + the training BLUPs (0 for
# the subject the training rows never saw), and RMSE and R^2 (about the
# held-out mean) of the held-out rows are the reference; Penicillin with
# crossed groups checks held-out cells whose levels were seen.  Written to
# tests/reference/mixed_validate_lme4.json, read by
# tests/test_mixed_validate.c with configs/reference/mixed_validate.ini.
vcases <- list(
  list(name = "ho_slope_reml", formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
       holdout = "Days >= 8 or Subject == 372",
       test = function(d) d$Days >= 8 | d$Subject == "372"),
  list(name = "ho_ri_ml", formula = "Reaction ~ Days + (1 | Subject)", reml = FALSE,
       holdout = "Days >= 8 or Subject == 372",
       test = function(d) d$Days >= 8 | d$Subject == "372"),
  # crossed: every held-out cell (plate, sample) is new, its levels are not
  list(name = "ho_crossed_reml", data = "penicillin",
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", reml = TRUE,
       holdout = "diameter >= 25", test = function(d) d$diameter >= 25))
vout <- list()
vini <- c("# Reference cases mixed_validate: lme4 on the training rows, predict() on the held-out",
          "# rows (tests/reference/mixed_validate_lme4.json, scripts/make_mixed_refs.R).", "")
for (cs in vcases) {
  dn <- if (is.null(cs$data)) "sleep" else cs$data
  d <- datasets[[dn]]
  held <- cs$test(d)
  tr <- droplevels(d[!held, ])
  te <- d[held, ]
  y <- all.vars(as.formula(cs$formula))[1]
  fm <- polished(lmer(as.formula(cs$formula), data = tr, REML = cs$reml, control = tight),
                 cs$formula, tr, cs$reml)
  pred <- predict(fm, newdata = te, allow.new.levels = TRUE)
  e <- te[[y]] - pred
  vout[[cs$name]] <- list(name = cs$name, n_train = nrow(tr), n_test = nrow(te),
                          rmse = sqrt(mean(e^2)), mae = mean(abs(e)),
                          r2 = 1 - sum(e^2) / sum((te[[y]] - mean(te[[y]]))^2),
                          lme4 = as.character(packageVersion("lme4")))
  vini <- c(vini, sprintf("[job %s]", cs$name), "model    = mixed",
            sprintf("file     = ../../datasets/%s.h5", h5[[dn]]), "table    = /data",
            sprintf("formula  = %s", cs$formula),
            sprintf("reml     = %s", if (cs$reml) "yes" else "no"),
            sprintf("validate = holdout(%s)", cs$holdout), "")
}
writeLines(toJSON(vout, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/mixed_validate_lme4.json")
writeLines(vini, "configs/reference/mixed_validate.ini")
cat("wrote tests/reference/mixed_validate_lme4.json with", length(vout), "cases\n")
