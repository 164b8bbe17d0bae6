#!/usr/bin/env bash
# The joint SentencePiece model that tools/bench/translation_bench.sh gives both systems:
# learned by attune (a two-step CPU translation run, which trains the tokenizer as every
# run without tokenizer.model does) from DATA_DIR/train.tsv, copied to OUT.model.
#   tools/bench/translation_vocab.sh DATA_DIR OUT.model   (env VOCAB [8000], ATTUNE [build/attune])
set -euo pipefail
data="$1"; model="$2"; attune="${ATTUNE:-build/attune}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
"$attune" train --task translation --set run_dir="$work/run" --set device=cpu --set data.train="$data/train.tsv" \
  --set data.valid="$data/valid.tsv" --set tokenizer.vocab_size="${VOCAB:-8000}" --set model.preset=transformer-tiny \
  --set train.max_steps=2 --set train.max_tokens=512 --set train.eval_max_sentences=5 >"$work/log" 2>&1 ||
  { tail -5 "$work/log" >&2; exit 1; }
cp "$work/run/tokenizer/sentencepiece.model" "$model"
echo "$model: $(grep -o 'vocabulary [0-9]*' "$work/log")"
