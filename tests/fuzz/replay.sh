#!/usr/bin/env bash
# Runs a fuzz target once over its seed corpus and every input that ever crashed it
# (tests/fuzz/<target>/{corpus,crashes}): a regression test, no fuzzing.
# Usage: replay.sh FUZZ_BINARY TARGET_DIR
set -euo pipefail
binary="$1" dir="$2"
inputs=()
for sub in crashes corpus; do
  [[ -d "$dir/$sub" ]] || continue
  while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$dir/$sub" -type f -print0 | sort -z)
done
[[ ${#inputs[@]} -gt 0 ]] || { echo "replay: no inputs under $dir" >&2; exit 1; }
# With files as arguments libFuzzer runs each once; xargs keeps the command line short
# and exits non-zero when any run failed. The per-file "Running:" lines are dropped.
set +e
printf '%s\0' "${inputs[@]}" | xargs -0 -n 500 "$binary" -rss_limit_mb=4096 2>&1 | grep -vE '^(Running:|Executed .* in [0-9]+ ms$)'
status=("${PIPESTATUS[@]}")
set -e
[[ ${status[1]} -eq 0 ]] || { echo "replay: a $(basename "$binary") input failed (see above)" >&2; exit 1; }
echo "replay: ${#inputs[@]} inputs of $(basename "$binary") ran clean"
