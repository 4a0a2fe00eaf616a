#!/usr/bin/env bash
# make_datasets.sh — regenerate the bundled data in datasets/ with cxfit:
# the public reference datasets imported from their CSVs (table /data each;
# the same CSVs scripts/make_refs.R reads, so R and cxfit see the same
# numbers) and the simulated demo panel (defaults, seed 1).  The output is
# byte-for-byte reproducible: HDF5 timestamps are not written.
#
# Usage: bash scripts/make_datasets.sh [DATA_DIR]
#   DATA_DIR  the reference CSVs (default ../shared/reference/data)
#   CXFIT     environment variable: the cxfit binary (default build/cxfit)
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${1:-../shared/reference/data}
cxfit=${CXFIT:-./build/cxfit}
[ -x "$cxfit" ] || { echo "make_datasets.sh: no $cxfit (build first: bash scripts/setup.sh)" >&2; exit 2; }

mkdir -p datasets
for name in HolzingerSwineford1939 PoliticalDemocracy bfi Demo.growth Grunfeld EmplUK sleepstudy housing; do
    # import adds a table to an existing file and never replaces one: start afresh
    rm -f "datasets/$name.h5"
    "$cxfit" import "$data_dir/$name.csv" "datasets/$name.h5" --table /data
done
# Cells removed at random by scripts/make_fiml_refs.R (missing = fiml cases);
# lme4's Pastes (nested) and Penicillin (crossed), written as CSV by
# scripts/make_mixed_refs.R and kept in datasets/
for name in HolzingerSwineford1939_missing HolzingerSwineford1939_missing_x Demo.growth_missing Pastes Penicillin; do
    rm -f "datasets/$name.h5"
    "$cxfit" import "datasets/$name.csv" "datasets/$name.h5" --table /data
done
rm -f datasets/demo.h5
"$cxfit" simulate datasets/demo.h5 --seed 1
# a respondent panel for the longitudinal CFA (configs/longitudinal_cfa.ini)
rm -f datasets/panel.h5
"$cxfit" simulate datasets/panel.h5 --firms 6 --waves 3 --respondents 150 --panel 80 --seed 1
# HolzingerSwineford1939 with weight columns (w, fw: functions of id), the
# CSV written by scripts/make_weights_refs.R next to its references
rm -f datasets/HolzingerSwineford1939_weighted.h5
"$cxfit" import datasets/HolzingerSwineford1939_weighted.csv \
    datasets/HolzingerSwineford1939_weighted.h5 --table /data
# bfi with a row number and a weight of it (w), the CSV written by
# scripts/make_ordinal_refs.R next to its weighted references
rm -f datasets/bfi_weighted.h5
"$cxfit" import datasets/bfi_weighted.csv datasets/bfi_weighted.h5 --table /data
ls -l datasets/*.h5
