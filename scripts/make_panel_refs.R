# make_panel_refs.R — reference values for `model = panel` from plm.
#
#   Rscript scripts/make_panel_refs.R        (from the repository root)
#
# Writes tests/reference/panel_<data>.json and the matching configs
# configs/reference/panel_<data>.ini (one job per case), read by
# tests/test_panel_reference.c.  Each case: plm(formula, index, model,
# effect); coefficients with classical SEs (vcov) or Arellano cluster-by-
# unit SEs (vcovHC, plm's defaults: method "arellano", type "HC0",
# cluster "group"); summary's r2/adj_r2 (type "cor"), F (or chisq for
# random), df.residual, nobs, units, periods, and for random the variance
# components and theta.
suppressMessages({library(plm); library(jsonlite)})
R_CALL <- "plm 2.6-x defaults; see scripts/make_panel_refs.R"

datasets <- list(
  grunfeld = list(csv = "Grunfeld", h5 = "Grunfeld", formula = "inv ~ value + capital",
                  index = c("firm", "year"), where = NULL),
  empluk = list(csv = "EmplUK", h5 = "EmplUK", formula = "emp ~ wage + capital",
                index = c("firm", "year"), where = NULL),
  # EmplUK with holes inside the units (rows dropped by `where`), and lags
  # that must follow the year, not the row order.
  emplukgaps = list(csv = "EmplUK", h5 = "EmplUK",
                    formula = "emp ~ wage + lag(capital, 1) + diff(output)",
                    index = c("firm", "year"),
                    where = "year != 1979 or firm > 40"))

methods <- list(
  c("pooling", "individual"), c("within", "individual"), c("within", "time"),
  c("within", "twoways"), c("between", "individual"), c("between", "time"),
  c("random", "individual"), c("random", "time"), c("random", "twoways"), c("fd", "individual"))

# Stata's within, between and overall R² (plm has one R²), by hand: b =
# the fit's slopes, on the estimating rows in levels (the pooling model
# matrix), grouped by unit.
stata_r2 <- function(fit) {
  X <- model.matrix(fit, model = "pooling"); y <- as.numeric(pmodel.response(fit, model = "pooling"))
  id <- index(fit)[[1]]
  b <- coef(fit); b <- b[names(b) != "(Intercept)"]
  xb <- as.vector(X[, names(b), drop = FALSE] %*% b)
  sq <- function(a, c) if (sd(a) > 0 && sd(c) > 0) cor(a, c)^2 else NA
  list(r2_within = sq(y - ave(y, id), xb - ave(xb, id)),
       r2_between = sq(tapply(y, id, mean), tapply(xb, id, mean)), r2_overall = sq(y, xb))
}

# Vuong's non-nested test (nonnest2::vuongtest's statistic, not on apt):
# Gaussian log-likelihood contributions of the two estimating regressions
# (residuals of the transformed model, sigma² = RSS / n), m = lA - lB,
# z = sum(m) / (sqrt(n) * sqrt(omega²)), omega² = (n - 1) / n * var(m).
vuong_z <- function(A, B) {
  ll <- function(e) dnorm(e, 0, sqrt(mean(e^2)), log = TRUE)
  m <- ll(as.numeric(residuals(A))) - ll(as.numeric(residuals(B))); n <- length(m)
  sum(m) / (sqrt(n) * sqrt((n - 1) / n * var(m)))
}

ref_dir <- "/work/shared/reference/data"
for (dn in names(datasets)) {
  ds <- datasets[[dn]]
  d <- read.csv(file.path(ref_dir, paste0(ds$csv, ".csv")))
  if (!is.null(ds$where)) d <- subset(d, year != 1979 | firm > 40)
  pd <- pdata.frame(d, index = ds$index)
  cases <- list()
  tcases <- list()
  ini <- c(sprintf("# Reference cases panel_%s: plm 2.6 (tests/reference/panel_%s.json,", dn, dn),
           "# written by scripts/make_panel_refs.R; see docs/models/panel.md).",
           "[data]", sprintf("file  = ../../datasets/%s.h5", ds$h5), "table = /data", "")
  for (m in methods) {
    for (se in c("classical", "cluster", "clustertime", "twoway", "dk")) {
      name <- sprintf("%s_%s_%s", m[1], m[2], se)
      # random twoways on unbalanced panels: plm's ercomp solves the two
      # effect variances jointly (Swamy-Arora with dfcor 3); cxfit the same.
      # Its GLS (plm.fit, Wansbeek-Kapteyn) has classical SEs only in cxfit:
      # plm's vcovHC applies the one-way transform to the GLS residuals.
      if (m[1] == "random" && m[2] == "twoways" && !is.pbalanced(pd) && se != "classical") next
      fit <- tryCatch(plm(as.formula(ds$formula), data = pd, model = m[1], effect = m[2]),
                      error = function(e) NULL)
      if (is.null(fit)) next
      V <- tryCatch(switch(se, classical = vcov(fit), cluster = vcovHC(fit),
                           clustertime = vcovHC(fit, cluster = "time"),
                           twoway = vcovDC(fit), dk = vcovSCC(fit)),
                    error = function(e) NULL)
      if (is.null(V)) next
      s <- summary(fit)
      b <- coef(fit)
      fs <- s$fstatistic
      pdm <- pdim(fit)
      case <- list(name = name, method = m[1], effect = m[2], se = se,
                   formula = ds$formula,
                   terms = names(b), est = unname(b), se_values = unname(sqrt(diag(V))),
                   r2 = unname(s$r.squared[1]), adj_r2 = unname(s$r.squared[2]),
                   nobs = nobs(fit), n_units = pdm$nT$n, n_periods = pdm$nT$T,
                   df_residual = df.residual(fit),
                   stat_name = if (m[1] == "random") "wald_chisq" else "fstat",
                   stat = unname(fs$statistic))
      case <- c(case, stata_r2(fit))
      if (m[1] == "random") {
        case$sigma2 <- as.list(fit$ercomp$sigma2)
      }
      cases[[length(cases) + 1]] <- case
      ini <- c(ini, sprintf("[job %s]", name), "model   = panel",
               sprintf("formula = %s", ds$formula), sprintf("index   = %s", paste(ds$index, collapse = " ")),
               sprintf("method  = %s", m[1]), sprintf("effect  = %s", m[2]),
               sprintf("se      = %s", switch(se, classical = "classical", cluster = "cluster(firm)",
                                             clustertime = "cluster(year)",
                                             twoway = "cluster(firm year)", dk = "dk")))
      if (!is.null(ds$where)) ini <- c(ini, sprintf("where   = %s", ds$where))
      ini <- c(ini, "")
    }
  }
  # specification tests on the same data: one job per effect
  for (eff in c("individual", "time", "twoways")) {
    f <- as.formula(ds$formula)
    fe <- plm(f, data = pd, model = "within", effect = eff)
    po <- plm(f, data = pd, model = "pooling")
    tests <- list()
    pf <- pFtest(fe, po)
    tests$f_effects <- list(statistic = unname(pf$statistic), df1 = unname(pf$parameter[1]),
                            df2 = unname(pf$parameter[2]), pvalue = pf$p.value)
    bp <- plmtest(po, effect = eff, type = "bp")
    tests$bp <- list(statistic = unname(bp$statistic), df1 = unname(bp$parameter), pvalue = bp$p.value)
    words <- "f_effects bp"
    if (eff != "twoways") {
      re <- plm(f, data = pd, model = "random", effect = eff)
      h <- phtest(fe, re)
      tests$hausman <- list(statistic = unname(h$statistic), df1 = unname(h$parameter), pvalue = h$p.value)
      words <- "hausman f_effects bp"
    }
    name <- sprintf("tests_%s", eff)
    tcases[[length(tcases) + 1]] <- list(name = name, tests = tests)
    ini <- c(ini, sprintf("[job %s]", name), "model   = panel",
             sprintf("formula = %s", ds$formula), sprintf("index   = %s", paste(ds$index, collapse = " ")),
             "method  = within", sprintf("effect  = %s", eff), sprintf("tests   = %s", words))
    if (!is.null(ds$where)) ini <- c(ini, sprintf("where   = %s", ds$where))
    ini <- c(ini, "")
  }
  # validate = holdout(...): fit on the training rows (lags computed on the
  # whole panel first), predict(fit, newdata = held-out rows) as plm does
  # (within: plus the fixed effects of the training rows), then rmse, mae,
  # r2 = 1 - SSE / sum((y - mean(y))^2) and n over the predicted rows.
  vcases <- list()
  full <- pd
  full$lag_capital <- lag(full$capital, 1)
  full$diff_output <- diff(full$output)
  rf <- gsub("lag\\(capital, 1\\)", "lag_capital", gsub("diff\\(output\\)", "diff_output", ds$formula))
  yr <- as.numeric(as.character(full$year)); fm <- as.numeric(as.character(full$firm))
  splits <- list(list(m = "pooling", e = "individual", cut = 1982, grun = 1950, twoside = FALSE),
                 list(m = "within", e = "individual", cut = 1982, grun = 1950, twoside = FALSE),
                 list(m = "random", e = "individual", cut = 1982, grun = 1950, twoside = FALSE),
                 list(m = "within", e = "twoways", cut = 1982, grun = 1950, twoside = TRUE))
  # plm's predict gives NA for every held-out row of a two-way model, so the
  # two-way case is predicted by lm() with unit and period dummies (the same
  # slopes; its fitted unit + period levels are the ones identified).
  for (sp in splits) {
    cut <- if (dn == "grunfeld") sp$grun else sp$cut
    hold <- yr >= cut
    expr <- sprintf("year >= %d", cut)
    if (sp$twoside) { hold <- hold & fm <= 3; expr <- sprintf("year >= %d and firm <= 3", cut) }
    tr <- full[!hold, ]; te <- full[hold, ]
    fit <- plm(as.formula(rf), data = tr, model = sp$m, effect = sp$e)
    p <- predict(fit, newdata = te)
    if (sp$e == "twoways") {
      lmf <- lm(update(as.formula(rf), . ~ . + factor(firm) + factor(year)), data = as.data.frame(tr))
      p <- predict(lmf, newdata = as.data.frame(te))
    }
    y <- te[[all.vars(as.formula(rf))[1]]]
    ok <- !is.na(p) & !is.na(y)
    y <- y[ok]; p <- p[ok]
    name <- sprintf("holdout_%s_%s", sp$m, sp$e)
    # the job reports the estimates of the fit to ALL rows (as ols/logit/cfa)
    allfit <- plm(as.formula(rf), data = full, model = sp$m, effect = sp$e)
    vcases[[length(vcases) + 1]] <- list(name = name, nobs_train = nobs(fit), nobs_all = nobs(allfit),
      terms = sub("^lag_capital$", "lag(capital, 1)", sub("^diff_output$", "diff(output)", names(coef(allfit)))),
      est_all = unname(coef(allfit)),
      validation = list(n_train = nobs(fit), n_test = length(y), r2 = 1 - sum((y - p)^2) / sum((y - mean(y))^2),
                        rmse = sqrt(mean((y - p)^2)), mae = mean(abs(y - p))))
    ini <- c(ini, sprintf("[job %s]", name), "model    = panel",
             sprintf("formula  = %s", ds$formula), sprintf("index    = %s", paste(ds$index, collapse = " ")),
             sprintf("method   = %s", sp$m), sprintf("effect   = %s", sp$e),
             sprintf("validate = holdout(%s)", expr))
    if (!is.null(ds$where)) ini <- c(ini, sprintf("where    = %s", ds$where))
    ini <- c(ini, "")
  }
  # compare = FORMULA (grunfeld only): two non-nested models on the same
  # rows; J tests by adding the other model's x b as a regressor (plm +
  # vcovHC); AIC/BIC from the Gaussian log-likelihood of the estimating
  # regression with k = coefficients + absorbed effects + 1.
  ccases <- list()
  if (dn == "grunfeld") {
    for (m in list(c("within", "individual"), c("pooling", "individual"), c("within", "twoways"))) {
      fa <- inv ~ value; fb <- inv ~ capital
      A <- plm(fa, data = pd, model = m[1], effect = m[2])
      B <- plm(fb, data = pd, model = m[1], effect = m[2])
      xb <- function(fit, f) {
        X <- model.matrix(f, data = as.data.frame(pd)); b <- coef(fit)
        if (!"(Intercept)" %in% names(b)) X <- X[, -1, drop = FALSE]
        as.vector(X %*% b)
      }
      pd2 <- pd; pd2$fitb <- xb(B, fb); pd2$fita <- xb(A, fa)
      JA <- plm(inv ~ value + fitb, data = pd2, model = m[1], effect = m[2])
      JB <- plm(inv ~ capital + fita, data = pd2, model = m[1], effect = m[2])
      zt <- function(fit, v) unname(coef(fit)[v] / sqrt(diag(vcovHC(fit)))[v])
      absorbed <- switch(m[2], individual = if (m[1] == "within") 10 else 0, twoways = 10 + 20 - 1)
      ic <- function(fit) {
        n <- nobs(fit); rss <- deviance(fit); k <- length(coef(fit)) + absorbed + 1
        ll <- -n / 2 * (log(2 * pi * rss / n) + 1)
        c(aic = -2 * ll + 2 * k, bic = -2 * ll + log(n) * k)
      }
      name <- sprintf("compare_%s_%s", m[1], m[2])
      ccases[[length(ccases) + 1]] <- list(name = name,
        a = c(as.list(ic(A)), r2 = unname(summary(A)$r.squared[1]), nobs = nobs(A)),
        b = c(as.list(ic(B)), r2 = unname(summary(B)$r.squared[1]), nobs = nobs(B)),
        j_b_in_a = zt(JA, "fitb"), j_a_in_b = zt(JB, "fita"), vuong = vuong_z(A, B))
      ini <- c(ini, sprintf("[job %s]", name), "model   = panel", "formula = inv ~ value",
               "compare = inv ~ capital", "index   = firm year", sprintf("method  = %s", m[1]),
               sprintf("effect  = %s", m[2]), "se      = cluster(firm)", "")
    }
  }
  out <- list(oracle = "plm", version = as.character(packageVersion("plm")),
              data = ds$h5, cases = cases, test_cases = tcases,
              validation_cases = vcases, compare_cases = ccases)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             sprintf("tests/reference/panel_%s.json", dn))
  writeLines(ini, sprintf("configs/reference/panel_%s.ini", dn))
  cat(dn, ":", length(cases), "cases\n")
}

# Grunfeld with its rows shuffled (tests/integration/panel.sh: lags must
# follow the year, not the row order).
set.seed(16)
g <- read.csv(file.path(ref_dir, "Grunfeld.csv"))
write.csv(g[sample(nrow(g)), ], "tests/reference/grunfeld_shuffled.csv", row.names = FALSE)
