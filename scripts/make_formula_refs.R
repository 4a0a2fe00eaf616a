# make_formula_refs.R — the oracle for cxfit's formula language and design
# matrices (engine/formula.c, engine/design*.c): R's model.matrix on the
# model frame lm() builds (na.omit, drop.unused.levels = TRUE), for a small
# data set with missing values, unused factor levels, a numeric factor,
# transformations, interactions and scale scores.
#
# Usage: Rscript scripts/make_formula_refs.R [OUT_DIR]   (default tests/reference)
# Writes OUT_DIR/formula_design.json: the data (test_design.c writes it to
# an HDF5 fixture) and, per formula, R's column names (translated to
# cxfit's level notation, see below), matrix, outcome, weights and the
# 1-based rows used.  Needs only base R and jsonlite.
#
# Names: cxfit writes a factor level as `column[level]` (the results
# contract: rhs = "segment[b]").  To get these names from R itself, the
# categorical columns enter R as factors whose labels are "[a]", "[b]", so
# model.matrix prints "seg[b]"; for factor(wave) over a numeric column R
# prints "factor(wave)2", rewritten to "wave[2]" below.
suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path("tests", "reference")

set.seed(14)
n <- 60
seg <- sample(0:2, n, TRUE)          # categories a b c d: d never occurs
grp <- sample(0:1, n, TRUE)          # north south west: west only where x is missing
wave <- sample(c(1, 2, 3, 5), n, TRUE)
x <- round(rnorm(n), 3)
z <- round(runif(n, 0.5, 3), 3)
y <- round(1 + x + 0.5 * seg + rnorm(n), 3)
w <- round(runif(n, 0.2, 2), 3)
p1 <- sample(1:5, n, TRUE); p2 <- sample(1:5, n, TRUE)
p3 <- sample(2:5, n, TRUE)           # observed range 2..5, not 1..5
p4 <- sample(1:5, n, TRUE)
y[3] <- NA; x[7] <- NA; grp[7] <- 2; w[11] <- NA; z[20] <- NA
p1[c(5, 6, 8)] <- NA; p2[c(5, 6)] <- NA; p3[c(5, 9)] <- NA; p4[c(9)] <- NA

seg_labels <- c("a", "b", "c", "d")
grp_labels <- c("north", "south", "west")
bracket <- function(codes, labels) factor(labels[codes + 1], levels = labels,
                                          labels = paste0("[", labels, "]"))

# Scale scores as docs/FORMULA.md defines them: reverse-keyed items on the
# item's observed range over all rows; a score when at least half the
# items are present; mean of present items; sum = that mean x items.
score <- function(items, reverse, fun) {
  m <- sapply(seq_along(items), function(j) {
    v <- items[[j]]
    if (reverse[j]) min(v, na.rm = TRUE) + max(v, na.rm = TRUE) - v else v
  })
  k <- rowSums(!is.na(m))
  mean_present <- rowMeans(m, na.rm = TRUE)
  s <- if (fun == "mean") mean_present else mean_present * ncol(m)
  ifelse(2 * k >= ncol(m), s, NA)
}
PEX <- score(list(p1, p2, p3, p4), c(FALSE, FALSE, TRUE, FALSE), "mean")
TOT <- score(list(p1, p2, p3), c(FALSE, FALSE, FALSE), "sum")

df <- data.frame(y = y, x = x, z = z, w = w, wave = wave,
                 seg = bracket(seg, seg_labels), grp = bracket(grp, grp_labels),
                 PEX = PEX, TOT = TOT)

rename <- function(names) {
  sapply(strsplit(names, ":", fixed = TRUE), function(pieces)
    paste(sub("^factor\\(([A-Za-z0-9_.]+)\\)(.*)$", "\\1[\\2]", pieces), collapse = ":"))
}

design_case <- function(formula, weights = FALSE) {
  f <- as.formula(formula)
  mf <- if (weights) model.frame(f, data = df, weights = w, na.action = na.omit,
                                 drop.unused.levels = TRUE)
        else model.frame(f, data = df, na.action = na.omit, drop.unused.levels = TRUE)
  mm <- model.matrix(attr(mf, "terms"), mf)
  list(formula = formula, weights = if (weights) "w" else NULL,
       colnames = rename(colnames(mm)), x = unname(mm),
       y = unname(model.response(mf)),
       w = if (weights) unname(model.weights(mf)) else NULL,
       rows = as.integer(rownames(mf)))
}

formulas <- c("y ~ x + seg", "y ~ seg * x", "y ~ seg:x", "y ~ seg + seg:grp", "y ~ seg * grp",
              "y ~ x + seg - 1", "y ~ 0 + seg:grp", "y ~ x:z + seg:grp:x",
              "y ~ factor(wave) + I(x^2) + log(z) + sqrt(z) + exp(x) + I((x + 1)/2)",
              "y ~ (x + z + seg)^2", "y ~ grp/x", "y ~ factor(wave):seg", "y ~ x + grp",
              "y ~ PEX + TOT + seg", "log(z) ~ x*z - z")
cases <- c(lapply(formulas, design_case), list(design_case("y ~ x + seg", weights = TRUE)))

na_null <- function(v) { v <- as.numeric(v); v }
out <- list(
  note = "written by scripts/make_formula_refs.R; R's model.matrix on lm's model frame",
  R = paste(R.version$major, R.version$minor, sep = "."),
  n = n,
  columns = list(y = y, x = x, z = z, w = w, wave = wave, seg = seg, grp = grp,
                 p1 = p1, p2 = p2, p3 = p3, p4 = p4),
  categories = list(seg = seg_labels, grp = grp_labels),
  scores = "PEX: mean(p1 p2 -p3 p4); TOT: sum(p1, p2, p3)",
  expected_scores = list(PEX = PEX, TOT = TOT),
  cases = cases)
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
path <- file.path(out_dir, "formula_design.json")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null",
                  matrix = "rowmajor"), path)
cat("wrote", path, "\n")
