# make_logit_refs.R — reference values for model = logit (tests/test_logit.c):
# glm(family = binomial) fitted to convergence (epsilon 1e-14), sandwich's
# vcovHC (HC0, HC1) and vcovCL (its default for glm: type HC0 with the
# G/(G-1) cluster adjustment, no (n-1)/(n-k) factor), and the fit measures of
# docs/models/logit.md computed here from the glm fit.
# One JSON per case, named as configs/reference/<case>.ini.
# Usage: Rscript scripts/make_logit_refs.R [DATA_DIR] [OUT_DIR]
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
if (!dir.exists(data_dir)) data_dir <- "/work/shared/reference/data"
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}
bfi <- read.csv(file.path(data_dir, "bfi.csv"))

# Exact AUC (ties count one half), weighted: P(score of a 1 > score of a 0).
auc <- function(p, y, w) {
  o <- order(p); p <- p[o]; y <- y[o]; w <- w[o]
  g <- cumsum(!duplicated(p))          # tie groups
  w1 <- tapply(w * y, g, sum); w0 <- tapply(w * (1 - y), g, sum)
  below0 <- cumsum(w0) - w0
  sum(w1 * (below0 + 0.5 * w0)) / (sum(w1) * sum(w0))
}

logit_case <- function(case, formula, data, se = "classical", cluster = NULL, weights = NULL) {
  vars <- unique(c(all.vars(formula), cluster, weights))
  d <- na.omit(data[, vars])
  w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  d$.w <- w
  fit <- glm(formula, family = binomial, data = d, weights = .w,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  V <- switch(se,
    classical = vcov(fit),
    hc0 = vcovHC(fit, type = "HC0"),
    hc1 = vcovHC(fit, type = "HC1"),
    hc2 = vcovHC(fit, type = "HC2"),
    hc3 = vcovHC(fit, type = "HC3"),
    cluster = vcovCL(fit, cluster = d[[cluster]]))
  b <- coef(fit)
  y <- fit$y; p <- fitted(fit); n <- sum(w)
  ll <- as.numeric(logLik(fit))
  ll0 <- -fit$null.deviance / 2
  cs <- 1 - exp(2 * (ll0 - ll) / n)
  rhs <- names(b); rhs[rhs == "(Intercept)"] <- ""
  # the contract names a factor level column[level] (DESIGN.md §5)
  rhs <- sub("^factor\\(([^)]*)\\)(.*)$", "\\1[\\2]", rhs)
  op <- ifelse(rhs == "", "~1", "~")
  pred1 <- p >= 0.5
  fitm <- list(logl = ll, deviance = deviance(fit), null_deviance = fit$null.deviance,
               aic = AIC(fit), bic = BIC(fit), npar = length(b), nobs = nobs(fit),
               df_residual = fit$df.residual,
               r2_mcfadden = 1 - ll / ll0, r2_nagelkerke = cs / (1 - exp(2 * ll0 / n)),
               auc = auc(p, y, w), brier = sum(w * (y - p)^2) / n,
               logloss = -ll / n, accuracy = sum(w * (pred1 == (y == 1))) / n)
  conf <- data.frame(observed = c(0, 0, 1, 1), predicted = c(0, 1, 0, 1),
                     n = c(sum(w[y == 0 & !pred1]), sum(w[y == 0 & pred1]),
                           sum(w[y == 1 & !pred1]), sum(w[y == 1 & pred1])))
  write_case(list(case = case, r_call = paste(deparse(formula), collapse = " "),
    se = se, cluster = cluster, weights = weights,
    R = paste(R.version$major, R.version$minor, sep = "."),
    sandwich = as.character(packageVersion("sandwich")),
    outcome = all.vars(formula)[1], iterations = fit$iter,
    estimates = data.frame(op = op, rhs = rhs, est = unname(b), se = unname(sqrt(diag(V)))),
    fit = fitm, confusion = conf))
}

f1 <- factor(gender) ~ A1 + C1 + E1 + N1 + O1 + age
logit_case("logit_bfi", f1, bfi)
logit_case("logit_bfi_hc0", f1, bfi, se = "hc0")
logit_case("logit_bfi_hc1", f1, bfi, se = "hc1")
# HC2 / HC3: hat values of the weighted design (hatvalues.glm: working
# weights w mu (1 - mu)); also with prior weights and a factor term
logit_case("logit_bfi_hc2", f1, bfi, se = "hc2")
logit_case("logit_bfi_hc3", f1, bfi, se = "hc3")
logit_case("logit_bfi_hc3_weighted", factor(gender) ~ A2 + factor(education) + age, bfi,
           se = "hc3", weights = "E2")
logit_case("logit_bfi_cluster", f1, bfi, se = "cluster", cluster = "education")
# integer weights (frequency weights: R's logLik and AIC are then the
# weighted sums) and a factor term
logit_case("logit_bfi_factor_weighted", factor(gender) ~ A2 + factor(education) + age, bfi,
           se = "hc1", weights = "E2")

# validate = holdout(age >= 40): glm on the other rows, predict() on these
holdout_case <- function(case, formula, data, held) {
  d <- na.omit(data[, all.vars(formula)])
  ho <- held(d)
  fit <- glm(formula, family = binomial, data = d[!ho, ], control = glm.control(epsilon = 1e-14, maxit = 100))
  p <- predict(fit, newdata = d[ho, ], type = "response")
  y <- as.numeric(model.response(model.frame(formula, d[ho, ]))) - 1
  w <- rep(1, length(y))
  list(n = length(y), logloss = -mean(y * log(p) + (1 - y) * log(1 - p)), auc = auc(p, y, w),
       brier = mean((y - p)^2), accuracy = mean((p >= 0.5) == (y == 1)))
}
ref <- jsonlite::fromJSON(file.path(out_dir, "logit_bfi.json"))
ref$case <- "logit_bfi_holdout"
ref$validation <- list(holdout = holdout_case("logit_bfi_holdout", f1, bfi, function(d) d$age >= 40))
write_case(ref)

# ---- ologit: MASS::polr estimates (BFGS to reltol 1e-15), SEs from
# ordinal::clm's analytic Hessian (polr's own are a numerical Hessian,
# about 1e-5 off); sandwich(clm) for hc0, adjust = TRUE for hc1, vcovCL for
# cluster.
suppressPackageStartupMessages({ library(MASS); library(ordinal) })
ologit_case <- function(case, formula, data, se = "classical", weights = NULL, cluster = NULL) {
  vars <- unique(c(all.vars(formula), weights, cluster))
  d <- na.omit(data[, vars])
  d$.w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  y <- all.vars(formula)[1]
  d[[y]] <- factor(d[[y]])
  f2 <- update(formula, as.formula(paste(y, "~ .")))
  fp <- polr(f2, data = d, weights = .w, Hess = TRUE, control = list(reltol = 1e-15, maxit = 10000))
  fc <- clm(f2, data = d, weights = .w, control = clm.control(gradTol = 1e-12, relTol = 1e-14))
  stopifnot(max(abs(c(coef(fp), fp$zeta) - c(coef(fc)[-seq_along(fp$zeta)], coef(fc)[seq_along(fp$zeta)]))) < 1e-6)
  V <- switch(se, classical = vcov(fc), hc0 = sandwich(fc), hc1 = sandwich(fc, adjust = TRUE),
              cluster = vcovCL(fc, cluster = d[[cluster]]))
  nz <- length(fp$zeta); nb <- length(coef(fp))
  sev <- sqrt(diag(V)); sev <- c(sev[-seq_len(nz)], sev[seq_len(nz)])
  rhs <- c(sub("^factor\\(([^)]*)\\)(.*)$", "\\1[\\2]", names(coef(fp))), paste0("t", seq_len(nz)))
  ll <- as.numeric(logLik(fp)); n <- sum(d$.w)
  cnt <- as.numeric(tapply(d$.w, d[[y]], sum)); ll0 <- sum(cnt * log(cnt / n))
  cs <- 1 - exp(2 * (ll0 - ll) / n)
  write_case(list(case = case, r_call = paste(deparse(formula), collapse = " "), se = se,
    weights = weights, MASS = as.character(packageVersion("MASS")),
    ordinal = as.character(packageVersion("ordinal")),
    estimates = data.frame(op = c(rep("~", nb), rep("|", nz)), rhs = rhs,
                           est = unname(c(coef(fp), fp$zeta)), se = unname(sev)),
    fit = list(logl = ll, deviance = deviance(fp), null_deviance = -2 * ll0, aic = AIC(fp),
               bic = BIC(fp), npar = nb + nz, nobs = nobs(fc),
               r2_mcfadden = 1 - ll / ll0, r2_nagelkerke = cs / (1 - exp(2 * ll0 / n)))))
}
fo <- E1 ~ A1 + C1 + N1 + age + factor(gender)
ologit_case("ologit_bfi", fo, bfi)
ologit_case("ologit_bfi_hc0", fo, bfi, se = "hc0")
ologit_case("ologit_bfi_hc1_weighted", fo, bfi, se = "hc1", weights = "A2")
# vcovCL's default for clm: HC0 with the G/(G-1) cluster adjustment
ologit_case("ologit_bfi_cluster", fo, bfi, se = "cluster", cluster = "education")

# Validation of a K-level model on held-out rows from the level
# probabilities R's predict(type = "probs") gives: n, log loss (-mean log
# p of the observed level), multi-class Brier (mean of sum_k (p_k - [y =
# k])^2) and accuracy (which.max(p) == y).
level_metrics <- function(P, y) {
  Y <- outer(as.integer(y), seq_len(ncol(P)), "==")
  list(n = length(y), logloss = -mean(log(P[Y])), brier = mean(rowSums((P - Y)^2)),
       accuracy = mean(max.col(P, ties.method = "first") == as.integer(y)))
}
ologit_holdout <- function(case, formula, data, held) {
  d <- na.omit(data[, all.vars(formula)])
  y <- all.vars(formula)[1]
  d[[y]] <- factor(d[[y]])
  f2 <- update(formula, as.formula(paste(y, "~ .")))
  ho <- held(d)
  fp <- polr(f2, data = d[!ho, ], control = list(reltol = 1e-15, maxit = 10000))
  fc <- clm(f2, data = d[!ho, ], control = clm.control(gradTol = 1e-12, relTol = 1e-14))
  stopifnot(max(abs(coef(fp) - coef(fc)[-seq_along(fp$zeta)])) < 1e-6)
  P <- predict(fp, newdata = d[ho, ], type = "probs")
  ref <- jsonlite::fromJSON(file.path(out_dir, "ologit_bfi.json"))
  ref$case <- case
  ref$validation <- list(holdout = level_metrics(P, d[ho, y]))
  write_case(ref)
}
ologit_holdout("ologit_bfi_holdout", fo, bfi, function(d) d$age >= 40)

# ---- mlogit: nnet::multinom (BFGS).  Its default reltol 1e-8 leaves the
# estimates about 1e-4 relative from the optimum (default_rel_diff below),
# so the reference is run to reltol 1e-15 (convergence code 0), where it
# agrees with the exact Newton optimum; SEs from vcov() (multinom's
# Hessian = TRUE, nnetHess).
suppressPackageStartupMessages(library(nnet))
mlogit_case <- function(case, formula, data, weights = NULL) {
  vars <- unique(c(all.vars(formula), weights))
  d <- na.omit(data[, vars])
  d$.w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  y <- all.vars(formula)[1]
  d[[y]] <- factor(d[[y]])
  f2 <- update(formula, as.formula(paste(y, "~ .")))
  m <- multinom(f2, data = d, weights = .w, trace = FALSE, reltol = 1e-15, abstol = 1e-300,
                maxit = 100000, Hess = TRUE)
  stopifnot(m$convergence == 0)
  m8 <- multinom(f2, data = d, weights = .w, trace = FALSE, Hess = FALSE)
  B <- coef(m); S <- matrix(sqrt(diag(vcov(m))), nrow = nrow(B), byrow = TRUE)
  cn <- colnames(B); rhs <- sub("^factor\\(([^)]*)\\)(.*)$", "\\1[\\2]", cn); rhs[cn == "(Intercept)"] <- ""
  est <- do.call(rbind, lapply(seq_len(nrow(B)), function(j)
    data.frame(lhs = paste0(y, "[", rownames(B)[j], "]"), op = ifelse(rhs == "", "~1", "~"),
               rhs = rhs, est = unname(B[j, ]), se = unname(S[j, ]))))
  ll <- as.numeric(logLik(m)); n <- sum(d$.w)
  cnt <- as.numeric(tapply(d$.w, d[[y]], sum)); ll0 <- sum(cnt * log(cnt / n))
  cs <- 1 - exp(2 * (ll0 - ll) / n)
  write_case(list(case = case, r_call = paste(deparse(formula), collapse = " "), weights = weights,
    nnet = as.character(packageVersion("nnet")),
    default_rel_diff = max(abs(coef(m8) - B) / abs(B)),
    estimates = est,
    fit = list(logl = ll, deviance = deviance(m), null_deviance = -2 * ll0, aic = AIC(m),
               bic = -2 * ll + log(n) * length(B), npar = length(B), nobs = n,
               r2_mcfadden = 1 - ll / ll0, r2_nagelkerke = cs / (1 - exp(2 * ll0 / n)))))
}
mlogit_case("mlogit_bfi", education ~ A1 + C1 + age + factor(gender), bfi)
mlogit_case("mlogit_bfi_weighted", education ~ A1 + C1 + age + factor(gender), bfi, weights = "A2")
mlogit_holdout <- function(case, formula, data, held) {
  d <- na.omit(data[, all.vars(formula)])
  y <- all.vars(formula)[1]
  d[[y]] <- factor(d[[y]])
  f2 <- update(formula, as.formula(paste(y, "~ .")))
  ho <- held(d)
  m <- multinom(f2, data = d[!ho, ], trace = FALSE, reltol = 1e-15, abstol = 1e-300, maxit = 100000)
  stopifnot(m$convergence == 0)
  P <- predict(m, newdata = d[ho, ], type = "probs")
  ref <- jsonlite::fromJSON(file.path(out_dir, "mlogit_bfi.json"))
  ref$case <- case
  ref$validation <- list(holdout = level_metrics(P, d[ho, y]))
  write_case(ref)
}
mlogit_holdout("mlogit_bfi_holdout", education ~ A1 + C1 + age + factor(gender), bfi,
               function(d) d$age >= 40)
