#!/usr/bin/env bash
# One device call of a refactor's side-by-side check: the old tree (a `git archive` of the
# old commit: `mkdir .base && git archive OLD | tar x -C .base`, carried) and this tree are built
# against the GPU machine's LibTorch,
# then, each step once per warm machine (a cut call goes on where it stopped):
#   fixtures  tools/ci/make_run_fixtures.sh with the OLD binary ($OUT/run_fixtures.tar.gz)
#   same      tools/ci/same_weights.sh with both binaries, side by side ($OUT/same_{old,new}.txt)
#   parity    the HF BERT and sentencepiece parity scripts with both builds ($OUT/parity_*.txt)
#   peft      the PEFT parity script with both builds ($OUT/peft_*.txt)
#   bundles   the bundle parity script (.data/bundle_fixtures/, as session.sh) with this tree's build
# Usage: tools/gpu/refactor_check.sh [STEP...]   (default: the first four); .data/ and .deb/ as session.sh.
# NEW_ONLY=1 builds and runs this tree alone (when the old figures are already known).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-/tmp/attune-out}"; mkdir -p "$out"
state=/tmp/attune-refactor; mkdir -p "$state"
deps=/tmp/attune-deps; mkdir -p "$deps"
for deb in .deb/*.deb; do dpkg -x "$deb" "$deps"; done
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
generator="Unix Makefiles"; keep_going=-k
command -v ninja >/dev/null && { generator=Ninja; keep_going="-k 0"; }
build() {  # TREE: the CLI and the BERT dump of TREE/build-cuda, the cores shared by the trees;
           # a target that fails is reported, the others are still built
  local log="$out/build_$(basename "$1").txt"
  cmake -S "$1" -B "$1/build-cuda" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" -DICU_ROOT="$deps/usr" >/dev/null
  cmake --build "$1/build-cuda" -j"$(( $(nproc) / ${#trees[@]} ))" --target attune attune_bert_dump -- $keep_going >"$log" 2>&1 ||
    { grep -m 20 -B 2 -A 10 'error' "$log" || tail -n 30 "$log"; }
}
trees=(.base .); [[ "${NEW_ONLY:-0}" == 1 ]] && trees=(.)
t0=$(date +%s)
for tree in "${trees[@]}"; do
  [[ -x "$tree/build-cuda/attune" ]] || build "$(realpath "$tree")" &
done
wait
echo "builds: $(( $(date +%s) - t0 )) s"
spam="$root/.data/spam_assassin"
steps=("${@:-fixtures same parity peft}"); steps=(${steps[*]})
for step in "${steps[@]}"; do
  [[ -f "$state/$step.done" ]] && { cp "$state/$step".* "$out/" 2>/dev/null || true; continue; }
  t=$(date +%s)
  ( case "$step" in
    fixtures)
      tools/ci/make_run_fixtures.sh .base/build-cuda/attune /tmp/attune-fixtures | tee "$out/fixtures.txt"
      tar czf "$out/run_fixtures.tar.gz" -C /tmp attune-fixtures
      cp "$out/run_fixtures.tar.gz" "$state/fixtures.tar.gz"
      ;;
    same)
      for tree in "${trees[@]}"; do
        name=old; [[ $tree == . ]] && name=new
        tools/ci/same_weights.sh "$tree/build-cuda/attune" "/tmp/same-$name" "$spam" .data/movielens >"$out/same_$name.txt" &
      done
      wait
      cat "$out"/same_*.txt
      cp "$out"/same_*.txt "$state/"
      ;;
    bundles)
      python3 tools/parity/bundle_parity.py build-cuda .data/bundle_fixtures/fixtures.tar.gz "$out" >"$out/bundles.txt" 2>&1
      tail -n 20 "$out/bundles.txt"
      cp "$out/bundles.txt" "$state/"
      ;;
    parity|peft)
      for tree in "${trees[@]}"; do
        name=old; [[ $tree == . ]] && name=new
        ( cd "$tree"
          if [[ $step == parity ]]; then
            python3 tools/parity/hf_bert_parity.py build-cuda "/tmp/hfp-$name"
            python3 tools/parity/sentencepiece_parity.py build-cuda "$spam/train.csv" "/tmp/spp-$name"
          else
            python3 tools/parity/peft_parity.py build-cuda/attune "/tmp/pp-$name" "$spam"
          fi ) >"$out/${step}_$name.txt" 2>&1 &
      done
      wait
      tail -n 20 "$out/${step}"_*.txt
      cp "$out/${step}"_*.txt "$state/"
      ;;
  esac ) && touch "$state/$step.done" || echo "$step FAILED"
  echo "$step: $(( $(date +%s) - t )) s"
done
