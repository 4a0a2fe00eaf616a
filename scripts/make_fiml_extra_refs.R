# make_fiml_extra_refs.R — more reference values for `missing = fiml`
# (lavaan's missing = "ml"), read by tests/test_reference_sem.c:
#   hs_fiml_modindices  modindices() of cfa(HS.model, missing = "ml"):
#                       lavaan's default information = "expected" (the
#                       expected information summed over missing patterns
#                       at the implied moments) and the gradient of the
#                       FIML loglikelihood, as for complete data
#   hs_fiml_mg_mlr      cfa(HS.model, missing = "ml", estimator = "MLR",
#                       group = "school"): robust SEs and test with two
#                       groups (q > p + p(p+1)/2)
# The data (datasets/HolzingerSwineford1939_missing.csv) and the helpers
# (fiml_case, tight settings) are make_fiml_refs.R's, its function
# definitions taken from its parsed source; sem_modindices is make_refs.R's.
# Usage: Rscript scripts/make_fiml_extra_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
for (src in c("make_refs.R", "make_fiml_refs.R"))
  for (e in parse(file.path(here, src))) {
    if (is.call(e) && identical(e[[1]], as.name("<-")) && is.call(e[[3]]) &&
        identical(e[[3]][[1]], as.name("function")))
      eval(e, globalenv())
  }
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."),
             lavaan = as.character(packageVersion("lavaan")))
tight <- list(em.h1.tol = 1e-14, em.h1.iter.max = 100000L, optim.method = "BFGS",
              control = list(reltol = 1e-16, maxit = 10000L))
fit_tight <- function(fun, model, data, ...) do.call(fun, c(list(model, data = data, missing = "ml", ...), tight))

hsm <- read.csv(file.path(repo, "datasets", "HolzingerSwineford1939_missing.csv"), stringsAsFactors = FALSE)
HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

f <- fit_tight("cfa", HS.model, hsm)
fiml_case("hs_fiml_modindices", "HolzingerSwineford1939_missing", HS.model,
          "modindices(cfa(HS.model, data = hs_missing, missing = \"ml\"))", f)
# fiml_case writes no modindices: add them to its JSON
path <- file.path(out_dir, "hs_fiml_modindices.json")
x <- fromJSON(path, simplifyVector = FALSE)
x$modindices <- sem_modindices(f)
writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)

fiml_case("hs_fiml_mg_mlr", "HolzingerSwineford1939_missing", HS.model,
          "cfa(HS.model, data = hs_missing, missing = \"ml\", estimator = \"MLR\", group = \"school\")",
          fit_tight("cfa", HS.model, hsm, estimator = "MLR", group = "school"))
cat("done\n")

