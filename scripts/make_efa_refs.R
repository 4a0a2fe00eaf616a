# make_efa_refs.R — reference values for `model = efa` from psych::fa and
# psych::fa.parallel on bfi (25 items, listwise: 2436 complete rows).
#
#   Rscript scripts/make_efa_refs.R /work/shared/reference/data/bfi.csv tests/reference
#
# Writes tests/reference/efa_bfi.json: one case per method x rotation, each
# with psych::fa as shipped ("psych") and with psych's own code but its
# L-BFGS-B run to convergence ("tight": factr = 1, pgtol = 0; psych's
# default factr 1e7 stops minres/ml ~1e-6 short of the optimum, which is
# what cxfit's Newton iteration finds).  pa does not use optim: both agree.
# And efa_parallel_bfi.json: fa.parallel's simulated eigenvalue means and
# their Monte Carlo standard deviations over many iterations;
# efa_bfi_by_gender.json; efa_heywood.json: Heywood cases (a uniqueness at
# psych's bound 0.005) on HolzingerSwineford1939 and bfi subsets, with
# psych's code run to the exact box-constrained optimum (see below).
suppressPackageStartupMessages({ library(psych); library(GPArotation); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
csv <- if (length(args) >= 1) args[1] else "/work/shared/reference/data/bfi.csv"
out <- if (length(args) >= 2) args[2] else "tests/reference"
bfi <- read.csv(csv)
items <- na.omit(bfi[, 1:25])
R <- cor(items)
n <- nrow(items)

# psych's fac with optim run to convergence (the only change: optim control)
fac_tight <- psych:::fac
src <- paste(deparse(fac_tight), collapse = "\n")
src <- gsub("parscale = rep\\(0.01,\\s*length\\(start\\)\\)\\)", "parscale = rep(0.01, length(start)), factr = 1, pgtol = 0, maxit = 10000)", src)
stopifnot(lengths(regmatches(src, gregexpr("factr = 1,", src))) == 4)
fac_tight <- eval(parse(text = src))
environment(fac_tight) <- asNamespace("psych")

summarise <- function(f) {
  L <- unclass(f$loadings)
  k <- ncol(L)
  phi <- if (is.null(f$Phi)) diag(k) else f$Phi
  vx <- if (k > 1) f$Vaccounted[1, ] else sum(L^2)
  list(loadings = lapply(seq_len(k), function(j) unname(L[, j])),
       factor_names = colnames(L),
       communality = unname(f$communality), uniqueness = unname(f$uniquenesses),
       complexity = unname(f$complexity),
       phi = lapply(seq_len(k), function(j) I(unname(phi[, j]))),
       values = unname(f$values), e_values = unname(f$e.values), ss_loadings = I(unname(vx)),
       fit = list(objective = f$objective, chisq = f$STATISTIC, df = f$dof, pvalue = f$PVAL,
                  null_chisq = f$null.chisq, null_df = f$null.dof, tli = f$TLI, cfi = f$CFI,
                  rmsea = unname(f$RMSEA[1]), rmsea_lower = unname(f$RMSEA[2]),
                  rmsea_upper = unname(f$RMSEA[3]), bic = f$BIC, sabic = f$SABIC,
                  rms = f$rms, crms = f$crms, e_chisq = f$chi, e_pvalue = f$EPVAL,
                  e_bic = f$EBIC, fit = f$fit, fit_off = f$fit.off))
}

rotations <- c(none = "none", varimax = "varimax", quartimax = "quartimax", promax = "promax",
               oblimin = "oblimin", quartimin = "quartimin", geomin = "geominQ")
cases <- list()
for (fm in c("minres", "ml", "pa")) for (rot in names(rotations)) {
  nf <- 5
  call <- sprintf('fa(na.omit(bfi[, 1:25]), nfactors = %d, fm = "%s", rotate = "%s")', nf, fm, rotations[[rot]])
  f1 <- suppressWarnings(fa(items, nfactors = nf, fm = fm, rotate = rotations[[rot]]))
  f2 <- suppressWarnings(fac_tight(items, nfactors = nf, fm = fm, rotate = rotations[[rot]]))
  cases[[length(cases) + 1]] <- list(name = paste("bfi", fm, rot, sep = "_"), method = fm,
                                     rotation = rot, factors = nf, n = n, call = call,
                                     psych = summarise(f1), tight = summarise(f2))
}
# one factor and two factors: small cases with other shapes
for (nf in 1:2) {
  f1 <- fa(items, nfactors = nf, fm = "ml", rotate = if (nf > 1) "oblimin" else "none")
  f2 <- fac_tight(items, nfactors = nf, fm = "ml", rotate = if (nf > 1) "oblimin" else "none")
  cases[[length(cases) + 1]] <- list(name = sprintf("bfi_ml_%df", nf), method = "ml",
                                     rotation = if (nf > 1) "oblimin" else "none", factors = nf,
                                     n = n, call = sprintf("fa(…, nfactors = %d, fm = \"ml\")", nf),
                                     psych = summarise(f1), tight = summarise(f2))
}
versions <- sapply(c("psych", "GPArotation", "jsonlite"), function(p) as.character(packageVersion(p)))
dir.create(out, showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(list(data = "bfi (psych), columns 1:25, complete rows", n = n,
                       versions = as.list(versions), R = R.version.string,
                       cor = lapply(1:25, function(j) unname(R[, j])), items = names(items), cases = cases),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           file.path(out, "efa_bfi.json"))

# `by = gender`: one solution per level (ml, oblimin, 5 factors).
by_levels <- lapply(1:2, function(g) {
  xg <- na.omit(bfi[bfi$gender == g, 1:25])
  list(gender = g, n = nrow(xg),
       psych = summarise(fa(xg, nfactors = 5, fm = "ml", rotate = "oblimin")),
       tight = summarise(fac_tight(xg, nfactors = 5, fm = "ml", rotate = "oblimin")))
})
writeLines(toJSON(list(data = "bfi, columns 1:25, complete rows, by gender", versions = as.list(versions),
                       call = 'by(bfi, bfi$gender, function(d) fa(na.omit(d[, 1:25]), 5, fm = "ml", rotate = "oblimin"))',
                       levels = by_levels),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           file.path(out, "efa_bfi_by_gender.json"))

# Heywood cases: a uniqueness at psych's lower bound 0.005.
# ml: psych's fac run to convergence ("tight") is the exact box-constrained
# optimum.  minres: psych minimizes fit.residuals (the off-diagonal
# residuals) but hands L-BFGS-B the ULS gradient FAgr.minres, which is not
# fit.residuals' gradient once an item sits on the bound (the held item's
# diagonal residual does not vanish), so its L-BFGS-B stops where the line
# search fails, whatever factr.  "tight" for minres is psych's fac with
# fit.residuals' own gradient (offdiag_gradient below, checked against
# central differences) and factr = 1: the exact box-constrained minimum of
# psych's objective from psych's start, by psych's optimizer.
offdiag_value <- function(Psi, S, nf) {
  A <- S; diag(A) <- 1 - Psi
  e <- eigen(A, symmetric = TRUE)
  L <- e$vectors[, 1:nf, drop = FALSE] %*% diag(sqrt(pmax(e$values[1:nf], 0)), nf)
  E <- A - L %*% t(L)
  sum(E[lower.tri(E)]^2)
}
# d = diag of the residual E; dE = V (F o (V' dA V)) V' (Daleckii-Krein),
# F the divided differences of lambda -> lambda [not kept]; dA/dPsi_a = -e_a e_a'
offdiag_gradient <- function(Psi, S, nf, ...) {
  A <- S; diag(A) <- 1 - Psi
  e <- eigen(A, symmetric = TRUE); lam <- e$values; V <- e$vectors; p <- length(lam)
  kept <- seq_len(p) <= nf & lam > 0
  E <- V[, !kept, drop = FALSE] %*% diag(lam[!kept], sum(!kept)) %*% t(V[, !kept, drop = FALSE])
  d <- diag(E)
  Fm <- matrix(0, p, p)
  for (j in 1:p) for (l in 1:p)
    Fm[j, l] <- if (!kept[j] && !kept[l]) 1 else if (kept[j] && kept[l]) 0 else
      if (!kept[j]) lam[j] / (lam[j] - lam[l]) else lam[l] / (lam[l] - lam[j])
  -d + diag(V %*% (Fm * (t(V) %*% diag(d) %*% V)) %*% t(V))
}
local({
  set.seed(1); S <- cor(items[, 1:9]); x <- runif(9, 0.2, 0.8)
  num <- sapply(1:9, function(i) { h <- 1e-6 * diag(9)[i, ]
    (offdiag_value(x + h, S, 3) - offdiag_value(x - h, S, 3)) / 2e-6 })
  stopifnot(max(abs(num - offdiag_gradient(x, S, 3))) < 1e-8)
})
fac_exact <- psych:::fac
src <- paste(deparse(fac_exact), collapse = "\n")
src <- gsub("parscale = rep\\(0.01,\\s*length\\(start\\)\\)\\)", "parscale = rep(0.01, length(start)), factr = 1, pgtol = 0, maxit = 10000)", src)
src <- sub("gr = FAgr.minres,", "gr = offdiag_gradient,", src, fixed = TRUE)
stopifnot(grepl("gr = offdiag_gradient,", src, fixed = TRUE))
fac_exact <- eval(parse(text = src))
environment(fac_exact) <- list2env(list(offdiag_gradient = offdiag_gradient), parent = asNamespace("psych"))

hs <- read.csv(sub("bfi.csv", "HolzingerSwineford1939.csv", csv, fixed = TRUE))
hsx <- na.omit(hs[, paste0("x", 1:9)])
heywood_sets <- list(
  hs = list(x = hsx, label = 'HolzingerSwineford1939[, paste0("x", 1:9)]'),
  bfi_ac = list(x = items[, 1:10], label = "na.omit(bfi[, 1:25])[, 1:10] (A1..C5)"),
  bfi_cn = list(x = items[, c(6:10, 16:20)], label = "na.omit(bfi[, 1:25])[, c(6:10, 16:20)] (C1..C5, N1..N5)"),
  bfi_en = list(x = items[, 11:20], label = "na.omit(bfi[, 1:25])[, 11:20] (E1..N5)"),
  bfi_a = list(x = items[, 1:5], label = "na.omit(bfi[, 1:25])[, 1:5] (A1..A5)"))
heywood_specs <- list(
  list("hs", "ml", "none", 4), list("hs", "ml", "varimax", 4), list("hs", "ml", "oblimin", 4),
  list("hs", "minres", "none", 4), list("hs", "minres", "varimax", 4), list("hs", "minres", "oblimin", 4),
  list("hs", "ml", "oblimin", 5), list("hs", "minres", "oblimin", 5), list("bfi_ac", "minres", "varimax", 4),
  list("bfi_cn", "minres", "oblimin", 5), list("bfi_en", "minres", "promax", 5),
  list("bfi_a", "minres", "varimax", 2))
held_of <- function(f) which(abs(1 - f$communalities - 0.005) < 1e-9)
hs_cases <- lapply(heywood_specs, function(sp) {
  d <- heywood_sets[[sp[[1]]]]; fm <- sp[[2]]; rot <- sp[[3]]; nf <- sp[[4]]
  f1 <- suppressWarnings(suppressMessages(fa(d$x, nfactors = nf, fm = fm, rotate = rot)))
  f2 <- suppressWarnings(suppressMessages((if (fm == "ml") fac_tight else fac_exact)(d$x, nfactors = nf, fm = fm, rotate = rot)))
  stopifnot(length(held_of(f1)) > 0, identical(held_of(f1), held_of(f2)))
  S <- cor(d$x)
  obj <- function(f) if (fm == "minres") offdiag_value(1 - f$communalities, S, nf) else NA
  # psych's objective at psych as shipped and at the exact optimum: the
  # optimum is lower, so psych's stop is short of it (not another minimum)
  if (fm == "minres") stopifnot(obj(f2) <= obj(f1))
  list(name = paste(sp[[1]], fm, rot, paste0(nf, "f"), sep = "_"), data = sp[[1]], method = fm,
       rotation = rot, factors = nf, n = nrow(d$x),
       call = sprintf('fa(%s, %d, fm = "%s", rotate = "%s")', d$label, nf, fm, rot),
       items = names(d$x), cor = lapply(seq_len(ncol(S)), function(j) unname(S[, j])),
       held = I(names(d$x)[held_of(f1)]),
       objective_psych = obj(f1), objective_exact = obj(f2),
       psych = summarise(f1), tight = summarise(f2))
})
writeLines(toJSON(list(data = "HolzingerSwineford1939 (lavaan) x1..x9; bfi (psych) complete rows, subsets",
                       versions = as.list(versions), cases = hs_cases),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           file.path(out, "efa_heywood.json"))

# Parallel analysis: the simulated (normal) eigenvalues depend on n and p
# only; their mean over 20 iterations (fa.parallel's default) is compared
# with cxfit's within Monte Carlo error, so record the mean and sd over
# many iterations, and what fa.parallel itself reports.
set.seed(20261202)
options(mc.cores = 1)  # fa.parallel's mclapply: one process, so set.seed holds
pa <- fa.parallel(items, fm = "minres", fa = "both", n.iter = 20, plot = FALSE)
sims <- t(replicate(400, eigen(cor(matrix(rnorm(n * 25), n)), only.values = TRUE)$values))
writeLines(toJSON(list(n = n, p = 25, n_iter = 20, call = "fa.parallel(na.omit(bfi[, 1:25]), fm = \"minres\", fa = \"both\", n.iter = 20)",
                       pc_values = pa$pc.values, fa_values = pa$fa.values,
                       pc_sim = pa$pc.sim, pc_simr = pa$pc.simr, fa_sim = pa$fa.sim,
                       nfact = pa$nfact, ncomp = pa$ncomp,
                       sim_mean = colMeans(sims), sim_sd = apply(sims, 2, sd), sim_draws = 400,
                       versions = as.list(versions)),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           file.path(out, "efa_parallel_bfi.json"))
