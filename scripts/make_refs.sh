#!/usr/bin/env bash
# make_refs.sh — regenerate tests/reference/*.json from R (the oracles).
#
# Checks that R and the packages make_refs.R uses are installed (installing
# the Debian packages when run as root and something is missing), then runs
# it.  Usage: bash scripts/make_refs.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

pkgs="lavaan semTools psych GPArotation plm sandwich MASS lme4 jsonlite"
missing_pkgs() {
    command -v Rscript >/dev/null 2>&1 || { echo "R"; return; }
    Rscript -e "p <- strsplit('$pkgs', ' ')[[1]]; m <- p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)]; cat(m)"
}

missing="$(missing_pkgs)"
if [ -n "$missing" ]; then
    echo "make_refs.sh: missing: $missing" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "make_refs.sh: run as root (or install r-base-core and r-cran-* packages) first" >&2
        exit 2
    fi
    apt-get -o DPkg::Lock::Timeout=600 update
    apt-get -o DPkg::Lock::Timeout=600 install -y r-base-core r-cran-lavaan r-cran-semtools \
        r-cran-psych r-cran-gparotation r-cran-plm r-cran-sandwich r-cran-jsonlite r-cran-lme4 r-cran-mass
    missing="$(missing_pkgs)"
    if [ -n "$missing" ]; then
        echo "make_refs.sh: still missing after install: $missing" >&2
        exit 2
    fi
fi

Rscript "$here/make_refs.R" "$@"
# ordinal items / WLSMV (lavaan only; same arguments)
exec Rscript "$here/make_ordinal_refs.R" "$@"
