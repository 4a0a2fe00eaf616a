# make_fiml_holdout_refs.R — reference for `validate = holdout(...)` with
# `missing = fiml` (tests/test_fiml.c): the held-out metrics of
# docs/models/cfa.md ("Validation", missing = fiml) computed here row by
# row from lavaan's FIML fit of the training rows (school != Pasteur of
# datasets/HolzingerSwineford1939_missing.csv) and the held-out rows
# (school == Pasteur):
#   loglik_per_row  mean over held-out rows of log dmvnorm(x_o; mu_o, Sigma_oo)
#   chisq           2 sum_rows [log f_h1(x_o) - log f_model(x_o)], h1 the
#                   held-out rows' EM saturated moments (lavaan's
#                   lav_mvnorm_missing_h1_estimate_moments)
#   rmsea, srmr     as for complete data, srmr with the held-out EM moments
#   cfi             with the training rows' FIML independence model (each
#                   variable's mean and ML variance over its observed values)
# Usage: Rscript scripts/make_fiml_holdout_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
hsm <- read.csv(file.path(repo, "datasets", "HolzingerSwineford1939_missing.csv"), stringsAsFactors = FALSE)
model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
train <- hsm[hsm$school != "Pasteur", ]
test <- hsm[hsm$school == "Pasteur", ]
ft <- cfa(model, data = train, missing = "ml", em.h1.tol = 1e-14, em.h1.iter.max = 100000L,
          optim.method = "BFGS", control = list(reltol = 1e-16, maxit = 10000L))
ov <- lavNames(ft, "ov")
Sigma <- fitted(ft)$cov[ov, ov]; mu <- fitted(ft)$mean[ov]
X <- as.matrix(test[, ov]); Xtr <- as.matrix(train[, ov])
X <- X[rowSums(!is.na(X)) > 0, , drop = FALSE]
N <- nrow(X); p <- length(ov)
# log density of each row's observed part
logd <- function(X, m, S) sapply(seq_len(nrow(X)), function(i) {
  o <- !is.na(X[i, ]); x <- X[i, o] - m[o]; So <- S[o, o, drop = FALSE]
  -0.5 * (sum(o) * log(2 * pi) + as.numeric(determinant(So)$modulus) + drop(t(x) %*% solve(So, x)))
})
h1 <- lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = X, max.iter = 100000L, tol = 1e-14)
ll_model <- logd(X, mu, Sigma); ll_h1 <- logd(X, h1$Mu, h1$Sigma)
loglik <- mean(ll_model)
chisq <- 2 * sum(ll_h1 - ll_model)
df <- fitMeasures(ft, "df"); bdf <- fitMeasures(ft, "baseline.df")
rmsea <- sqrt(max(0, (chisq - df) / (df * N)))
S <- h1$Sigma; m <- h1$Mu
R <- (S - Sigma) / sqrt(outer(diag(S), diag(S)))
srmr <- sqrt(mean(c(R[lower.tri(R, diag = TRUE)], (m - mu) / sqrt(diag(S)))^2))
bm <- colMeans(Xtr, na.rm = TRUE)
bv <- sapply(seq_len(p), function(j) { x <- Xtr[!is.na(Xtr[, j]), j]; mean((x - mean(x))^2) })
chisq_b <- 2 * sum(ll_h1 - logd(X, bm, diag(bv)))
cfi <- 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - bdf, 0)
path <- file.path(out_dir, "hs_fiml_holdout.json")
writeLines(toJSON(list(
  case = "hs_fiml_holdout", lavaan = as.character(packageVersion("lavaan")),
  holdout = "school == Pasteur",
  metrics = list(n_train = sum(rowSums(!is.na(Xtr)) > 0), n_test = N, loglik_per_row = loglik,
                 chisq = chisq, rmsea = rmsea, srmr = srmr, cfi = cfi)),
  digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
