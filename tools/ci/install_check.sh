#!/usr/bin/env bash
# CTest test_install_example: installs the build to a prefix under the build folder and
# uses it as a consumer would: the installed CLI finds its own sentencepiece module,
# examples/finetune_cpp builds with find_package(attune) and fine-tunes, evaluates,
# predicts and exports on a tiny CSV, and a one-file program builds with pkg-config.
# usage: install_check.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$build/install-check"
prefix="$work/prefix"  # a fixed path, so that ccache hits when nothing changed
rm -rf "$prefix" "$work/data" "$work/run" "$work/bundle"
mkdir -p "$work/data"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

lib=$(dirname "$(find "$prefix" -name 'libattune.so' | head -1)")
for f in bin/attune include/attune/tasks/api.h include/attune/core/error.h; do
  [[ -e "$prefix/$f" ]] || { echo "not installed: $f"; exit 1; }
done
for f in "$lib/attune/libattune_spm.so" "$lib/cmake/attune/attuneConfig.cmake" "$lib/cmake/attune/attuneConfigVersion.cmake" \
         "$lib/pkgconfig/attune.pc"; do
  [[ -e "$f" ]] || { echo "not installed: $f"; exit 1; }
done
[[ ! -e "$prefix/include/attune/data/text/spm_shim" ]] || { echo "the shim's source is installed as a header"; exit 1; }

# The installed CLI loads the installed sentencepiece module (not the build tree's):
# a file that is not a model gets sentencepiece's own complaint, so the module loaded.
echo "not a model" >"$work/data/junk.model"
set +e
LD_DEBUG=files "$prefix/bin/attune" tokenize --tokenizer "$work/data/junk.model" </dev/null >"$work/tokenize.out" 2>"$work/tokenize.err"
rc=$?
set -e
grep -q "not a sentencepiece model" "$work/tokenize.err" && [[ $rc -eq 2 ]] ||
  { echo "installed attune could not use sentencepiece (exit $rc):"; grep -v '^ *[0-9]*:' "$work/tokenize.err"; exit 1; }
grep -q "file=$lib/attune/libattune_spm.so" "$work/tokenize.err" ||
  { echo "installed attune loaded another libattune_spm.so:"; grep 'libattune_spm' "$work/tokenize.err"; exit 1; }

# Three topics, each text a few topic words among filler.
for split in train test; do
  n=90; [[ $split == test ]] && n=30
  {
    echo "text,label"
    for ((i = 0; i < n; i++)); do
      case $((i % 3)) in
        0) echo "we liked the bread and cheese soup $i,food" ;;
        1) echo "the team scored a goal in the match $i,sport" ;;
        2) echo "a new laptop runs the compiler on a server $i,tech" ;;
      esac
    done
  } >"$work/data/$split.csv"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root/examples/finetune_cpp" -B "$work/example-build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >"$work/example-configure.log" ||
  { cat "$work/example-configure.log"; exit 1; }
cmake --build "$work/example-build" >"$work/example-build.log" || { cat "$work/example-build.log"; exit 1; }
"$work/example-build/finetune_cpp" "$work/data/train.csv" "$work/data/test.csv" "$work/run" "$work/bundle" \
  data.max_length=24 tokenizer.vocab_size=120 model.hidden_size=32 model.num_layers=1 model.num_heads=2 \
  model.intermediate_size=64 train.epochs=6 train.lr=1e-2 train.batch_size=16 threads=1 \
  >"$work/example.out" 2>"$work/example.err" || { cat "$work/example.out" "$work/example.err"; exit 1; }
cat "$work/example.out"
grep -q "agrees with the run" "$work/example.out"
[[ -f "$work/bundle/model.pt" && -f "$work/run/adapter_model.safetensors" ]] || { echo "no bundle or no LoRA adapter"; exit 1; }
# Bad input is an attune::UserError: one line, exit 2.
set +e
"$work/example-build/finetune_cpp" "$work/data/missing.csv" "$work/data/test.csv" "$work/run2" "$work/bundle2" \
  >/dev/null 2>"$work/bad.err"
rc=$?
set -e
[[ $rc -eq 2 && $(wc -l <"$work/bad.err") -eq 1 ]] && grep -q "missing.csv" "$work/bad.err" ||
  { echo "a missing CSV should fail with one line and exit 2 (got $rc):"; cat "$work/bad.err"; exit 1; }

# pkg-config: a one-file program against the installed headers and library.
export PKG_CONFIG_PATH="$lib/pkgconfig"
flags=$(pkg-config --cflags --libs attune)
pkg-config --validate attune
cat >"$work/pc_check.cpp" <<'CPP'
#include "tasks/api.h"
#include <iostream>
int main() {
  const nlohmann::json config = attune::api::make_config({{"task", "text-classification"}}, {"train.epochs=2"});
  try {
    attune::api::make_config({}, {"train.epoch=2"});
    return 1;
  } catch (const attune::UserError& e) {
    std::cout << attune::api::version() << " " << config["train"]["epochs"] << " " << e.what() << "\n";
  }
  return 0;
}
CPP
# shellcheck disable=SC2086
${CXX:-c++} -std=c++17 -O0 "$work/pc_check.cpp" -o "$work/pc_check" $flags -Wl,-rpath,"$lib"
"$work/pc_check" | tee "$work/pc_check.out"
grep -q "did you mean 'train.epochs'" "$work/pc_check.out"
echo "install check: ok"
