# make_refs.R — writes the reference values (the oracles) that cxfit's
# tests compare against: tests/reference/<case>.json, one file per case,
# computed by the established R implementations (lavaan, psych, plm, ...).
#
# Usage: Rscript scripts/make_refs.R [DATA_DIR] [OUT_DIR]
#   DATA_DIR  the shared CSVs (default ../shared/reference/data next to the
#             repository), the same files the bundled datasets/*.h5 hold
#   OUT_DIR   default tests/reference
# Run through scripts/make_refs.sh, which checks the packages first.
#
# Data are read from the CSVs, not from the R packages, so R sees exactly
# the numbers cxfit imports (write.csv keeps 15 significant digits).
# Numbers are written at full precision (digits = NA); NA/NaN -> null.
suppressPackageStartupMessages({
  library(lavaan); library(psych); library(plm); library(sandwich)
  library(jsonlite); library(MASS); library(lme4)
})

here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
source(file.path(here, "refs_common.R"))
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

pkgs <- c("lavaan", "semTools", "psych", "GPArotation", "plm", "sandwich", "MASS", "lme4", "jsonlite")
vers <- c(list(R = paste(R.version$major, R.version$minor, sep = ".")),
          setNames(lapply(pkgs, function(p) as.character(packageVersion(p))), pkgs))

# ---- SEM (lavaan) ----------------------------------------------------------

# parameterEstimates in the contract's column names; group 0 when one group.
sem_estimates <- function(f) {
  pe <- parameterEstimates(f, standardized = TRUE)
  pe$group <- if (is.null(pe$group) || lavInspect(f, "ngroups") == 1) 0L else as.integer(pe$group)
  names(pe)[match(c("ci.lower", "ci.upper", "std.lv", "std.all"), names(pe))] <- c("ci_lower", "ci_upper", "std_lv", "std_all")
  cols <- c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all")
  pe <- pe[, intersect(cols, names(pe))]
  rownames(pe) <- NULL
  pe
}

# Per-group sample statistics that ML fits (divisor N), in ov_names order.
# The mean is taken from the SampleStats slot so it is there even when the
# model has no mean structure.
sem_sampstat <- function(f) {
  ng <- lavInspect(f, "ngroups")
  covs <- lapply(seq_len(ng), function(g) unname(unclass(f@SampleStats@cov[[g]])))
  means <- lapply(seq_len(ng), function(g) as.numeric(f@SampleStats@mean[[g]]))
  list(ov_names = lavNames(f, "ov"), sample_cov = covs, sample_mean = means)
}

sem_r2 <- function(f) {
  r2 <- lavInspect(f, "r2")
  if (lavInspect(f, "ngroups") == 1) r2 <- list(r2)
  lapply(r2, function(v) as.list(unclass(v)))
}

sem_partable <- function(f) {
  pt <- as.data.frame(parTable(f))
  pt[, c("id", "lhs", "op", "rhs", "user", "block", "group", "free", "ustart", "exo", "label", "plabel", "est", "se")]
}

sem_modindices <- function(f) {
  mi <- modindices(f)
  rownames(mi) <- NULL
  if (is.null(mi$group)) mi$group <- 0L
  names(mi)[match(c("sepc.lv", "sepc.all"), names(mi))] <- c("sepc_lv", "sepc_all")
  mi[, intersect(c("lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"), names(mi))]
}

# Everything the SEM tests compare, for one fitted model.
sem_case <- function(case, dataset, model, r_call, f, extra = list()) {
  ss <- sem_sampstat(f)
  x <- list(case = case, dataset = dataset, model = model, r_call = r_call, package_versions = vers,
            converged = lavInspect(f, "converged"),
            nobs = sum(lavInspect(f, "nobs")),
            nobs_per_group = I(as.integer(lavInspect(f, "nobs"))),
            group_labels = I(as.character(lavInspect(f, "group.label"))),
            estimates = sem_estimates(f),
            fit = as.list(unclass(fitMeasures(f))),
            ov_names = I(ss$ov_names), sample_cov = ss$sample_cov, sample_mean = ss$sample_mean,
            r2 = sem_r2(f), partable = sem_partable(f))
  write_case(c(x, extra))
  invisible(f)
}

hs <- read_data("HolzingerSwineford1939")
HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

f <- cfa(HS.model, data = hs)
sem_case("hs_cfa_ml", "HolzingerSwineford1939", HS.model, "cfa(HS.model, data = HolzingerSwineford1939)", f,
         list(modindices = sem_modindices(f)))
sem_case("hs_modindices", "HolzingerSwineford1939", HS.model,
         "modindices(cfa(HS.model, data = HolzingerSwineford1939))", f, list(modindices = sem_modindices(f)))
sem_case("hs_cfa_stdlv", "HolzingerSwineford1939", HS.model, "cfa(HS.model, data = HolzingerSwineford1939, std.lv = TRUE)",
         cfa(HS.model, data = hs, std.lv = TRUE))
sem_case("hs_cfa_meanstructure", "HolzingerSwineford1939", HS.model,
         "cfa(HS.model, data = HolzingerSwineford1939, meanstructure = TRUE)", cfa(HS.model, data = hs, meanstructure = TRUE))

# Measurement invariance across schools.  Groups are ordered by first
# appearance in the data (Pasteur first): see group_labels.
equal_sets <- list(configural = character(0), metric = "loadings", scalar = c("loadings", "intercepts"),
                   strict = c("loadings", "intercepts", "residuals"))
deparse_eq <- function(eq) if (length(eq) == 0) "" else paste0(", group.equal = ", paste(deparse(eq), collapse = ""))
mg <- list()
for (step in names(equal_sets)) {
  eq <- equal_sets[[step]]
  mg[[step]] <- cfa(HS.model, data = hs, group = "school", group.equal = if (length(eq) == 0) "" else eq)
  sem_case(paste0("hs_mg_", step), "HolzingerSwineford1939", HS.model,
           paste0("cfa(HS.model, data = HolzingerSwineford1939, group = \"school\"", deparse_eq(eq), ")"), mg[[step]],
           list(group_equal = I(eq)))
}
# lavTestLRT() of a sequence of fits, with fitMeasures() per step; the
# first step's difference columns are null.  rmsea_d is lavTestLRT()'s
# "RMSEA" column (RMSEA of the difference test, lavaan >= 0.6-13).
invariance_case <- function(case, fits, sets) {
  lrt <- do.call(lavTestLRT, unname(fits))
  fm <- lapply(fits, function(m) fitMeasures(m, c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                                                 "rmsea.ci.lower", "rmsea.ci.upper", "srmr")))
  steps <- names(fits)
  write_case(list(case = case, dataset = "HolzingerSwineford1939", model = HS.model,
    r_call = paste0("lavTestLRT(", paste(steps, collapse = ", "), ") of cfa(HS.model, data = HolzingerSwineford1939, group = \"school\", group.equal = ...)"),
    package_versions = vers, group_labels = I(as.character(lavInspect(fits[[1]], "group.label"))),
    steps = lapply(seq_along(steps), function(i) list(
      step = steps[i], group_equal = I(sets[[steps[i]]]),
      npar = unname(fm[[i]]["npar"]),
      chisq = unname(fm[[i]]["chisq"]), df = unname(fm[[i]]["df"]),
      model_pvalue = unname(fm[[i]]["pvalue"]),
      cfi = unname(fm[[i]]["cfi"]), tli = unname(fm[[i]]["tli"]), rmsea = unname(fm[[i]]["rmsea"]),
      rmsea_ci_lower = unname(fm[[i]]["rmsea.ci.lower"]), rmsea_ci_upper = unname(fm[[i]]["rmsea.ci.upper"]),
      srmr = unname(fm[[i]]["srmr"]),
      aic = lrt$AIC[i], bic = lrt$BIC[i],
      chisq_diff = lrt[["Chisq diff"]][i], df_diff = lrt[["Df diff"]][i], pvalue = lrt[["Pr(>Chisq)"]][i],
      rmsea_d = lrt[["RMSEA"]][i],
      delta_cfi = if (i == 1) NA else unname(fm[[i]]["cfi"] - fm[[i - 1]]["cfi"]),
      delta_rmsea = if (i == 1) NA else unname(fm[[i]]["rmsea"] - fm[[i - 1]]["rmsea"]))))
  )
}
invariance_case("hs_invariance", mg, equal_sets)
# semTools' measurementInvariance() default sequence: means after scalar.
means_set <- c("loadings", "intercepts", "means")
mg_means <- c(mg[c("configural", "metric", "scalar")],
              list(means = cfa(HS.model, data = hs, group = "school", group.equal = means_set)))
invariance_case("hs_invariance_means", mg_means, c(equal_sets, list(means = means_set)))

pd <- read_data("PoliticalDemocracy")
pd.model <- paste("ind60 =~ x1 + x2 + x3", "dem60 =~ y1 + a*y2 + b*y3 + c*y4", "dem65 =~ y5 + a*y6 + b*y7 + c*y8",
                  "dem60 ~ ind60", "dem65 ~ ind60 + dem60", "y1 ~~ y5", "y2 ~~ y4 + y6", "y3 ~~ y7", "y4 ~~ y8", "y6 ~~ y8",
                  sep = "\n")
sem_case("poldem_sem", "PoliticalDemocracy", pd.model, "sem(model, data = PoliticalDemocracy)", sem(pd.model, data = pd))

# Mediation on observed variables: x1 is exogenous, so fixed.x = TRUE fixes
# its variance to the sample value; := rows give the indirect/total effect.
med.model <- "x4 ~ a*x1\nx7 ~ b*x4 + c*x1\nind := a*b\ntotal := c + a*b"
sem_case("hs_mediation", "HolzingerSwineford1939", med.model, "sem(model, data = HolzingerSwineford1939)", sem(med.model, data = hs))

dg <- read_data("Demo.growth")
bfi <- read_data("bfi")
lin.model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4\ns =~ 0*t1 + 1*t2 + 2*t3 + 3*t4"
sem_case("growth_linear", "Demo.growth", lin.model, "growth(model, data = Demo.growth)", growth(lin.model, data = dg))
quad.model <- paste(lin.model, "q =~ 0*t1 + 1*t2 + 4*t3 + 9*t4", sep = "\n")
fq <- tryCatch(growth(quad.model, data = dg), warning = function(w) { message("growth_quadratic: ", conditionMessage(w)); NULL })
if (!is.null(fq) && lavInspect(fq, "converged")) {
  sem_case("growth_quadratic", "Demo.growth", quad.model, "growth(model, data = Demo.growth)", fq)
} else {
  message("growth_quadratic skipped: lavaan warned or did not converge")
}

# ---- wider coverage: classic models lavaan users fit ------------------------

# Growth with time-invariant covariates, then also time-varying ones
# (the lavaan tutorial's model): regressions of i/s on observed x's, and of
# the repeated measures on their wave's covariate.
tic.model <- paste(lin.model, "i ~ x1 + x2", "s ~ x1 + x2", sep = "\n")
sem_case("growth_tic", "Demo.growth", tic.model, "growth(model, data = Demo.growth)", growth(tic.model, data = dg))
tvc.model <- paste(tic.model, "t1 ~ c1", "t2 ~ c2", "t3 ~ c3", "t4 ~ c4", sep = "\n")
sem_case("growth_tvc", "Demo.growth", tvc.model, "growth(model, data = Demo.growth)", growth(tvc.model, data = dg))

# Second-order factor: g measured by the three first-order factors.
so.model <- paste(HS.model, "g =~ visual + textual + speed", sep = "\n")
sem_case("hs_second_order", "HolzingerSwineford1939", so.model, "cfa(model, data = HolzingerSwineford1939)",
         cfa(so.model, data = hs))

# Modifiers: equality labels (one shared by loadings of two factors), a
# start value, a correlated residual.
lab.model <- paste("visual =~ x1 + a*x2 + b*x3", "textual =~ x4 + start(0.8)*x5 + b*x6", "speed =~ x7 + c*x8 + c*x9",
                   "x7 ~~ x8", sep = "\n")
sem_case("hs_cfa_labels", "HolzingerSwineford1939", lab.model, "cfa(model, data = HolzingerSwineford1939)",
         cfa(lab.model, data = hs))
# Free first loading with the factor variance fixed by hand, and a fixed
# (non-unit) loading.
fix.model <- paste("visual =~ NA*x1 + x2 + x3", "visual ~~ 1*visual", "textual =~ x4 + 1.1*x5 + x6",
                   "speed =~ x7 + x8 + x9", sep = "\n")
sem_case("hs_cfa_fixed", "HolzingerSwineford1939", fix.model, "cfa(model, data = HolzingerSwineford1939)",
         cfa(fix.model, data = hs))

# MIMIC: factors regressed on observed exogenous covariates (fixed.x = TRUE
# keeps their moments at the sample values), with a mean structure.
mimic.model <- paste("visual =~ x1 + x2 + x3", "textual =~ x4 + x5 + x6", "visual ~ ageyr + sex", "textual ~ ageyr",
                     sep = "\n")
sem_case("hs_mimic", "HolzingerSwineford1939", mimic.model,
         "sem(model, data = HolzingerSwineford1939, meanstructure = TRUE)",
         sem(mimic.model, data = hs, meanstructure = TRUE))
# An observed exogenous covariate among latent regressions, no mean structure.
pdx.model <- paste("ind60 =~ x1 + x2 + x3", "dem60 =~ y1 + y2 + y3 + y4", "dem60 ~ ind60 + y5", sep = "\n")
sem_case("poldem_covariate", "PoliticalDemocracy", pdx.model, "sem(model, data = PoliticalDemocracy)",
         sem(pdx.model, data = pd))

# Big Five on bfi: 25 items, 5 factors, listwise deletion (lavaan's default
# missing = "listwise" over the model's variables).
bfi.model <- paste("agree =~ A1 + A2 + A3 + A4 + A5", "consc =~ C1 + C2 + C3 + C4 + C5",
                   "extra =~ E1 + E2 + E3 + E4 + E5", "neuro =~ N1 + N2 + N3 + N4 + N5",
                   "open =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
sem_case("bfi_cfa", "bfi", bfi.model, "cfa(model, data = bfi)", cfa(bfi.model, data = bfi))

# Multi-group SEM with other group.equal sets.
mgr.model <- paste("visual =~ x1 + x2 + x3", "textual =~ x4 + x5 + x6", "visual ~ textual", sep = "\n")
eq <- c("loadings", "regressions")
sem_case("hs_mg_regressions", "HolzingerSwineford1939", mgr.model,
         paste0("sem(model, data = HolzingerSwineford1939, group = \"school\"", deparse_eq(eq), ")"),
         sem(mgr.model, data = hs, group = "school", group.equal = eq), list(group_equal = I(eq)))
mgl.model <- paste(HS.model, "x7 ~~ x8", sep = "\n")
eq <- c("loadings", "intercepts", "means", "lv.variances", "lv.covariances", "residual.covariances")
sem_case("hs_mg_lv", "HolzingerSwineford1939", mgl.model,
         paste0("cfa(model, data = HolzingerSwineford1939, group = \"school\"", deparse_eq(eq), ")"),
         cfa(mgl.model, data = hs, group = "school", group.equal = eq), list(group_equal = I(eq)))

# Defined parameters from several labels: indirect, total, ratio, difference.
def.model <- paste("ind60 =~ x1 + x2 + x3", "dem60 =~ y1 + y2 + y3 + y4", "dem65 =~ y5 + y6 + y7 + y8",
                   "dem60 ~ a*ind60", "dem65 ~ c*ind60 + b*dem60", "y1 ~~ y5", "y2 ~~ y6",
                   "ind := a*b", "total := c + a*b", "prop := a*b/(c + a*b)", "diff := c - a*b", sep = "\n")
sem_case("poldem_defined", "PoliticalDemocracy", def.model, "sem(model, data = PoliticalDemocracy)",
         sem(def.model, data = pd))

# std.lv = TRUE with regressions among latents: the endogenous factors'
# residual variances are fixed to 1, every loading free.
stdlv.model <- paste("ind60 =~ x1 + x2 + x3", "dem60 =~ y1 + y2 + y3 + y4", "dem65 =~ y5 + y6 + y7 + y8",
                     "dem60 ~ ind60", "dem65 ~ ind60 + dem60", "y1 ~~ y5", sep = "\n")
sem_case("poldem_stdlv", "PoliticalDemocracy", stdlv.model, "sem(model, data = PoliticalDemocracy, std.lv = TRUE)",
         sem(stdlv.model, data = pd, std.lv = TRUE))

# std.lv with equal loadings across groups: lavaan frees the factor
# variances of the second group (only the first group's are fixed to 1).
eq <- "loadings"
sem_case("hs_mg_stdlv_metric", "HolzingerSwineford1939", HS.model,
         paste0("cfa(HS.model, data = HolzingerSwineford1939, group = \"school\", std.lv = TRUE", deparse_eq(eq), ")"),
         cfa(HS.model, data = hs, group = "school", std.lv = TRUE, group.equal = eq), list(group_equal = I(eq)))

# Growth with free loadings for the later waves (a "latent basis" model).
basis.model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4\ns =~ 0*t1 + 1*t2 + t3 + t4"
sem_case("growth_basis", "Demo.growth", basis.model, "growth(model, data = Demo.growth)", growth(basis.model, data = dg))

# Orthogonal factors by fixed zero covariances, a single-indicator factor
# with a fixed residual variance, and user intercepts/means.
orth.model <- paste("visual =~ x1 + x2 + x3", "textual =~ x4 + x5 + x6", "speed =~ x7 + x8 + x9", "age =~ ageyr",
                    "ageyr ~~ 0.1*ageyr", "visual ~~ 0*speed", "textual ~~ 0*speed", sep = "\n")
sem_case("hs_cfa_orthogonal", "HolzingerSwineford1939", orth.model, "cfa(model, data = HolzingerSwineford1939)",
         cfa(orth.model, data = hs))

# ---- MLR (robust Huber-White SEs, Yuan-Bentler-Mplus scaled test) ----------
# estimator = "MLR" also sets meanstructure = TRUE, information = "observed"
# (Hessian) and h1.information = "structured" for the sandwich's meat.
sem_case("hs_cfa_mlr", "HolzingerSwineford1939", HS.model,
         "cfa(HS.model, data = HolzingerSwineford1939, estimator = \"MLR\")",
         cfa(HS.model, data = hs, estimator = "MLR"))
sem_case("poldem_sem_mlr", "PoliticalDemocracy", pd.model, "sem(model, data = PoliticalDemocracy, estimator = \"MLR\")",
         sem(pd.model, data = pd, estimator = "MLR"))
sem_case("hs_mg_metric_mlr", "HolzingerSwineford1939", HS.model,
         "cfa(HS.model, data = HolzingerSwineford1939, group = \"school\", group.equal = \"loadings\", estimator = \"MLR\")",
         cfa(HS.model, data = hs, group = "school", group.equal = "loadings", estimator = "MLR"),
         list(group_equal = I("loadings")))

# ---- descriptives (psych) ----------------------------------------------------

items <- names(bfi)[1:25]
d <- psych::describe(bfi[, items])
freq <- lapply(items, function(it) {
  t <- table(bfi[[it]])
  list(item = it, values = as.numeric(names(t)), counts = as.integer(t), missing = sum(is.na(bfi[[it]])))
})
write_case(list(case = "describe_bfi", dataset = "bfi", r_call = "psych::describe(bfi[, 1:25]); table(bfi[[item]])",
  package_versions = vers, note = "psych type 3 skew/kurtosis (b1, b2 - 3 from moments with divisor n), sd with divisor n-1, per-item available cases",
  items = data.frame(item = items, n = d$n, mean = d$mean, sd = d$sd, median = d$median, min = d$min, max = d$max,
                     range = d$range, skew = d$skew, kurtosis = d$kurtosis, se = d$se),
  frequencies = freq))

cat("done\n")
