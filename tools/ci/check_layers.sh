#!/usr/bin/env bash
# Fails when a source file includes a header from a higher layer. The layers, lowest
# first: core < data < models < tasks < tools. A layer may include its own and any
# lower layer's headers; tests/ and examples/ may include anything.
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root"
layers=(core data models tasks tools)
rank() {
  local i
  for i in "${!layers[@]}"; do [[ "${layers[$i]}" == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}
violations=0
for layer in "${layers[@]}"; do
  [[ -d "$layer" ]] || continue
  own=$(rank "$layer")
  while IFS= read -r hit; do
    file="${hit%%:*}"; rest="${hit#*:}"; line="${rest%%:*}"
    target=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$rest")
    r=$(rank "$target")
    if (( r > own )); then
      echo "$file:$line: layer '$layer' includes '$target' (higher layer): ${rest#*:}" >&2
      violations=$((violations + 1))
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include "[^/"]+/' "$layer" --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' || true)
done
if (( violations > 0 )); then
  echo "check_layers: $violations include(s) break core < data < models < tasks < tools" >&2
  exit 1
fi
echo "check_layers: ok (core < data < models < tasks < tools)"
