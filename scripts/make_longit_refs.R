# make_longit_refs.R — lavaan reference for the longitudinal CFA on a
# respondent panel made wide (cxfit's `wide = respondent wave`, engine/
# derived_wide.c): tests/reference/longit_pex_cfa.json.
#
# Usage: Rscript scripts/make_longit_refs.R [OUT_DIR]   (default tests/reference)
# Needs h5dump (hdf5-tools): the long /responses of datasets/panel.h5
# (`cxfit simulate --firms 6 --waves 3 --respondents 150 --panel 80
# --seed 1`, scripts/make_datasets.sh) are read through
# scripts/h5_to_csv.sh at full precision, so R sees exactly cxfit's data.
#
# The wide table is built here by hand, independently of cxfit: the panel
# members' rows (panel == 1), one data frame per wave, merged on
# respondent, items renamed pex1_w1 ... pex5_w3.  lavaan then fits the
# same syntax as configs/reference/longit_pex_cfa.ini (listwise, ML).
# The JSON has the layout of make_refs.R's sem_case (the same helpers,
# kept to the columns test_reference_sem.c reads).
suppressPackageStartupMessages({ library(lavaan); library(jsonlite) })

here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))),
                 error = function(e) "scripts")
source(file.path(here, "refs_common.R"))
out_dir <- arg_or(1, file.path(repo, "tests", "reference")) # no DATA_DIR: the data is datasets/panel.h5

items <- paste0("pex", 1:5)
csv <- tempfile(fileext = ".csv")
status <- system2("bash", c(file.path(repo, "scripts", "h5_to_csv.sh"), file.path(repo, "datasets", "panel.h5"),
                            "/responses", "respondent", "wave", "panel", items), stdout = csv)
stopifnot(status == 0)
long <- read.csv(csv)
long[items][long[items] == 255] <- NA # simulate's missing_value

# Wide by hand: one data frame per wave, merged on respondent.
members <- long[long$panel == 1, ]
wide <- NULL
for (w in sort(unique(members$wave))) {
  part <- members[members$wave == w, c("respondent", items)]
  names(part)[-1] <- paste0(items, "_w", w)
  wide <- if (is.null(wide)) part else merge(wide, part, by = "respondent", all = TRUE)
}
wide <- wide[order(wide$respondent), ]

model <- paste(
  "PEX1 =~ pex1_w1 + l2*pex2_w1 + l3*pex3_w1 + l4*pex4_w1 + l5*pex5_w1",
  "PEX2 =~ pex1_w2 + l2*pex2_w2 + l3*pex3_w2 + l4*pex4_w2 + l5*pex5_w2",
  "PEX3 =~ pex1_w3 + l2*pex2_w3 + l3*pex3_w3 + l4*pex4_w3 + l5*pex5_w3",
  paste(sapply(items, function(i) sprintf("%s_w1 ~~ %s_w2 + %s_w3\n%s_w2 ~~ %s_w3", i, i, i, i, i)), collapse = "\n"),
  sep = "\n")
# lavaan stops 1.8e-12 above the optimum in fmin (cxfit: 0.07831122836846,
# lavaan: 0.07831122837024): a few 1e-6 relative in the flat residual
# covariances (test_reference_sem.c; tighter rel.tol makes nlminb fail).
f <- cfa(model, data = wide)
cat("fmin", sprintf("%.15g", fitMeasures(f, "fmin")), "\n")

vers <- list(R = paste(R.version$major, R.version$minor, sep = "."),
             lavaan = as.character(packageVersion("lavaan")), jsonlite = as.character(packageVersion("jsonlite")))
pe <- parameterEstimates(f, standardized = TRUE)
pe$group <- 0L
names(pe)[match(c("ci.lower", "ci.upper", "std.lv", "std.all"), names(pe))] <- c("ci_lower", "ci_upper", "std_lv", "std_all")
pe <- pe[, c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all")]
rownames(pe) <- NULL
x <- list(case = "longit_pex_cfa", dataset = "panel (datasets/panel.h5 /responses, panel members, wide by wave)",
          model = model, r_call = "cfa(model, data = wide)", package_versions = vers,
          converged = lavInspect(f, "converged"), nobs = sum(lavInspect(f, "nobs")),
          nobs_per_group = I(as.integer(lavInspect(f, "nobs"))), group_labels = I(character(0)),
          n_wide_rows = nrow(wide), wide_columns = I(names(wide)),
          wide_column_sums = as.list(colSums(wide, na.rm = TRUE)),
          wide_column_nonmissing = as.list(colSums(!is.na(wide))),
          estimates = pe, fit = as.list(unclass(fitMeasures(f))),
          r2 = list(as.list(unclass(lavInspect(f, "r2")))))
write_case(x)
