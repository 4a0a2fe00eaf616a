# make_weights_refs.R — reference values for `weights` with cfa/sem
# (lavaan's sampling.weights; frequency weights as replicated rows), read
# by tests/test_reference_sem.c like every other SEM case:
#   datasets/HolzingerSwineford1939_weighted.csv  HolzingerSwineford1939
#       with two weight columns, functions of `id` so anyone can rebuild
#       them: w = 0.5 + (id mod 7) / 4 (survey weights 0.5 .. 2) and
#       fw = 1 + (id mod 3) (integer frequencies 1 .. 3).  Import it with
#       cxfit import ... datasets/HolzingerSwineford1939_weighted.h5 --table /data
#   hs_cfa_weighted.json     cfa(HS.model, sampling.weights = "w")
#   hs_mg_weighted.json      the same with group = "school"
#   hs_cfa_freqweighted.json cfa(HS.model) on the rows repeated fw times:
#                            what `weights_are = frequency` must equal;
#   hs_cfa_freqweighted_mlr  the same with estimator = "MLR".
# With sampling.weights lavaan 0.6.14 (lav_options.R) sets se =
# "robust.huber.white", test = "yuan.bentler.mplus", information =
# "observed" even for estimator = "ML"; the weights are normalized to sum
# to N over all groups (sampling.weights.normalization = "total").
#
# The helpers (sem_case, write_case, ...) are make_refs.R's own, taken from
# its parsed source (function definitions only) so there is one copy.
# Usage: Rscript scripts/make_weights_refs.R [DATA_DIR] [OUT_DIR]
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

hs <- read.csv(file.path(data_dir, "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
hs$w <- 0.5 + (hs$id %% 7) / 4
hs$fw <- 1 + (hs$id %% 3)
write.csv(hs, file.path(repo, "datasets", "HolzingerSwineford1939_weighted.csv"), row.names = FALSE)
HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

f <- cfa(HS.model, data = hs, sampling.weights = "w")
stopifnot(lavInspect(f, "options")$se == "robust.huber.white",
          lavInspect(f, "options")$test == "yuan.bentler.mplus")
sem_case("hs_cfa_weighted", "HolzingerSwineford1939_weighted", HS.model,
         "cfa(HS.model, data = hs, sampling.weights = \"w\")  # hs$w <- 0.5 + (hs$id %% 7) / 4", f)

f <- cfa(HS.model, data = hs, sampling.weights = "w", group = "school")
sem_case("hs_mg_weighted", "HolzingerSwineford1939_weighted", HS.model,
         "cfa(HS.model, data = hs, sampling.weights = \"w\", group = \"school\")", f)

rep_rows <- hs[rep(seq_len(nrow(hs)), hs$fw), ]
f <- cfa(HS.model, data = rep_rows)
sem_case("hs_cfa_freqweighted", "HolzingerSwineford1939_weighted", HS.model,
         "cfa(HS.model, data = hs[rep(seq_len(nrow(hs)), hs$fw), ])  # hs$fw <- 1 + (hs$id %% 3)", f)
f <- cfa(HS.model, data = rep_rows, estimator = "MLR")
sem_case("hs_cfa_freqweighted_mlr", "HolzingerSwineford1939_weighted", HS.model,
         "cfa(HS.model, data = hs[rep(seq_len(nrow(hs)), hs$fw), ], estimator = \"MLR\")", f)
cat("done\n")
