#!/usr/bin/env bash
# The no-behaviour-change check of a refactor: the main job (SpamAssassin text
# classification, cut to 40 steps), the MovieLens SASRec recommender (2 epochs) and, with
# PEFT=1, a short SpamAssassin run of each PEFT method, with a fixed seed on one CPU thread.
# Prints the sha256 of each run's final weights (model.safetensors, or the adapter and base
# files of a PEFT run); run it with the old and the new binary and compare the lines.
#
#   tools/ci/same_weights.sh ATTUNE OUT_DIR [SPAM_DIR] [MOVIELENS_DIR]
#
# The data directories default to the fetch scripts' caches (tools/data/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="$(realpath "$1")"
out="$2"
spam="${3:-$("$root/tools/data/fetch_spam_assassin.sh")}"
movielens="${4:-$("$root/tools/data/fetch_movielens.sh")}"
mkdir -p "$out"
"$attune" train --config "$root/tools/configs/spam_assassin.json" --overwrite --set run_dir="$out/spam" \
  --set device=cpu --set threads=1 --set train.max_steps=40 --set train.eval_every=20 \
  --set data.train="$spam/train.csv" --set data.valid="$spam/valid.csv" --set data.test="$spam/test.csv" \
  >"$out/spam.json" 2>"$out/spam.log"
"$attune" train --config "$root/tools/configs/movielens.json" --overwrite --set run_dir="$out/movielens" \
  --set device=cpu --set threads=1 --set train.epochs=2 --set data.interactions="$movielens/ratings.csv" \
  >"$out/movielens.json" 2>"$out/movielens.log"
runs=(spam movielens)
if [[ "${PEFT:-0}" == 1 ]]; then
  for method in lora ia3 adalora prefix_tuning bottleneck bitfit; do
    "$attune" train --config "$root/tools/configs/spam_assassin.json" --overwrite --set run_dir="$out/$method" \
      --set device=cpu --set threads=1 --set train.max_steps=12 --set data.max_length=48 --set peft.method=$method \
      --set data.train="$spam/train.csv" --set data.valid="$spam/test.csv" --set data.test="$spam/test.csv" \
      >"$out/$method.json" 2>"$out/$method.log" || { tail -n 3 "$out/$method.log" >&2; exit 1; }
    runs+=("$method")
  done
fi
for run in "${runs[@]}"; do
  for f in "$out/$run"/*.safetensors; do echo "$run $(basename "$f") $(sha256sum "$f" | cut -d' ' -f1)"; done
done
