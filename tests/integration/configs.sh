#!/usr/bin/env bash
# configs.sh — every config shipped in configs/ is valid as it is
# (`cxfit check` parses it, opens its data and validates every job), and
# the example studies run.
source "$(dirname "$0")/lib.bash" "$@"

for ini in "$SRC"/configs/*.ini "$SRC"/configs/reference/*.ini; do
    expect_exit 0 "check ${ini#$SRC/}" -- "$CXFIT" check "$ini"
done
for ini in "$SRC"/configs/*.ini; do
    name=$(basename "$ini" .ini)
    expect_exit 0 "run ${ini#$SRC/}" -- "$CXFIT" run "$ini" -o "$WORK/$name.h5" --quiet
done
finish
