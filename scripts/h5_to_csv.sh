#!/usr/bin/env bash
# h5_to_csv.sh — one cxfit column table of an HDF5 file as CSV, so an R
# reference script can read exactly the numbers cxfit reads (R here has no
# HDF5 package).  Values are printed with 17 significant digits (exact for
# float64); categorical columns come out as their integer codes and a
# column's missing_value code (255 for simulate's items) as written: the
# reader decides what is missing.
#
# Usage: bash scripts/h5_to_csv.sh FILE.h5 TABLE COL... > out.csv
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: h5_to_csv.sh FILE.h5 TABLE COL..." >&2; exit 2; }
h5=$1 table=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=()
for col in "$@"; do
    # -y: no indices, -w0: one line, -m: full precision; keep the DATA block only
    h5dump -y -w 0 -m '%.17g' -d "$table/$col" "$h5" |
        awk '/DATA \{/{on=1; next} on && /^ *\}/{exit} on' |
        tr -d ' ' | tr ',' '\n' | sed '/^$/d' > "$tmp/$col"
    files+=("$tmp/$col")
done
(IFS=,; echo "$*")
paste -d, "${files[@]}"
