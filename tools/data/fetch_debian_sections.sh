#!/usr/bin/env bash
# A second real data set, multi-class: Debian package descriptions (human-written)
# labelled with their archive section, six sections, 700 packages each, split 80/20 by
# a hash of the package name. Built from this machine's apt index (apt-cache
# dumpavail), cached outside the repository. Prints the directory holding the CSVs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}/debian_sections"
if [[ -f "$out/test.csv" ]]; then echo "$out"; exit 0; fi
mkdir -p "$out.tmp"
apt-cache dumpavail | node "$here/debian_sections_to_csv.js" "$out.tmp" >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
