# make_ordinal_refs.R — reference values for ordinal items (lavaan's
# ordered = ..., estimator = "WLSMV"): tests/reference/<case>.json.
#
# Usage: Rscript scripts/make_ordinal_refs.R [DATA_DIR] [OUT_DIR]
# (same arguments and data as make_refs.R).  Besides the usual SEM sections
# (estimates, fit, r2, nobs) every case records lavaan's sample statistics
# of the ordinal items (lavInspect(fit, "sampstat"): thresholds and the
# polychoric correlation matrix per group) and the diagonal of Gamma
# (lavInspect(fit, "gamma"), NACOV), the weights DWLS uses.
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })

args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."), lavaan = as.character(packageVersion("lavaan")))

write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}

sem_estimates <- function(f) {
  pe <- parameterEstimates(f, standardized = TRUE)
  pe$group <- if (is.null(pe$group) || lavInspect(f, "ngroups") == 1) 0L else as.integer(pe$group)
  names(pe)[match(c("ci.lower", "ci.upper", "std.lv", "std.all"), names(pe))] <- c("ci_lower", "ci_upper", "std_lv", "std_all")
  cols <- c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all")
  pe <- pe[, intersect(cols, names(pe))]
  rownames(pe) <- NULL
  pe
}

sem_r2 <- function(f) {
  r2 <- lavInspect(f, "r2")
  if (lavInspect(f, "ngroups") == 1) r2 <- list(r2)
  lapply(r2, function(v) as.list(unclass(v)))
}

# Thresholds (named "item|tk"), polychorics and diag(Gamma) per group.
ordinal_sampstat <- function(f) {
  ss <- lavInspect(f, "sampstat")
  gm <- lavInspect(f, "gamma")
  if (lavInspect(f, "ngroups") == 1) { ss <- list(ss); gm <- list(gm) }
  lapply(seq_along(ss), function(g) list(
    th_names = I(names(ss[[g]]$th)), th = I(as.numeric(ss[[g]]$th)),
    ov_names = I(rownames(ss[[g]]$cov)), polychoric = unname(unclass(ss[[g]]$cov)),
    gamma_diag = I(as.numeric(diag(gm[[g]])))))
}

ordinal_case <- function(case, model, r_call, f) {
  write_case(list(case = case, dataset = "bfi", model = model, r_call = r_call, package_versions = vers,
                  converged = lavInspect(f, "converged"),
                  nobs = sum(lavInspect(f, "nobs")),
                  nobs_per_group = I(as.integer(lavInspect(f, "nobs"))),
                  group_labels = I(as.character(lavInspect(f, "group.label"))),
                  estimates = sem_estimates(f),
                  fit = as.list(unclass(fitMeasures(f))),
                  r2 = sem_r2(f), ordinal = ordinal_sampstat(f)))
}

bfi <- read.csv(file.path(data_dir, "bfi.csv"), stringsAsFactors = FALSE)
items <- c(paste0("A", 1:5), paste0("C", 1:5))
model2 <- "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"

f <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV")
ordinal_case("bfi_wlsmv", model2, "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\")", f)

f1 <- cfa("agree =~ A1 + A2 + A3 + A4 + A5", data = bfi, ordered = items[1:5], estimator = "WLSMV", std.lv = TRUE)
ordinal_case("bfi_wlsmv_stdlv", "agree =~ A1 + A2 + A3 + A4 + A5",
             "cfa(model, data = bfi, ordered = c(A1..A5), estimator = \"WLSMV\", std.lv = TRUE)", f1)

# A structural regression between the two factors (sem()).
model3 <- paste(model2, "agree ~ consc", sep = "\n")
fs <- sem(model3, data = bfi, ordered = items, estimator = "WLSMV")
ordinal_case("bfi_wlsmv_sem", model3, "sem(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\")", fs)

fg <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender")
ordinal_case("bfi_wlsmv_mg", model2,
             "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\")", fg)
fgm <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender",
           group.equal = c("thresholds", "loadings"))
ordinal_case("bfi_wlsmv_mg_metric", model2,
             "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", group.equal = c(\"thresholds\", \"loadings\"))", fgm)

# Other group.equal sets lavaan accepts for ordered items (delta
# parameterization): loadings only (thresholds free, scale factors 1,
# latent means 0); thresholds only (scale factors and latent means free in
# group 2); thresholds + loadings + means (latent means equal, i.e. 0).
mg_case <- function(case, eq) {
  f <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender", group.equal = eq)
  ordinal_case(case, model2,
               paste0("cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", group.equal = c(",
                      paste0("\"", eq, "\"", collapse = ", "), "))"), f)
  f
}
f_load <- mg_case("bfi_wlsmv_mg_loadings", "loadings")
f_thr <- mg_case("bfi_wlsmv_mg_thresholds", "thresholds")
f_means <- mg_case("bfi_wlsmv_mg_means", c("thresholds", "loadings", "means"))

# The invariance sequence of ordered items as cxfit's `invariance =
# configural metric scalar means` runs it: lavTestLRT() of the four fits
# (for WLSMV its default, method = "satorra.2000" with A.method = "delta"
# and scaled.shifted = TRUE: "Chisq diff" is the scaled-shifted statistic,
# its attributes "scale" and "shift" the a and b; no RMSEA column, AIC and
# BIC NA), with fitMeasures() per step, standard and scaled.
inv_sets <- list(configural = character(0), metric = "loadings", scalar = c("loadings", "thresholds"),
                 means = c("loadings", "thresholds", "means"))
inv_fits <- list(configural = fg, metric = f_load, scalar = fgm, means = f_means)
fm_names <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
              "chisq.scaled", "pvalue.scaled", "cfi.scaled", "tli.scaled", "rmsea.scaled")
num <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) NA else unname(x)
ordinal_invariance_case <- function(case, fits, sets, r_call) {
  lrt <- do.call(lavTestLRT, unname(fits))
  fm <- lapply(fits, function(m) fitMeasures(m, fm_names))
  delta <- function(i, what) if (i == 1) NA else unname(fm[[i]][what] - fm[[i - 1]][what])
  steps <- names(fits)
  write_case(list(case = case, dataset = "bfi", model = model2, r_call = r_call,
    package_versions = vers, group_labels = I(as.character(lavInspect(fits[[1]], "group.label"))),
    steps = lapply(seq_along(steps), function(i) list(
      step = steps[i], group_equal = I(sets[[steps[i]]]),
      npar = num(fm[[i]]["npar"]), chisq = num(fm[[i]]["chisq"]), df = num(fm[[i]]["df"]),
      model_pvalue = num(fm[[i]]["pvalue"]), cfi = num(fm[[i]]["cfi"]), tli = num(fm[[i]]["tli"]),
      rmsea = num(fm[[i]]["rmsea"]), rmsea_ci_lower = num(fm[[i]]["rmsea.ci.lower"]),
      rmsea_ci_upper = num(fm[[i]]["rmsea.ci.upper"]), srmr = num(fm[[i]]["srmr"]),
      aic = num(lrt$AIC[i]), bic = num(lrt$BIC[i]),
      chisq_diff = num(lrt[["Chisq diff"]][i]), df_diff = num(lrt[["Df diff"]][i]),
      pvalue = num(lrt[["Pr(>Chisq)"]][i]), rmsea_d = NA,
      delta_cfi = delta(i, "cfi"), delta_rmsea = delta(i, "rmsea"),
      chisq_scaled = num(fm[[i]]["chisq.scaled"]), pvalue_scaled = num(fm[[i]]["pvalue.scaled"]),
      cfi_scaled = num(fm[[i]]["cfi.scaled"]), tli_scaled = num(fm[[i]]["tli.scaled"]),
      rmsea_scaled = num(fm[[i]]["rmsea.scaled"]),
      diff_scale = num(attr(lrt, "scale")[i]), diff_shift = num(attr(lrt, "shift")[i]),
      delta_cfi_scaled = delta(i, "cfi.scaled"), delta_rmsea_scaled = delta(i, "rmsea.scaled")))))
}
ordinal_invariance_case("bfi_wlsmv_invariance", inv_fits, inv_sets,
  "lavTestLRT(configural, metric, scalar, means) of cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", group.equal = ...)")

# parameterization = "theta": the residual variances of y* are the
# parameters (1 in group 1; free in groups 2..G with equal thresholds) and
# the scale factors follow from them.
ft <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", parameterization = "theta")
ordinal_case("bfi_wlsmv_theta", model2,
             "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", parameterization = \"theta\")", ft)
theta_case <- function(case, eq) {
  f <- if (length(eq)) cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender",
                           group.equal = eq, parameterization = "theta")
       else cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender", parameterization = "theta")
  ordinal_case(case, model2,
               paste0("cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", parameterization = \"theta\"",
                      if (length(eq)) paste0(", group.equal = c(", paste0("\"", eq, "\"", collapse = ", "), ")") else "", ")"), f)
  f
}
th_sets <- list(configural = character(0), metric = "loadings", scalar = c("loadings", "thresholds"),
                strict = c("loadings", "thresholds", "residuals"))
th_fits <- list(configural = theta_case("bfi_wlsmv_mg_theta", character(0)),
                metric = theta_case("bfi_wlsmv_mg_loadings_theta", "loadings"),
                scalar = theta_case("bfi_wlsmv_mg_metric_theta", c("loadings", "thresholds")),
                strict = theta_case("bfi_wlsmv_mg_strict_theta", c("loadings", "thresholds", "residuals")))

# Structural equalities with ordered items: latent variances and
# covariances (on top of thresholds and loadings), and the regression of
# a structural model.
f_lv <- mg_case("bfi_wlsmv_mg_lv", c("thresholds", "loadings", "lv.variances", "lv.covariances"))
f_reg <- sem(model3, data = bfi, ordered = items, estimator = "WLSMV", group = "gender",
             group.equal = c("thresholds", "loadings", "regressions"))
ordinal_case("bfi_wlsmv_mg_regressions", model3,
             "sem(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", group.equal = c(\"thresholds\", \"loadings\", \"regressions\"))", f_reg)

# cxfit's `invariance = configural metric scalar strict means` with
# parameterization = theta (strict: residual variances equal, i.e. 1),
# the sequence continued with latent means (semTools' strict = TRUE
# order: means after strict keep the residuals equal).
th_means_set <- c("loadings", "thresholds", "residuals", "means")
th_fits5 <- c(th_fits, list(means = theta_case("bfi_wlsmv_mg_strict_means_theta", th_means_set)))
ordinal_invariance_case("bfi_wlsmv_invariance_theta", th_fits5, c(th_sets, list(means = th_means_set)),
  "lavTestLRT(configural, metric, scalar, strict, means) of cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", parameterization = \"theta\", group.equal = ...)")

# Residual covariances of items held equal (delta and theta).
model4 <- paste(model2, "C1 ~~ C2", "A1 ~~ A2", sep = "\n")
for (par in c("delta", "theta")) {
  f_rc <- cfa(model4, data = bfi, ordered = items, estimator = "WLSMV", group = "gender", parameterization = par,
              group.equal = c("thresholds", "loadings", "residual.covariances"))
  ordinal_case(paste0("bfi_wlsmv_mg_rescov", if (par == "theta") "_theta" else ""), model4,
               paste0("cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", parameterization = \"", par,
                      "\", group.equal = c(\"thresholds\", \"loadings\", \"residual.covariances\"))  # C1 ~~ C2, A1 ~~ A2"), f_rc)
}
