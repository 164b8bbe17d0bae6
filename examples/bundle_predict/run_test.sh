#!/bin/sh
# CTest test_bundle_example: trains a tiny classifier, exports it, and checks that the
# stand-alone bundle_predict gives the labels `attune predict --bundle` gives.
# usage: run_test.sh ATTUNE BUNDLE_PREDICT WORK_DIR
set -eu
attune=$1
example=$2
work=$3
rm -rf "$work"
mkdir -p "$work"

# Three topics, each text a few topic words among filler (the CLI tests' data, smaller).
i=0
{
  echo "text,label"
  while [ $i -lt 90 ]; do
    case $((i % 3)) in
      0) echo "we liked the bread and cheese soup $i,food" ;;
      1) echo "the team scored a goal in the match $i,sport" ;;
      2) echo "a new laptop runs the compiler on a server $i,tech" ;;
    esac
    i=$((i + 1))
  done
} >"$work/train.csv"

"$attune" train --set run_dir="$work/run" --set device=cpu --set data.train="$work/train.csv" \
  --set data.max_length=24 --set tokenizer.vocab_size=120 --set model.hidden_size=32 --set model.num_layers=1 \
  --set model.num_heads=2 --set model.intermediate_size=64 --set train.epochs=4 --set train.lr=5e-3 \
  --set train.batch_size=16 >"$work/train.json" 2>"$work/train.log"
"$attune" export --run "$work/run" --out "$work/bundle" >"$work/export.json"

printf 'cheese bread soup\nteam goal match score\nlaptop server code compiler\nthe\n' >"$work/texts.txt"
"$attune" predict --bundle "$work/bundle" --input "$work/texts.txt" >"$work/attune.jsonl"
"$example" "$work/bundle" <"$work/texts.txt" >"$work/example.jsonl"

labels() { sed 's/.*"label":"\([^"]*\)".*/\1/' "$1"; }
labels "$work/attune.jsonl" >"$work/attune.labels"
labels "$work/example.jsonl" >"$work/example.labels"
[ "$(wc -l <"$work/example.labels")" -eq 4 ] || { echo "expected 4 lines from bundle_predict"; cat "$work/example.jsonl"; exit 1; }
if ! cmp -s "$work/attune.labels" "$work/example.labels"; then
  echo "labels differ:"
  paste "$work/attune.labels" "$work/example.labels"
  exit 1
fi
head -1 "$work/example.jsonl"
echo "bundle_predict agrees with attune predict --bundle"
