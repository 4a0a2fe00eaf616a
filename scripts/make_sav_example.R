# make_sav_example.R — the bundled labelled survey example and its oracle.
#
# Writes, with R's haven (the writer most .sav files researchers receive
# come from, after SPSS itself):
#   datasets/survey_example.sav  SPSS: value labels, variable labels,
#                                user-missing codes (9) and a range (98-99)
#   datasets/survey_example.dta  Stata: the same data, user-missing as NA
#   datasets/survey_example.csv  the same data as `cxfit import` reads a CSV
#                                (missing empty, region as text)
#   tests/reference/survey_example.json  what haven reads back from the
#                                .sav and .dta: values (user-missing -> null),
#                                labels, categories, by the rule of
#                                docs/DECISIONS.md ("Import")
# tests/test_import_readstat.c compares `cxfit import` of both files with the
# JSON; tests/integration/import_formats.sh runs one study on the .sav and
# on the .csv import and compares the results.  Tests never need R.
#
# Usage: Rscript scripts/make_sav_example.R   (from the repository root;
# needs r-base-core, r-cran-haven, r-cran-jsonlite)
suppressPackageStartupMessages({
  library(haven)
  library(jsonlite)
})

set.seed(20261202)
n <- 120
likert <- c("Strongly disagree" = 1, "Disagree" = 2, "Neutral" = 3, "Agree" = 4,
            "Strongly agree" = 5, "Don't know" = 9)
questions <- c(q1 = "The staff were friendly", q2 = "My problem was solved",
               q3 = "The wait was acceptable", q4 = "I would come back")
trait <- rnorm(n)
item <- function(shift) {
  x <- pmin(5, pmax(1, round(3 + trait + shift + rnorm(n, sd = 0.8))))
  x[sample(n, 6)] <- 9          # "Don't know": user-missing in SPSS
  x[sample(n, 3)] <- NA         # no answer: system missing
  x
}
df <- data.frame(id = seq_len(n))
df$region <- factor(sample(c("East", "North", "South", "West"), n, replace = TRUE),
                    levels = c("East", "North", "South", "West"))
for (q in names(questions))
  df[[q]] <- labelled_spss(item(runif(1, -0.5, 0.5)), likert, na_values = 9,
                           label = questions[[q]])
nps <- pmin(10, pmax(0, round(7 + 2 * trait + rnorm(n))))
nps[sample(n, 4)] <- 98
nps[sample(n, 4)] <- 99
df$nps <- labelled_spss(nps, c("Not at all likely" = 0, "Extremely likely" = 10,
                               "Refused" = 98, "Don't know" = 99),
                        na_range = c(98, 99),
                        label = "How likely are you to recommend us to a friend?")
income <- round(exp(rnorm(n, 10, 0.5)), 2)
income[sample(n, 5)] <- NA
df$income <- labelled(income, label = "Household income")
df$visit <- as.Date("2026-01-01") + sample(0:300, n, replace = TRUE)
df$visit[sample(n, 2)] <- NA
df$comment <- sample(c("", "Great service", "Too slow", "Parking was hard", "Zoë was helpful"),
                     n, replace = TRUE, prob = c(0.6, 0.1, 0.1, 0.1, 0.1))

root <- "."
sav <- file.path(root, "datasets", "survey_example.sav")
dta <- file.path(root, "datasets", "survey_example.dta")
csv <- file.path(root, "datasets", "survey_example.csv")
write_sav(df, sav)

# Stata has no user-missing codes: they are NA there, and their labels go.
df_dta <- df
for (v in c(names(questions), "nps")) {
  x <- zap_missing(df[[v]])
  labs <- attr(df[[v]], "labels")
  labs <- labs[!(labs %in% c(9, 98, 99))]
  df_dta[[v]] <- labelled(as.numeric(x), labs, label = attr(df[[v]], "label", exact = TRUE))
}
write_dta(df_dta, dta)

# The equivalent CSV: what the .sav holds, as text (visit left out).
plain <- data.frame(id = df$id, region = as.character(df$region))
for (v in c(names(questions), "nps")) plain[[v]] <- as.numeric(zap_missing(df[[v]]))
plain$income <- as.numeric(df$income)
plain$comment <- df$comment
write.csv(plain, csv, row.names = FALSE, na = "")

# ---- the oracle: what haven reads back --------------------------------------

# Labels that survive: those of values that are not missing for the
# variable (na_values, na_range), sorted by value.
kept_labels <- function(x_user_na) {
  labs <- attr(x_user_na, "labels")
  if (is.null(labs)) return(NULL)
  miss <- attr(x_user_na, "na_values")
  rng <- attr(x_user_na, "na_range")
  drop <- labs %in% miss | (if (is.null(rng)) FALSE else labs >= rng[1] & labs <= rng[2])
  labs <- sort(labs[!drop])
  list(values = unname(as.numeric(labs)), labels = names(labs))
}

describe_file <- function(path, reader, nominal) {
  plain <- reader(path)                      # user-missing -> NA
  raw <- if (identical(reader, read_sav)) read_sav(path, user_na = TRUE) else plain
  cols <- lapply(names(plain), function(v) {
    x <- plain[[v]]
    out <- list(name = v, label = attr(x, "label", exact = TRUE) %||% "")
    if (is.character(x)) {
      x[x == ""] <- NA
      out$kind <- "categorical"
      out$categories <- sort(unique(x[!is.na(x)]), method = "radix")   # byte order
      out$values <- as.list(x)
    } else if (inherits(x, "Date")) {
      out$kind <- "date"
      out$values <- as.list(as.numeric(x))
    } else if (v %in% nominal) {
      labs <- kept_labels(raw[[v]])
      out$kind <- "categorical"
      out$categories <- labs$labels
      out$values <- as.list(as.character(as_factor(x, levels = "labels")))
    } else {
      out$kind <- "numeric"
      out$values <- as.list(as.numeric(zap_labels(x)))
      labs <- kept_labels(raw[[v]])
      if (!is.null(labs)) out$value_labels <- labs
    }
    out
  })
  list(file = basename(path), nrows = nrow(plain), columns = cols)
}
`%||%` <- function(a, b) if (is.null(a)) b else a

ref <- list(
  generated_by = "scripts/make_sav_example.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  haven = as.character(packageVersion("haven"))),
  sav = describe_file(sav, read_sav, nominal = "region"),   # factors are written nominal
  dta = describe_file(dta, read_dta, nominal = character(0))
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(root, "tests", "reference", "survey_example.json"))
cat("wrote", sav, dta, csv, "and tests/reference/survey_example.json\n")
