#!/usr/bin/env bash
# Fails when a source file includes a header from a higher layer. The layers, lowest
# first: core < data < models < tasks < tools. A layer may include its own and any
# lower layer's headers; tests/ and examples/ may include anything.
# Usage: check_layers.sh [ROOT]   (default: this checkout)
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root"
dirs=()
for layer in core data models tasks tools; do [[ -d "$layer" ]] && dirs+=("$layer"); done
grep -rnE '^[[:space:]]*#[[:space:]]*include "[^/"]+/' "${dirs[@]}" \
    --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' |
  awk -F: '
    BEGIN { split("core data models tasks tools", order, " "); for (i in order) rank[order[i]] = i }
    {
      split($1, parts, "/"); own = parts[1]
      text = $0; sub(/^[^:]*:[^:]*:/, "", text)
      target = text; sub(/^[^"]*"/, "", target); sub(/\/.*/, "", target)
      if ((target in rank) && rank[target] > rank[own]) {
        printf "%s:%s: layer '\''%s'\'' includes '\''%s'\'' (higher layer): %s\n", $1, $2, own, target, text > "/dev/stderr"
        bad++
      }
    }
    END {
      if (bad) { printf "check_layers: %d include(s) break core < data < models < tasks < tools\n", bad > "/dev/stderr"; exit 1 }
      print "check_layers: ok (core < data < models < tasks < tools)"
    }'
