# make_fiml_boot_refs.R — reference for `bootstrap` with `missing = fiml`
# (tests/test_fiml.c): lavaan's se = "bootstrap" with missing = "ml"
# (ordinary bootstrap of rows, each replicate a FIML fit) on
# datasets/HolzingerSwineford1939_missing.csv, written to
# tests/reference/hs_fiml_bootstrap.json.  B = 200: each lavaan FIML
# replicate costs ~0.5 s of CPU here (B = 1000 would take ~10 minutes on
# an idle core); cxfit's B = 1000 Poisson replicates are another Monte
# Carlo draw of the same SEs, so the test allows 20 % (see test_fiml.c).
# Usage: Rscript scripts/make_fiml_boot_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
hsm <- read.csv(file.path(repo, "datasets", "HolzingerSwineford1939_missing.csv"), stringsAsFactors = FALSE)
HS.model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
B <- 200L
set.seed(20261202)
t0 <- proc.time()
fb <- cfa(HS.model, data = hsm, missing = "ml", se = "bootstrap", bootstrap = B)
cpu <- sum((proc.time() - t0)[c("user.self", "sys.self")])
pe <- parameterEstimates(fb)
boot <- lavInspect(fb, "boot")
path <- file.path(out_dir, "hs_fiml_bootstrap.json")
writeLines(toJSON(list(
  case = "hs_fiml_bootstrap", lavaan = as.character(packageVersion("lavaan")),
  r_call = "cfa(HS.model, data = hs_missing, missing = \"ml\", se = \"bootstrap\", bootstrap = 200)",
  B = B, replicates_ok = nrow(boot), cpu_seconds = cpu,
  estimates = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se)),
  digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
