#!/usr/bin/env bash
# The recommendation data set: GroupLens' MovieLens ml-latest-small (2016 snapshot; 100,004
# ratings of 9,066 movies by 671 users, with timestamps), as Debian's r-cran-dslabs ships
# it inside an R data file. Converted to ratings.csv without R (tools/data/rdata.py),
# cached outside the repository. Prints the directory holding ratings.csv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/pinned_deb.sh"
out="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}/movielens"
if [[ -f "$out/ratings.csv" ]]; then echo "$out"; exit 0; fi
mkdir -p "$out.tmp/debs"
deb="$(pinned_deb fetch_movielens "$out.tmp/debs" r-cran-dslabs 0.7.4-1)"
dpkg -x "$deb" "$out.tmp/pkg"
python3 "$here/movielens_rdata_to_csv.py" "$out.tmp/pkg/usr/lib/R/site-library/dslabs/data/Rdata.rdx" "$out.tmp/ratings.csv"
echo "source: $(basename "$deb") (Debian bookworm), object movielens = GroupLens ml-latest-small ratings.csv" \
  > "$out.tmp/SOURCES.txt"
rm -rf "$out.tmp/debs" "$out.tmp/pkg" "$out" && mv "$out.tmp" "$out"
echo "$out"
