# make_fiml_refs.R — reference values for `missing = fiml` (lavaan's
# missing = "ml"): tests/reference/<case>.json, compared end to end by
# tests/test_reference_sem.c with configs/reference/<case>.ini.
#
# Usage: Rscript scripts/make_fiml_refs.R [DATA_DIR] [OUT_DIR]
#   DATA_DIR  the shared CSVs (default ../shared/reference/data)
#   OUT_DIR   default tests/reference
#
# Data: HolzingerSwineford1939 and Demo.growth with cells removed at random
# (each cell of the model's variables independently with probability 0.1,
# seeded), written to datasets/<name>_missing.csv; scripts/make_datasets.sh
# imports them into datasets/<name>_missing.h5 (`cxfit import`), so R and
# cxfit read the same numbers.
#
# Tolerances: lavaan's defaults stop the saturated model's EM at
# em.h1.tol = 1e-5, which moves the h1 loglikelihood (so chi-square and
# every fit measure) by ~1e-5 relative; the references use
# em.h1.tol = 1e-14.  nlminb with a tighter rel.tol reports false
# convergence on these fits, so the optimizer is BFGS with reltol = 1e-16
# (its fmin is 5e-13 below nlminb's default stop).
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })

args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."),
             lavaan = as.character(packageVersion("lavaan")))

# Remove cells at random (probability `prob`, seeded); no row left empty.
punch <- function(d, vars, prob, seed) {
  set.seed(seed)
  for (v in vars) d[[v]][runif(nrow(d)) < prob] <- NA
  stopifnot(all(rowSums(!is.na(d[, vars])) > 0))
  d
}

write_data <- function(d, name) {
  path <- file.path(repo, "datasets", paste0(name, ".csv"))
  write.csv(d, path, row.names = FALSE, na = "")
  cat("wrote", path, "\n")
}

tight <- list(em.h1.tol = 1e-14, em.h1.iter.max = 100000L, optim.method = "BFGS",
              control = list(reltol = 1e-16, maxit = 10000L))

# Fit measures cxfit reports with missing = fiml: all of fitMeasures()
# except the "robust" ML measures lavaan adds for missing data
# (cfi/tli/nnfi/rni/rmsea.*.robust, Savalei's corrections) and gfi, agfi,
# pgfi (lavaan weighs its available-case "sample" moments there), which
# cxfit does not report with missing = fiml (not designed yet).
fiml_measures <- function(f) {
  fm <- unclass(fitMeasures(f))
  keep <- !grepl("robust", names(fm)) & !names(fm) %in% c("gfi", "agfi", "pgfi")
  as.list(fm[keep])
}

fiml_case <- function(case, dataset, model, r_call, f) {
  pe <- parameterEstimates(f, standardized = TRUE)
  ng <- lavInspect(f, "ngroups")
  pe$group <- if (is.null(pe$group) || ng == 1) 0L else as.integer(pe$group)
  names(pe)[match(c("ci.lower", "ci.upper", "std.lv", "std.all"), names(pe))] <- c("ci_lower", "ci_upper", "std_lv", "std_all")
  pe <- pe[, intersect(c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all"), names(pe))]
  r2 <- lavInspect(f, "r2")
  r2 <- if (ng == 1) list(as.list(unclass(r2))) else lapply(r2, function(v) as.list(unclass(v)))
  # coverage: one p x p matrix per group; the EM moments (single group)
  cov <- lavInspect(f, "coverage")
  cov <- if (ng == 1) list(unname(unclass(cov))) else unname(lapply(cov, function(m) unname(unclass(m))))
  h1 <- lavInspect(f, "sampstat.h1")
  if (ng > 1) h1 <- list(cov = NULL, mean = NULL)
  x <- list(case = case, dataset = dataset, model = model, r_call = r_call, package_versions = vers,
            converged = lavInspect(f, "converged"),
            nobs = sum(lavInspect(f, "nobs")), nobs_per_group = I(as.integer(lavInspect(f, "nobs"))),
            group_labels = I(as.character(lavInspect(f, "group.label"))), estimates = pe,
            fit = fiml_measures(f), r2 = r2, ov_names = I(lavNames(f, "ov")), coverage = cov,
            h1_cov = unname(unclass(h1$cov)), h1_mean = as.numeric(h1$mean))
  path <- file.path(out_dir, paste0(case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}

fit_tight <- function(fun, model, data, ...) do.call(fun, c(list(model, data = data, missing = "ml", ...), tight))

# ---- HolzingerSwineford1939 ---------------------------------------------
hs <- read.csv(file.path(data_dir, "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
hsm <- punch(hs, paste0("x", 1:9), 0.1, 17)
write_data(hsm, "HolzingerSwineford1939_missing")
HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
fiml_case("hs_fiml_cfa", "HolzingerSwineford1939_missing", HS.model,
          "cfa(HS.model, data = hs_missing, missing = \"ml\")", fit_tight("cfa", HS.model, hsm))
sem.model <- paste(HS.model, "speed ~ visual", sep = "\n")
fiml_case("hs_fiml_sem", "HolzingerSwineford1939_missing", sem.model,
          "sem(model, data = hs_missing, missing = \"ml\")", fit_tight("sem", sem.model, hsm))
fiml_case("hs_fiml_stdlv", "HolzingerSwineford1939_missing", HS.model,
          "cfa(HS.model, data = hs_missing, missing = \"ml\", std.lv = TRUE)",
          fit_tight("cfa", HS.model, hsm, std.lv = TRUE))

fiml_case("hs_fiml_mg", "HolzingerSwineford1939_missing", HS.model,
          "cfa(HS.model, data = hs_missing, missing = \"ml\", group = \"school\", group.equal = \"loadings\")",
          fit_tight("cfa", HS.model, hsm, group = "school", group.equal = "loadings"))

# ---- Demo.growth ------------------------------------------------------------
dg <- read.csv(file.path(data_dir, "Demo.growth.csv"), stringsAsFactors = FALSE)
dgm <- punch(dg, paste0("t", 1:4), 0.1, 18)
write_data(dgm, "Demo.growth_missing")
g.model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4\ns =~ 0*t1 + 1*t2 + 2*t3 + 3*t4"
fiml_case("growth_fiml", "Demo.growth_missing", g.model,
          "growth(model, data = Demo.growth_missing, missing = \"ml\")", fit_tight("growth", g.model, dgm))

# ---- MLR + FIML: robust (Huber-White) SEs, Yuan-Bentler (Mplus) test -----
fiml_case("hs_fiml_mlr", "HolzingerSwineford1939_missing", HS.model,
          "cfa(HS.model, data = hs_missing, missing = \"ml\", estimator = \"MLR\")",
          fit_tight("cfa", HS.model, hsm, estimator = "MLR"))
fiml_case("hs_fiml_sem_mlr", "HolzingerSwineford1939_missing", sem.model,
          "sem(model, data = hs_missing, missing = \"ml\", estimator = \"MLR\")",
          fit_tight("sem", sem.model, hsm, estimator = "MLR"))

# ---- fixed.x covariate: ageyr (observed, exogenous, no missing cells) -------
# lavaan fixes the covariate's mean and variance at their sample values
# and leaves it out of the baseline's independence part (fixed.x = TRUE).
# ageyr (mean 13, variance 1.1) makes the intercepts and the slopes on it
# nearly collinear: with the settings above BFGS stops 2.3e-10 above the
# optimum in chi-square and the slopes ~1e-6 away (nlminb with a tighter
# rel.tol reports false convergence).  optim.parscale = "standardized"
# rescales the parameters and BFGS then reaches the optimum (chi-square
# within 3e-13 of cxfit's; 7 s, lavaan's defaults take 1 s).
exo.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr\ntextual ~ ageyr"
fiml_case("hs_fiml_exo", "HolzingerSwineford1939_missing", exo.model,
          "sem(model, data = hs_missing, missing = \"ml\")",
          fit_tight("sem", exo.model, hsm, optim.parscale = "standardized"))
# The same with two groups (the covariate's moments fixed per group), and
# with ageyr missing in 5% of the rows: lavaan deletes those rows
# (fixed.x = TRUE), so nobs is 286.
fiml_case("hs_fiml_exo_mg", "HolzingerSwineford1939_missing", exo.model,
          "sem(model, data = hs_missing, missing = \"ml\", group = \"school\")",
          fit_tight("sem", exo.model, hsm, group = "school", optim.parscale = "standardized"))
set.seed(19)
hsx <- hsm
hsx$ageyr[runif(nrow(hsx)) < 0.05] <- NA
write_data(hsx, "HolzingerSwineford1939_missing_x")
fiml_case("hs_fiml_exo_missx", "HolzingerSwineford1939_missing_x", exo.model,
          "sem(model, data = hs_missing_x, missing = \"ml\")",
          fit_tight("sem", exo.model, hsx, optim.parscale = "standardized"))
