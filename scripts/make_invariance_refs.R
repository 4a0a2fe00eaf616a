# make_invariance_refs.R — reference values for `invariance` with robust
# (MLR, sampling weights) and FIML fits: lavTestLRT() of the sequence of
# cfa(HS.model, group = "school", group.equal = ...) fits, with
# fitMeasures() per step, read by tests/test_invariance.c as the
# hs_invariance case of make_refs.R is.
#
#   hs_invariance_mlr        estimator = "MLR", complete data
#   hs_invariance_weighted   sampling.weights = "w" (the weights of
#                            make_weights_refs.R: w = 0.5 + (id mod 7) / 4)
#   hs_invariance_fiml       missing = "ml" (HolzingerSwineford1939_missing
#                            of make_fiml_refs.R)
#   hs_invariance_fiml_mlr   missing = "ml", estimator = "MLR"
#
# With scaled tests (MLR, sampling weights: test = "yuan.bentler.mplus")
# lavTestLRT()'s default method is "satorra.bentler.2001": its "Chisq
# diff" is the scaled difference T_d = (T0 - T1) / c_d with
# c_d = (r0 c0 - r1 c1) / (r0 - r1), and it has no RMSEA column (lavaan
# 0.6.14), so rmsea_d is null there.  scaling_diff is c_d, taken from
# lavaan:::lav_test_diff_SatorraBentler2001() itself; chisq_scaled and
# scaling_factor are fitMeasures()' chisq.scaled and chisq.scaling.factor.
#
# Every fit uses make_fiml_refs.R's tight settings (EM h1 to 1e-14, BFGS
# reltol 1e-16), so lavaan's stopping point does not limit the comparison:
# with nlminb's defaults the scaling factors of the steps carry ~1e-7 of
# optimizer error, and c_d = (r0 c0 - r1 c1) / (r0 - r1) amplifies it ~10
# times (r0 / (r0 - r1)), to 7e-6 in T_d.
#
# Usage: Rscript scripts/make_invariance_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."),
             lavaan = as.character(packageVersion("lavaan")),
             jsonlite = as.character(packageVersion("jsonlite")))

write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}

HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
equal_sets <- list(configural = character(0), metric = "loadings", scalar = c("loadings", "intercepts"),
                   strict = c("loadings", "intercepts", "residuals"))
tight <- list(em.h1.tol = 1e-14, em.h1.iter.max = 100000L, optim.method = "BFGS",
              control = list(reltol = 1e-16, maxit = 10000L))

fm_names <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "srmr", "chisq.scaled", "chisq.scaling.factor")
fm_value <- function(fm, name) if (name %in% names(fm)) unname(fm[[name]]) else NA

invariance_case <- function(case, dataset, r_call, fits) {
  lrt <- do.call(lavTestLRT, unname(fits))
  scaled <- "chisq.scaling.factor" %in% names(fitMeasures(fits[[1]]))
  fm <- lapply(fits, function(m) { x <- fitMeasures(m); x[intersect(fm_names, names(x))] })
  steps <- names(fits)
  stopifnot(all(diff(sapply(fits, function(m) fitMeasures(m, "df"))) > 0))  # already in lavTestLRT()'s order
  write_case(list(case = case, dataset = dataset, model = HS.model, r_call = r_call, package_versions = vers,
    method = if (scaled) "satorra.bentler.2001" else "standard",
    group_labels = I(as.character(lavInspect(fits[[1]], "group.label"))),
    steps = lapply(seq_along(steps), function(i) list(
      step = steps[i], group_equal = I(equal_sets[[steps[i]]]),
      converged = lavInspect(fits[[i]], "converged"),
      npar = fm_value(fm[[i]], "npar"),
      chisq = fm_value(fm[[i]], "chisq"), df = fm_value(fm[[i]], "df"),
      model_pvalue = fm_value(fm[[i]], "pvalue"),
      cfi = fm_value(fm[[i]], "cfi"), tli = fm_value(fm[[i]], "tli"), rmsea = fm_value(fm[[i]], "rmsea"),
      rmsea_ci_lower = fm_value(fm[[i]], "rmsea.ci.lower"), rmsea_ci_upper = fm_value(fm[[i]], "rmsea.ci.upper"),
      srmr = fm_value(fm[[i]], "srmr"),
      chisq_scaled = fm_value(fm[[i]], "chisq.scaled"),
      scaling_factor = fm_value(fm[[i]], "chisq.scaling.factor"),
      aic = lrt$AIC[i], bic = lrt$BIC[i],
      chisq_diff = lrt[["Chisq diff"]][i], df_diff = lrt[["Df diff"]][i], pvalue = lrt[["Pr(>Chisq)"]][i],
      rmsea_d = if ("RMSEA" %in% names(lrt)) lrt[["RMSEA"]][i] else NA,
      scaling_diff = if (i == 1 || !scaled) NA else
        lavaan:::lav_test_diff_SatorraBentler2001(fits[[i - 1]], fits[[i]])$scaling.factor,
      delta_cfi = if (i == 1) NA else unname(fm[[i]]["cfi"] - fm[[i - 1]]["cfi"]),
      delta_rmsea = if (i == 1) NA else unname(fm[[i]]["rmsea"] - fm[[i - 1]]["rmsea"]))))
  )
}

fit_steps <- function(data, ...) {
  lapply(equal_sets, function(eq)
    cfa(HS.model, data = data, group = "school", group.equal = if (length(eq) == 0) "" else eq, ...))
}
call_text <- function(data, extra)
  paste0("lavTestLRT(configural, metric, scalar, strict) of cfa(HS.model, data = ", data,
         ", group = \"school\", group.equal = ...", extra, ")")

hs <- read.csv(file.path(data_dir, "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
invariance_case("hs_invariance_mlr", "HolzingerSwineford1939", call_text("HolzingerSwineford1939", ", estimator = \"MLR\""),
                do.call(fit_steps, c(list(hs, estimator = "MLR"), tight)))

hs$w <- 0.5 + (hs$id %% 7) / 4
invariance_case("hs_invariance_weighted", "HolzingerSwineford1939_weighted",
                call_text("hs", ", sampling.weights = \"w\"  # hs$w <- 0.5 + (hs$id %% 7) / 4"),
                do.call(fit_steps, c(list(hs, sampling.weights = "w"), tight)))

hsm <- read.csv(file.path(repo, "datasets", "HolzingerSwineford1939_missing.csv"), stringsAsFactors = FALSE)
invariance_case("hs_invariance_fiml", "HolzingerSwineford1939_missing",
                call_text("hs_missing", ", missing = \"ml\""),
                do.call(fit_steps, c(list(hsm, missing = "ml"), tight)))
invariance_case("hs_invariance_fiml_mlr", "HolzingerSwineford1939_missing",
                call_text("hs_missing", ", missing = \"ml\", estimator = \"MLR\""),
                do.call(fit_steps, c(list(hsm, missing = "ml", estimator = "MLR"), tight)))
cat("done\n")
