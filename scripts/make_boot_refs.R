# make_boot_refs.R — reference values for bootstrap and validation of
# cfa (tests/test_sem_onepass.c):
#   hs_cfa_bootstrap.json   lavaan's se = "bootstrap" (B = 1000, ordinary
#                           nonparametric bootstrap of rows) SEs and the
#                           wall time of the fit, for the Monte Carlo check;
#   hs_cfa_holdout.json     the out-of-sample metrics of docs/models/cfa.md
#                           computed here by hand from lavaan's training
#                           fit (rows with school != Pasteur) and the
#                           held-out rows (school == Pasteur).
# Usage: Rscript scripts/make_boot_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}
hs <- read.csv(file.path(data_dir, "HolzingerSwineford1939.csv"), stringsAsFactors = FALSE)
model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

# ---- bootstrap ------------------------------------------------------------
set.seed(20261202)
t0 <- proc.time()[["elapsed"]]
fb <- cfa(model, data = hs, se = "bootstrap", bootstrap = 1000)
seconds <- proc.time()[["elapsed"]] - t0
pe <- parameterEstimates(fb, boot.ci.type = "perc")
boot <- lavInspect(fb, "boot")
write_case(list(
  case = "hs_cfa_bootstrap", lavaan = as.character(packageVersion("lavaan")),
  B = 1000, replicates_ok = nrow(boot), seconds = seconds,
  estimates = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se,
                         ci_lower = pe$ci.lower, ci_upper = pe$ci.upper)))

# ---- holdout validation ---------------------------------------------------
train <- hs[hs$school != "Pasteur", ]
test <- hs[hs$school == "Pasteur", ]
ft <- cfa(model, data = train)
ov <- lavNames(ft, "ov")
Sigma <- fitted(ft)$cov[ov, ov]
Xte <- as.matrix(test[, ov]); Xtr <- as.matrix(train[, ov])
N <- nrow(Xte); p <- length(ov)
S <- cov(Xte) * (N - 1) / N
m <- colMeans(Xte); mu <- colMeans(Xtr)   # no mean structure: training means
Si <- solve(Sigma); d <- m - mu
ld <- as.numeric(determinant(Sigma)$modulus); lds <- as.numeric(determinant(S)$modulus)
tr <- sum(diag(S %*% Si))
loglik <- -0.5 * (p * log(2 * pi) + ld + tr + drop(t(d) %*% Si %*% d))
chisq <- N * (ld + tr - lds - p)
df <- fitMeasures(ft, "df"); bdf <- fitMeasures(ft, "baseline.df")
rmsea <- sqrt(max(0, (chisq - df) / (df * N)))
R <- (S - Sigma) / sqrt(outer(diag(S), diag(S)))
srmr <- sqrt(mean(R[lower.tri(R, diag = TRUE)]^2))
Str <- cov(Xtr) * (nrow(Xtr) - 1) / nrow(Xtr)
vb <- diag(Str)
chisq_b <- N * (sum(log(vb)) + sum(diag(S) / vb) - lds - p)
cfi <- 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - bdf, 0)
write_case(list(
  case = "hs_cfa_holdout", lavaan = as.character(packageVersion("lavaan")),
  holdout = "school == Pasteur",
  metrics = list(n_train = nrow(Xtr), n_test = N, loglik_per_row = loglik, chisq = chisq,
                 rmsea = rmsea, srmr = srmr, cfi = cfi)))
