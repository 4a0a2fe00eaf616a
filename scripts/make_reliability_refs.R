# make_reliability_refs.R — reference values for `model = reliability`
# (models/reliability.c): psych::alpha per scale, McDonald's omega total
# of a one-factor ML CFA per scale (semTools::compRelSEM) and, from a
# fitted CFA, semTools::compRelSEM / AVE / htmt and the Fornell-Larcker
# table.  Writes tests/reference/reliability_*.json.
#
# Usage: Rscript scripts/make_reliability_refs.R [DATA_DIR] [OUT_DIR]
# Data are read from the shared CSVs (the numbers cxfit imports).
suppressPackageStartupMessages({
  library(psych); library(lavaan); library(semTools); library(jsonlite)
})
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
source(file.path(here, "refs_common.R"))
vers <- lapply(c(psych = "psych", lavaan = "lavaan", semTools = "semTools"),
               function(p) as.character(packageVersion(p)))

bfi <- read_data("bfi")
# lavaan's default nlminb stops with gradients near 1e-7, which leaves
# omega about 1e-6 from the optimum (the tolerance the tests ask for), and
# tighter nlminb settings fail to converge.  lavaan's Gauss-Newton
# optimizer (optim.method = "GN") reaches gradients near 1e-14: the same
# optimum, to all the digits that matter here.
gn <- function(...) cfa(..., optim.method = "GN", optim.gn.tol.x = 1e-14, optim.gn.iter.max = 1000)
# psych's bfi.keys (the five Big Five scales, reverse-keyed items marked '-')
keys <- list(A = c("-A1", "A2", "A3", "A4", "A5"),
             C = c("C1", "C2", "C3", "-C4", "-C5"),
             E = c("-E1", "-E2", "E3", "E4", "E5"),
             N = c("N1", "N2", "N3", "N4", "N5"),
             O = c("O1", "-O2", "O3", "O4", "-O5"))
scales_key <- paste(sapply(names(keys), function(s) paste0(s, ": ", paste(keys[[s]], collapse = " "))),
                    collapse = "\n")

# Items reverse-keyed as cxfit does (scores.h): min + max - x, the item's
# observed range over the whole table (1..6 for every bfi item).
keyed <- function(d, k) {
  items <- sub("^-", "", k)
  x <- d[, items, drop = FALSE]
  for (i in which(startsWith(k, "-"))) {
    r <- range(bfi[[items[i]]], na.rm = TRUE)
    x[[i]] <- r[1] + r[2] - x[[i]]
  }
  x
}

# One scale's psych::alpha on data x (already keyed), as rows of the
# `reliability` and `items` tables.
alpha_case <- function(x, name, use) {
  a <- suppressWarnings(psych::alpha(x, use = use, warnings = FALSE))
  t <- a$total
  n <- nrow(x)
  scale <- list(scale = name, n_items = ncol(x), n = n,
                raw_alpha = t$raw_alpha, std_alpha = t$std.alpha, g6 = t[["G6(smc)"]],
                average_r = t$average_r, median_r = t$median_r, s_n = t[["S/N"]], ase = t$ase,
                mean = t$mean, sd = t$sd,
                feldt_lower = a$feldt$lower.ci[[1]], feldt_upper = a$feldt$upper.ci[[1]],
                var_r = a$var.r[[1]])
  d <- a$alpha.drop; s <- a$item.stats
  items <- lapply(seq_len(ncol(x)), function(i) list(
    scale = name, item = colnames(x)[i], n = s$n[i],
    raw_r = s$raw.r[i], std_r = s$std.r[i], r_cor = s$r.cor[i], r_drop = s$r.drop[i],
    mean = s$mean[i], sd = s$sd[i],
    alpha_if_deleted = d$raw_alpha[i], std_alpha_if_deleted = d$std.alpha[i],
    g6_if_deleted = d[["G6(smc)"]][i], average_r_if_deleted = d$average_r[i],
    s_n_if_deleted = d[["S/N"]][i], var_r_if_deleted = d$var.r[i], median_r_if_deleted = d$med.r[i]))
  list(scale = scale, items = items)
}

# omega total of a one-factor ML CFA of the keyed items (lavaan defaults:
# marker identification, ML, listwise), as semTools::compRelSEM reports it
# (obs.var = TRUE: the observed variance of the sum in the denominator),
# with the fitted loadings and residual variances for diagnosis.
omega_case <- function(x, name) {
  x <- na.omit(x)
  f <- gn(paste("F =~", paste(colnames(x), collapse = " + ")), data = x, std.lv = TRUE)
  pe <- parameterEstimates(f)
  list(scale = name, n = nrow(x), omega = unname(compRelSEM(f)[["F"]]),
       omega_model = unname(compRelSEM(f, obs.var = FALSE)[["F"]]),
       loadings = pe$est[pe$op == "=~"],
       residuals = pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs != "F"])
}

run_scales <- function(d, use, what) {
  out <- lapply(names(keys), function(s) {
    x <- keyed(d, keys[[s]])
    x <- if (use == "listwise") na.omit(x) else x[rowSums(!is.na(x)) > 0, , drop = FALSE]
    alpha_case(as.data.frame(x), s, if (use == "listwise") "complete.obs" else "pairwise")
  })
  list(reliability = lapply(out, `[[`, "scale"), items = do.call(c, lapply(out, `[[`, "items")))
}

for (use in c("listwise", "pairwise")) {
  r <- run_scales(bfi, use)
  write_case(c(list(case = paste0("reliability_bfi_", use), oracle = "psych::alpha",
                    versions = vers, missing = use, scales = scales_key), r))
}
# by gender (1 = male, 2 = female): one pass, both levels
lv <- lapply(c(1, 2), function(g) c(list(gender = g), run_scales(bfi[!is.na(bfi$gender) & bfi$gender == g, ], "listwise")))
write_case(list(case = "reliability_bfi_by_gender", oracle = "psych::alpha", versions = vers,
                missing = "listwise", scales = scales_key, levels = lv))

om <- lapply(names(keys), function(s) omega_case(keyed(bfi, keys[[s]]), s))
write_case(list(case = "reliability_bfi_omega", oracle = "semTools::compRelSEM", versions = vers,
                scales = scales_key, omega = om))

# Omega hierarchical: a bifactor CFA (general factor on every keyed item,
# one group factor per scale, all orthogonal, std.lv) on the listwise rows
# of all 25 items; compRelSEM of every factor (general = omega_h).
x <- na.omit(do.call(cbind, lapply(names(keys), function(s) keyed(bfi, keys[[s]]))))
bif <- paste0("general =~ ", paste(colnames(x), collapse = " + "), "\n",
              paste(sapply(names(keys), function(s) paste0(s, " =~ ", paste(sub("^-", "", keys[[s]]), collapse = " + "))),
                    collapse = "\n"))
fb <- gn(bif, data = x, std.lv = TRUE, orthogonal = TRUE)
cr <- compRelSEM(fb); crm <- compRelSEM(fb, obs.var = FALSE)
write_case(list(case = "reliability_bfi_bifactor", oracle = "semTools::compRelSEM", versions = vers,
                scales = scales_key, n = nrow(x), converged = lavInspect(fb, "converged"),
                factors = lapply(names(cr), function(f) list(factor = f, omega = unname(cr[[f]]),
                                                             omega_model = unname(crm[[f]])))))

# ---- cfa_job: composite reliability, AVE, Fornell-Larcker, HTMT ----------
# The cfa job is fitted by lavaan's defaults (marker loadings, ML,
# listwise); the reliability job reads its estimates and computes
# compRelSEM (obs.var TRUE / FALSE), AVE, htmt(model, data) (HTMT2, the
# default, and htmt2 = FALSE) and the
# Fornell-Larcker table (sqrt(AVE) on the diagonal, cor.lv off it).
validity_case <- function(case, model, data) {
  f <- gn(model, data = data)
  cr <- compRelSEM(f); crm <- compRelSEM(f, obs.var = FALSE); ave <- AVE(f)
  ht <- htmt(model, data = data)                  # default htmt2 = TRUE
  ht1 <- htmt(model, data = data, htmt2 = FALSE)
  phi <- lavInspect(f, "cor.lv")
  lv <- lavNames(f, "lv")
  fl <- phi; diag(fl) <- sqrt(ave[lv])
  write_case(list(case = case, oracle = "semTools::compRelSEM/AVE/htmt", versions = vers,
                  model = model, n = lavInspect(f, "nobs"), factors = lv,
                  validity = lapply(lv, function(v) list(factor = v, cr = unname(cr[[v]]),
                                                         cr_model = unname(crm[[v]]), ave = unname(ave[[v]]))),
                  fornell_larcker = lapply(lv, function(v) as.list(fl[v, lv])),
                  htmt = lapply(lv, function(v) as.list(unclass(ht)[v, lv])),
                  htmt1 = lapply(lv, function(v) as.list(unclass(ht1)[v, lv]))))
}
hs <- read_data("HolzingerSwineford1939")
validity_case("reliability_hs_validity",
              "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs)
validity_case("reliability_bfi_validity",
              paste("agree =~ A1 + A2 + A3 + A4 + A5", "consc =~ C1 + C2 + C3 + C4 + C5",
                    "extra =~ E1 + E2 + E3 + E4 + E5", "neuro =~ N1 + N2 + N3 + N4 + N5",
                    "open =~ O1 + O2 + O3 + O4 + O5", sep = "\n"), bfi)

# ---- weights: psych::alpha and semTools::compRelSEM fed a weighted covariance ----
# `weights = age` (any positive column serves; age has no missing value in
# bfi). Per scale, the listwise rows of its keyed items; cxfit's covariance
# is the analytic-weights one, sum w (x - xbar_w)(x - xbar_w)' / sum w *
# N / (N - 1) = cov.wt(method = "ML") * N / (N - 1) (N = rows): psych::alpha
# of that matrix (n.obs = N) gives every statistic a covariance determines
# (alpha, std alpha, G6, average/median r, var r, S/N, ase, alpha if
# deleted, std.r (psych's matrix branch calls it r), r.cor, r.drop); by
# hand here: raw.r (the weighted correlation of the item with the scale
# score, the row mean of the keyed items), the weighted means and sds
# (items and the scale score) and Feldt's CI (psych's
# alpha.ci with n.obs = N: its matrix branch passes the number of items).
wcov <- function(x, w) { n <- nrow(x); cov.wt(x, wt = w, method = "ML")$cov * n / (n - 1) }
weighted_case <- function(d, w_col) {
  out <- lapply(names(keys), function(s) {
    x <- keyed(d, keys[[s]])
    keep <- complete.cases(x) & !is.na(d[[w_col]])
    x <- as.matrix(x[keep, , drop = FALSE]); w <- d[[w_col]][keep]; n <- nrow(x); k <- ncol(x)
    C <- wcov(x, w)
    a <- suppressWarnings(psych::alpha(C, n.obs = n, warnings = FALSE))
    t <- a$total
    score <- rowMeans(x)
    sw <- sqrt(wcov(cbind(score), w)[1, 1])
    fe <- psych::alpha.ci(t$raw_alpha, n.obs = n, n.var = k)
    scale <- list(scale = s, n_items = k, n = n, raw_alpha = t$raw_alpha, std_alpha = t$std.alpha,
                  g6 = t[["G6(smc)"]], average_r = t$average_r, median_r = t$median_r,
                  s_n = t[["S/N"]], ase = t$ase, mean = weighted.mean(score, w), sd = sw,
                  feldt_lower = fe$lower.ci[[1]], feldt_upper = fe$upper.ci[[1]],
                  var_r = a$var.r[[1]])
    dd <- a$alpha.drop; st <- a$item.stats
    raw_r <- cov.wt(cbind(x, score), wt = w, cor = TRUE)$cor[1:k, k + 1]
    items <- lapply(seq_len(k), function(i) list(
      scale = s, item = colnames(x)[i], n = n,
      raw_r = unname(raw_r[i]), std_r = st$r[i], r_cor = st$r.cor[i], r_drop = st$r.drop[i],
      mean = weighted.mean(x[, i], w), sd = sqrt(C[i, i]),
      alpha_if_deleted = dd$raw_alpha[i], std_alpha_if_deleted = dd$std.alpha[i],
      g6_if_deleted = dd[["G6(smc)"]][i], average_r_if_deleted = dd$average_r[i],
      s_n_if_deleted = dd[["S/N"]][i], var_r_if_deleted = dd$var.r[i], median_r_if_deleted = dd$med.r[i]))
    # omega: the one-factor CFA on the weighted ML covariance (any scale
    # gives the same omega), lavaan's Gauss-Newton as above
    S <- cov.wt(x, wt = w, method = "ML")$cov
    f <- gn(paste("F =~", paste(colnames(x), collapse = " + ")), sample.cov = S, sample.nobs = n,
            std.lv = TRUE)
    om <- list(scale = s, n = n, omega = unname(compRelSEM(f)[["F"]]),
               omega_model = unname(compRelSEM(f, obs.var = FALSE)[["F"]]))
    list(scale = scale, items = items, omega = om)
  })
  # omega hierarchical: the bifactor on the weighted covariance of all 25 keyed items
  x <- do.call(cbind, lapply(names(keys), function(s) keyed(d, keys[[s]])))
  keep <- complete.cases(x) & !is.na(d[[w_col]])
  x <- as.matrix(x[keep, ]); w <- d[[w_col]][keep]
  fb <- gn(bif, sample.cov = cov.wt(x, wt = w, method = "ML")$cov, sample.nobs = nrow(x),
           std.lv = TRUE, orthogonal = TRUE)
  cr <- compRelSEM(fb); crm <- compRelSEM(fb, obs.var = FALSE)
  list(reliability = lapply(out, `[[`, "scale"), items = do.call(c, lapply(out, `[[`, "items")),
       omega = lapply(out, `[[`, "omega"), bifactor_n = nrow(x),
       bifactor = lapply(names(cr), function(f) list(factor = f, omega = unname(cr[[f]]),
                                                    omega_model = unname(crm[[f]]))))
}
write_case(c(list(case = "reliability_bfi_weighted", oracle = "psych::alpha, semTools::compRelSEM on cov.wt",
                  versions = vers, missing = "listwise", weights = "age", scales = scales_key),
             weighted_case(bfi, "age")))
