#!/usr/bin/env bash
# The sanitizer half of CI (docs/fuzzing.md): builds ./build-fuzz with clang, ASan + UBSan
# and libFuzzer's hooks; runs the data and models unit tests and the replay of every
# fuzz corpus and past crash under the sanitizers; then fuzzes each target for a fixed
# number of runs (FUZZ_RUNS_SCALE multiplies them; 0 skips fuzzing). New findings are
# left in build-fuzz/findings/<target>/ and fail the step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build-fuzz"
scale="${FUZZ_RUNS_SCALE:-1}"
source "$root/tools/fuzz/sanitizer_env.sh"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Sanitize \
      -DATTUNE_SANITIZE=ON -DATTUNE_FUZZ=ON -DATTUNE_BUILD_EXAMPLES=OFF >/dev/null
start=$SECONDS
ninja -C "$build" -j"$(nproc)" test_data test_models fuzz_targets
echo "fuzz: build took $((SECONDS - start)) s" >&2

start=$SECONDS
(cd "$build" && TMPDIR="${TMPDIR:-/tmp}" ctest --output-on-failure -j"$(nproc)" -R '^(test_data|test_models|fuzz_.*_replay)$')
echo "fuzz: sanitized unit tests and replays took $((SECONDS - start)) s" >&2

[[ "$scale" == 0 ]] && exit 0
# Runs per target for about 30-60 s each on the 2-core CI machine (docs/fuzzing.md has
# the rates); the wall-time cap is only a guard against a machine much slower than that.
declare -A runs=([table]=48000 [parallel]=48000 [interactions]=48000 [idx]=96000 [safetensors]=96000 [tfevents]=200000
                 [wordpiece]=10000 [sentencepiece]=48000 [config]=48000 [bundle]=32000 [serve_request]=200000)
failed=()
for target in table parallel interactions idx safetensors tfevents wordpiece sentencepiece config bundle serve_request; do
  n=$((runs[$target] * scale))
  work="$build/fuzz-work/$target" findings="$build/findings/$target"
  rm -rf "$work" && mkdir -p "$work" "$findings"
  start=$SECONDS
  # New inputs go to the scratch corpus; the committed one is read only.
  if "$build/tests/fuzz/fuzz_$target" -runs="$n" -max_total_time=$((180 * scale)) -rss_limit_mb=4096 \
        -artifact_prefix="$findings/" -print_final_stats=1 "$work" "$root/tests/fuzz/$target/corpus" \
        >"$findings/log.txt" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$findings/log.txt" | tail -1)
  printf 'fuzz: %-14s %s, %s runs in %d s\n' "$target" "$status" "${execs:-?}" $((SECONDS - start)) >&2
  [[ $status == ok ]] || tail -40 "$findings/log.txt" >&2
done
# The PO parser is JavaScript: a seeded mutation fuzzer without coverage (docs/fuzzing.md).
if command -v node >/dev/null; then
  mkdir -p "$build/findings/po"
  start=$SECONDS
  if FUZZ_FINDINGS="$build/findings/po" node "$root/tools/data/po_to_parallel_fuzz.js" --runs $((100000 * scale)) \
       --corpus "$root/tests/fuzz/po/corpus" --replay "$root/tests/fuzz/po/crashes" >&2; then
    printf 'fuzz: %-14s ok, in %d s\n' po $((SECONDS - start)) >&2
  else
    failed+=(po)
  fi
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: findings in ${failed[*]}: inputs under $build/findings/; fix the parser and add each input to tests/fuzz/<target>/crashes/" >&2
  exit 1
fi
