# make_ols_refs.R — reference values for model = ols, drivers and gap
# (tests/test_ols_reference.c reads tests/reference/ols.json).
#
#   Rscript scripts/make_ols_refs.R [shared/reference/data] [tests/reference/ols.json]
#
# Every job of configs/reference/ols_reference.ini has an entry here with
# what R gives on the same CSV the datasets/*.h5 were imported from:
#   ols:     lm() (weights= for weighted jobs), sandwich::vcovHC (HC0-HC3),
#            sandwich::vcovCL (CR1: type HC1, cadjust; one- and two-way),
#            t-based p-values and CIs (lmtest::coeftest), logLik/AIC/BIC,
#            car::vif's generalised VIF computed from its definition
#            (car is not installed: det(R11) det(R22) / det(R) on
#            cov2cor(vcov) without the intercept);
#            validate = holdout(EXPR): predict() of the lm fitted on the
#            other rows, on the held-out complete rows.
#   drivers: standardized betas, Johnson's relative weights (Johnson 2000,
#            implemented below), LMG/Shapley shares of R^2 by brute force
#            over every subset of lm fits (relaimpo is not installed).
#   gap:     t.test(expected, perceived, paired = TRUE) per pair.
# Estimates are listed in model.matrix order (cxfit's design order).
suppressPackageStartupMessages({
  library(sandwich)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[1] else "/work/shared/reference/data"
out_path <- if (length(args) >= 2) args[2] else "tests/reference/ols.json"

bfi <- read.csv(file.path(data_dir, "bfi.csv"))
grunfeld <- read.csv(file.path(data_dir, "Grunfeld.csv"))

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

gvif <- function(m) {
  v <- vcov(m)
  keep <- !is.na(coef(m))
  v <- v[keep, keep, drop = FALSE]
  assign <- attr(model.matrix(m), "assign")[keep]
  int <- which(assign == 0)
  v <- v[-int, -int, drop = FALSE]
  assign <- assign[-int]
  R <- cov2cor(v)
  detR <- det(R)
  labels <- attr(terms(m), "term.labels")
  out <- list()
  for (t in sort(unique(assign))) {
    s <- which(assign == t)
    g <- det(R[s, s, drop = FALSE]) * det(R[-s, -s, drop = FALSE]) / detR
    out[[length(out) + 1]] <- list(term = labels[t], df = length(s), vif = g,
                                   vif_adj = g^(1 / (2 * length(s))))
  }
  out
}

# One fitted level: estimates rows, fit measures, vif.
ols_level <- function(m, se, cluster = NULL, data = NULL) {
  X <- model.matrix(m)
  w <- weights(m); if (is.null(w)) w <- rep(1, nrow(X))
  y <- model.response(model.frame(m))
  b <- coef(m)
  V <- switch(se,
    classical = vcov(m),
    hc0 = vcovHC(m, type = "HC0"), hc1 = vcovHC(m, type = "HC1"),
    hc2 = vcovHC(m, type = "HC2"), hc3 = vcovHC(m, type = "HC3"),
    cluster = vcovCL(m, cluster = cluster, type = "HC1", cadjust = TRUE))
  rdf <- df.residual(m)
  ses <- rep(NA_real_, length(b)); names(ses) <- names(b)
  ok <- !is.na(b)
  ses[ok] <- sqrt(diag(V))[names(b)[ok]]
  tv <- b / ses
  tq <- qt(0.975, rdf)
  wm <- function(v) sum(w * v) / sum(w)
  sdw <- function(v) sqrt(wm((v - wm(v))^2))
  has_int <- attr(terms(m), "intercept") == 1
  est <- lapply(seq_along(b), function(j) {
    std <- if (has_int && j > 1 && ok[j]) b[j] * sdw(X[, j]) / sdw(y) else NA
    list(rhs = names(b)[j], est = unname(b[j]), se = unname(ses[j]), t = unname(tv[j]),
         pvalue = unname(2 * pt(-abs(tv[j]), rdf)),
         ci_lower = unname(b[j] - tq * ses[j]), ci_upper = unname(b[j] + tq * ses[j]),
         std_all = unname(std))
  })
  s <- summary(m)
  fs <- if (!is.null(s$fstatistic)) s$fstatistic else c(value = NA, numdf = NA, dendf = NA)
  ll <- logLik(m)
  fit <- list(nobs = nrow(X), rank = m$rank, df_residual = rdf, r2 = s$r.squared,
              adj_r2 = s$adj.r.squared, fstat = unname(fs[1]), fstat_df1 = unname(fs[2]),
              fstat_pvalue = unname(pf(fs[1], fs[2], fs[3], lower.tail = FALSE)),
              sigma = sigma(m), rmse = sqrt(sum(w * residuals(m)^2) / sum(w)),
              logl = as.numeric(ll), aic = AIC(m), bic = BIC(m))
  list(estimates = est, fit = fit, vif = if (has_int && length(attr(terms(m), "term.labels")) > 1) gvif(m) else list())
}

cases <- list()
add <- function(job, levels, extra = list()) {
  cases[[job]] <<- c(list(levels = levels), extra)
}

# ---- bfi, every SE kind --------------------------------------------------
f1 <- E1 ~ A1 + A2 + C1 + N1 + factor(education) + age
m1 <- lm(f1, data = bfi)
for (se in c("classical", "hc0", "hc1", "hc2", "hc3"))
  add(paste0("bfi_", se), list(ols_level(m1, se)))

# ---- weighted (weights = age), with factor(gender) ------------------------
f2 <- A2 ~ A1 + C1 + E1 + factor(gender)
m2 <- lm(f2, data = bfi, weights = age)
for (se in c("classical", "hc1", "hc3"))
  add(paste0("bfi_w_", se), list(ols_level(m2, se)))
cc2 <- bfi[complete.cases(bfi[, c("A2", "A1", "C1", "E1", "gender", "age", "education")]), ]
m2c <- lm(f2, data = cc2, weights = age)
add("bfi_w_cluster", list(ols_level(m2c, "cluster", cluster = ~education)))

# ---- aliased column (NA coefficient), interactions, no intercept ----------
m3 <- lm(E1 ~ A1 + A2 + I(A1 + A2) + C1, data = bfi)
add("bfi_aliased", list(ols_level(m3, "classical")), list(aliased = "I(A1 + A2)"))
m4 <- lm(E1 ~ A1 * factor(gender) + I(A2^2) + log(age), data = bfi)
add("bfi_interaction_hc3", list(ols_level(m4, "hc3")))
m5 <- lm(E1 ~ A1 + A2 - 1, data = bfi)
add("bfi_noint_hc2", list(ols_level(m5, "hc2")))

# ---- by gender: one level per value, in order -----------------------------
add("bfi_by_gender", lapply(sort(unique(bfi$gender)), function(g)
  ols_level(lm(E1 ~ A1 + A2 + N1, data = bfi[bfi$gender == g, ]), "hc1")))

# ---- Grunfeld: cluster one- and two-way ------------------------------------
mg <- lm(inv ~ value + capital, data = grunfeld)
add("grunfeld_cluster_firm", list(ols_level(mg, "cluster", cluster = ~firm)))
add("grunfeld_cluster_twoway", list(ols_level(mg, "cluster", cluster = ~firm + year)))
add("grunfeld_hc3", list(ols_level(mg, "hc3")))
mgw <- lm(inv ~ value + capital, data = grunfeld, weights = capital)
add("grunfeld_w_cluster_twoway", list(ols_level(mgw, "cluster", cluster = ~firm + year)))

# ---- scale scores (engine/scores.h): -A1 reverse-keyed on its observed
# range over the whole table, mean of the present items, NA when fewer than
# half of them are present ----------------------------------------------------
items <- cbind(min(bfi$A1, na.rm = TRUE) + max(bfi$A1, na.rm = TRUE) - bfi$A1,
               bfi$A2, bfi$A3, bfi$A4, bfi$A5)
present <- rowSums(!is.na(items))
bfi_s <- bfi
bfi_s$AGR <- ifelse(present >= 5 / 2, rowMeans(items, na.rm = TRUE), NA)
msc <- lm(E1 ~ AGR + C1 + factor(gender), data = bfi_s)
add("bfi_scores_hc3", list(ols_level(msc, "hc3")))

# ---- categorical columns (levels = the HDF5 categories, alphabetical as
# R's factor()), a level emptied by `where` and dropped as lm does ----------
housing <- read.csv(file.path(data_dir, "housing.csv"), stringsAsFactors = TRUE)
mhs <- lm(Freq ~ Infl + Type + Cont + Sat:Cont, data = subset(housing, Type != "Atrium"))
add("housing_empty_level_hc1", list(ols_level(mhs, "hc1")))

# ---- holdout: predict() of the training fit on the held-out rows ----------
fh <- E1 ~ A1 + A2 + C1 + factor(education)
vars <- c("E1", "A1", "A2", "C1", "education")
cch <- bfi[complete.cases(bfi[, vars]), ]
train <- cch[!(cch$age > 40), ]
test <- cch[cch$age > 40, ]
mh <- lm(fh, data = train)
pred <- predict(mh, newdata = test)
e <- test$E1 - pred
add("bfi_holdout", list(ols_level(lm(fh, data = bfi), "classical")),
    list(validation = list(n_train = nrow(train), n_test = nrow(test),
                           r2 = 1 - sum(e^2) / sum((test$E1 - mean(test$E1))^2),
                           rmse = sqrt(mean(e^2)), mae = mean(abs(e)))))

# ---- drivers: standardized betas, Johnson's weights, LMG by all subsets -----
johnson_R <- function(R) {
  k <- ncol(R) - 1
  Rxx <- R[1:k, 1:k]; rxy <- R[1:k, k + 1]
  ev <- eigen(Rxx, symmetric = TRUE)
  L <- ev$vectors %*% diag(sqrt(ev$values)) %*% t(ev$vectors)   # Rxx^(1/2)
  beta <- solve(L, rxy)                                           # y on the orthogonal Z
  as.vector((L^2) %*% (beta^2))
}
lmg <- function(r2, k) {
  subsets <- lapply(0:(2^k - 1), function(m) which(bitwAnd(m, 2^(0:(k - 1))) > 0))
  R2 <- vapply(subsets, r2, 0)
  key <- function(s) sum(2^(s - 1))
  share <- numeric(k)
  for (j in 1:k) for (m in seq_along(subsets)) {
    s <- subsets[[m]]
    if (j %in% s) next
    with_j <- R2[key(c(s, j)) + 1]
    wgt <- factorial(length(s)) * factorial(k - length(s) - 1) / factorial(k)
    share[j] <- share[j] + wgt * (with_j - R2[m])
  }
  share
}
# Weighted: lm(weights = w) throughout; Johnson's weights from the
# weighted correlation matrix (cov.wt), as cxfit's weighted cross-products.
drivers_case <- function(d, yname, xs, wname = NULL) {
  d <- d[complete.cases(d[, c(yname, xs, wname)]), c(yname, xs, wname)]
  w <- if (is.null(wname)) rep(1, nrow(d)) else d[[wname]]
  d$.w <- w
  m <- lm(reformulate(xs, yname), data = d, weights = .w)
  X <- as.matrix(d[, xs]); y <- d[[yname]]
  R <- cov.wt(cbind(X, y), wt = w, cor = TRUE)$cor
  sdw <- sqrt(diag(cov.wt(cbind(X, y), wt = w)$cov))
  r2 <- function(s) if (length(s) == 0) 0 else
    summary(lm(reformulate(xs[s], yname), data = d, weights = .w))$r.squared
  list(nobs = nrow(d), r2 = summary(m)$r.squared, drivers = xs,
       std_beta = unname(coef(m)[-1] * sdw[seq_along(xs)] / sdw[length(sdw)]),
       johnson = johnson_R(R), lmg = lmg(r2, length(xs)))
}
drv <- list(
  bfi_drivers = drivers_case(bfi, "E1", c("A1", "A2", "A3", "C1", "C2", "N1", "O1")),
  bfi_drivers_12 = drivers_case(bfi, "E2", c("A1", "A2", "A3", "A4", "A5", "C1", "C2", "C3",
                                             "N1", "N2", "O1", "O2")),
  bfi_drivers_w = drivers_case(bfi, "E1", c("A1", "A2", "C1", "N1", "O1"), "age"))

# ---- gap: paired t per pair ------------------------------------------------
gap_pair <- function(e, p) {
  ok <- complete.cases(e, p); e <- e[ok]; p <- p[ok]
  tt <- t.test(p, e, paired = TRUE)
  d <- p - e
  list(n = length(d), expected = mean(e), perceived = mean(p), gap = mean(d),
       se = sd(d) / sqrt(length(d)), ci_lower = tt$conf.int[1], ci_upper = tt$conf.int[2],
       t = unname(tt$statistic), pvalue = tt$p.value, d_z = mean(d) / sd(d),
       below = mean(d < 0))
}
gap <- list(bfi_gap = list(pairs = c("A1:A2", "C1:C2", "E1:E2"),
                           rows = list(gap_pair(bfi$A1, bfi$A2), gap_pair(bfi$C1, bfi$C2),
                                       gap_pair(bfi$E1, bfi$E2))),
            bfi_gap_by = list(pairs = c("O1:O2", "N1:N2"),
                              rows = unlist(lapply(sort(unique(bfi$gender)), function(g) {
                                b <- bfi[bfi$gender == g, ]
                                list(gap_pair(b$O1, b$O2), gap_pair(b$N1, b$N2))
                              }), recursive = FALSE)))

out <- list(generated_by = "scripts/make_ols_refs.R",
            R = R.version.string, sandwich = as.character(packageVersion("sandwich")),
            ols = cases, drivers = drv, gap = gap)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           out_path)
cat("wrote", out_path, "\n")
