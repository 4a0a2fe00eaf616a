# refs_common.R — what the make_*_refs.R scripts share (sourced, not run):
# where the data and the JSON go, reading a shared CSV, and writing one
# reference JSON at full precision (digits = NA; NA/NaN -> null).
# The sourcing script sets `here` (its own folder) first.
suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(TRUE)
repo <- normalizePath(file.path(here, ".."))
# Command-line argument i, or `default` when there are fewer.
arg_or <- function(i, default) if (length(args) >= i) args[i] else default
data_dir <- arg_or(1, file.path(repo, "..", "shared", "reference", "data"))
out_dir <- arg_or(2, file.path(repo, "tests", "reference"))

read_data <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)

write_json <- function(x, path) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"), path)
  cat("wrote", path, "\n")
}

# One case: out_dir/<x$case>.json.
write_case <- function(x) write_json(x, file.path(out_dir, paste0(x$case, ".json")))
