#!/usr/bin/env bash
# tools/ci/check_layers.sh passes on the tree and fails, naming the file, on a tree
# where a lower layer includes a higher one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/tools/ci/check_layers.sh" "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tools/ci" "$tmp/core" "$tmp/data" "$tmp/tasks"
cp "$root/tools/ci/check_layers.sh" "$tmp/tools/ci/"
printf '#include "core/error.h"\n' > "$tmp/data/ok.cpp"
printf '#pragma once\n#include "tasks/registry.h"\n' > "$tmp/data/bad.h"
if out="$("$tmp/tools/ci/check_layers.sh" "$tmp" 2>&1)"; then
  echo "expected a failure, got: $out" >&2; exit 1
fi
grep -q "data/bad.h:2: layer 'data' includes 'tasks'" <<<"$out" || { echo "unexpected message: $out" >&2; exit 1; }
grep -q "ok.cpp" <<<"$out" && { echo "flagged a legal include: $out" >&2; exit 1; }
echo "check_layers_test: ok"
