# make_robust_exo_refs.R — reference values for robust inference with
# fixed.x covariates (observed exogenous variables: lavaan's fixed.x =
# TRUE) on complete data, read by tests/test_reference_sem.c like every
# other SEM case:
#   hs_mlr_exo        sem(model, estimator = "MLR")
#   hs_mlr_exo_mg     the same with group = "school"
#   hs_weighted_exo   sem(model, sampling.weights = "w") (the weights of
#                     make_weights_refs.R: w = 0.5 + (id mod 7) / 4)
# with model: two factors regressed on ageyr and sex (two covariates, so
# their covariance is fixed too).
#
# What lavaan 0.6.14 does with the covariates there: their means,
# variances and covariance are fixed at the sample values; the scores of
# those moments are zeroed (lav_mvnorm_scores_mu_vech_sigma(x.idx)), and
# the unstructured h1 informations of the Yuan-Bentler (Mplus) test drop
# their rows (h1.ndat smaller); unweighted, B1 = A1 Gamma A1 with Gamma
# conditional on the covariates (lav_samplestats_Gamma(fixed.x = TRUE)).
#
# Optimizer: ageyr (mean 13) makes the intercepts and the slopes on it
# nearly collinear; as make_fiml_refs.R, BFGS with reltol 1e-16 and
# optim.parscale = "standardized" reach the optimum.
#
# The helpers (sem_case, write_case, ...) are make_refs.R's own, taken from
# its parsed source (function definitions only) so there is one copy.
# Usage: Rscript scripts/make_robust_exo_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")

for (e in parse(file.path(here, "make_refs.R"))) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && is.call(e[[3]]) &&
      identical(e[[3]][[1]], as.name("function")))
    eval(e, globalenv())
}
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."),
             lavaan = as.character(packageVersion("lavaan")),
             jsonlite = as.character(packageVersion("jsonlite")))

tight <- list(optim.method = "BFGS", control = list(reltol = 1e-16, maxit = 10000L),
              optim.parscale = "standardized")
hs <- read.csv(file.path(data_dir, "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
hs$w <- 0.5 + (hs$id %% 7) / 4
model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + sex\ntextual ~ ageyr"
fit_model <- function(...) do.call("sem", c(list(model, data = hs, ...), tight))

sem_case("hs_mlr_exo", "HolzingerSwineford1939", model,
         "sem(model, data = HolzingerSwineford1939, estimator = \"MLR\")", fit_model(estimator = "MLR"))
sem_case("hs_mlr_exo_mg", "HolzingerSwineford1939", model,
         "sem(model, data = HolzingerSwineford1939, estimator = \"MLR\", group = \"school\")",
         fit_model(estimator = "MLR", group = "school"))
f <- fit_model(sampling.weights = "w")
stopifnot(lavInspect(f, "options")$se == "robust.huber.white")
sem_case("hs_weighted_exo", "HolzingerSwineford1939_weighted", model,
         "sem(model, data = hs, sampling.weights = \"w\")  # hs$w <- 0.5 + (hs$id %% 7) / 4", f)
cat("done\n")
