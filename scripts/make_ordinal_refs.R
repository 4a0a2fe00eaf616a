# make_ordinal_refs.R — reference values for ordinal items (lavaan's
# ordered = ..., estimator = "WLSMV"): tests/reference/<case>.json.
#
# Usage: Rscript scripts/make_ordinal_refs.R [DATA_DIR] [OUT_DIR]
# (same arguments and data as make_refs.R).  Besides the usual SEM sections
# (estimates, fit, r2, nobs) every case records lavaan's sample statistics
# of the ordinal items (lavInspect(fit, "sampstat"): thresholds and the
# polychoric correlation matrix per group) and the diagonal of Gamma
# (lavInspect(fit, "gamma"), NACOV), the weights DWLS uses.
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })

args <- commandArgs(TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
repo <- normalizePath(file.path(here, ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "reference", "data")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "reference")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
vers <- list(R = paste(R.version$major, R.version$minor, sep = "."), lavaan = as.character(packageVersion("lavaan")))

write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}

sem_estimates <- function(f) {
  pe <- parameterEstimates(f, standardized = TRUE)
  pe$group <- if (is.null(pe$group) || lavInspect(f, "ngroups") == 1) 0L else as.integer(pe$group)
  names(pe)[match(c("ci.lower", "ci.upper", "std.lv", "std.all"), names(pe))] <- c("ci_lower", "ci_upper", "std_lv", "std_all")
  cols <- c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all")
  pe <- pe[, intersect(cols, names(pe))]
  rownames(pe) <- NULL
  pe
}

sem_r2 <- function(f) {
  r2 <- lavInspect(f, "r2")
  if (lavInspect(f, "ngroups") == 1) r2 <- list(r2)
  lapply(r2, function(v) as.list(unclass(v)))
}

# Thresholds (named "item|tk"), polychorics and diag(Gamma) per group.
ordinal_sampstat <- function(f) {
  ss <- lavInspect(f, "sampstat")
  gm <- lavInspect(f, "gamma")
  if (lavInspect(f, "ngroups") == 1) { ss <- list(ss); gm <- list(gm) }
  lapply(seq_along(ss), function(g) list(
    th_names = I(names(ss[[g]]$th)), th = I(as.numeric(ss[[g]]$th)),
    ov_names = I(rownames(ss[[g]]$cov)), polychoric = unname(unclass(ss[[g]]$cov)),
    gamma_diag = I(as.numeric(diag(gm[[g]])))))
}

ordinal_case <- function(case, model, r_call, f) {
  write_case(list(case = case, dataset = "bfi", model = model, r_call = r_call, package_versions = vers,
                  converged = lavInspect(f, "converged"),
                  nobs = sum(lavInspect(f, "nobs")),
                  nobs_per_group = I(as.integer(lavInspect(f, "nobs"))),
                  group_labels = I(as.character(lavInspect(f, "group.label"))),
                  estimates = sem_estimates(f),
                  fit = as.list(unclass(fitMeasures(f))),
                  r2 = sem_r2(f), ordinal = ordinal_sampstat(f)))
}

bfi <- read.csv(file.path(data_dir, "bfi.csv"), stringsAsFactors = FALSE)
items <- c(paste0("A", 1:5), paste0("C", 1:5))
model2 <- "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"

f <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV")
ordinal_case("bfi_wlsmv", model2, "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\")", f)

f1 <- cfa("agree =~ A1 + A2 + A3 + A4 + A5", data = bfi, ordered = items[1:5], estimator = "WLSMV", std.lv = TRUE)
ordinal_case("bfi_wlsmv_stdlv", "agree =~ A1 + A2 + A3 + A4 + A5",
             "cfa(model, data = bfi, ordered = c(A1..A5), estimator = \"WLSMV\", std.lv = TRUE)", f1)

# A structural regression between the two factors (sem()).
model3 <- paste(model2, "agree ~ consc", sep = "\n")
fs <- sem(model3, data = bfi, ordered = items, estimator = "WLSMV")
ordinal_case("bfi_wlsmv_sem", model3, "sem(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\")", fs)

fg <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender")
ordinal_case("bfi_wlsmv_mg", model2,
             "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\")", fg)
fgm <- cfa(model2, data = bfi, ordered = items, estimator = "WLSMV", group = "gender",
           group.equal = c("thresholds", "loadings"))
ordinal_case("bfi_wlsmv_mg_metric", model2,
             "cfa(model, data = bfi, ordered = c(A1..A5, C1..C5), estimator = \"WLSMV\", group = \"gender\", group.equal = c(\"thresholds\", \"loadings\"))", fgm)
