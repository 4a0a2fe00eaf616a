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
# their Monte Carlo standard deviations over many iterations.
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

# Heywood cases: HolzingerSwineford1939's 9 tests with 4 factors; ml holds
# one uniqueness at psych's lower bound 0.005, minres's optimum is inside.
hs <- read.csv(sub("bfi.csv", "HolzingerSwineford1939.csv", csv, fixed = TRUE))
hsx <- na.omit(hs[, paste0("x", 1:9)])
hs_cases <- list()
for (fm in c("ml", "minres")) for (rot in c("none", "varimax", "oblimin")) {
  f1 <- suppressWarnings(suppressMessages(fa(hsx, nfactors = 4, fm = fm, rotate = rot)))
  f2 <- suppressWarnings(suppressMessages(fac_tight(hsx, nfactors = 4, fm = fm, rotate = rot)))
  hs_cases[[length(hs_cases) + 1]] <- list(name = paste("hs", fm, rot, "4f", sep = "_"), method = fm,
                                           rotation = rot, factors = 4, n = nrow(hsx),
                                           call = sprintf('fa(HolzingerSwineford1939[, paste0("x", 1:9)], 4, fm = "%s", rotate = "%s")', fm, rot),
                                           psych = summarise(f1), tight = summarise(f2))
}
writeLines(toJSON(list(data = "HolzingerSwineford1939 (lavaan), x1..x9", n = nrow(hsx),
                       versions = as.list(versions), cor = lapply(1:9, function(j) unname(cor(hsx)[, j])),
                       items = paste0("x", 1:9), cases = hs_cases),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           file.path(out, "efa_hs_heywood.json"))

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
