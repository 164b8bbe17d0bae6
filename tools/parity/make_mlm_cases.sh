#!/usr/bin/env bash
# Cases for tools/parity/mlm_to_hf_check.py: continued masked-LM pretraining (attune pretrain
# --set init=hf:DIR) of transformers' masked-LM fixtures, taken out with --to-hf and as a
# fill-mask bundle.
#
#   ATTUNE=build/attune tools/parity/make_mlm_cases.sh OUT_DIR
#
# For each fixture NAME (roberta-mlm, distilbert-mlm, modernbert-mlm, deberta-v3-mlm) it
# writes OUT_DIR/mlm-NAME/hf (the run after 20 steps, --to-hf) and OUT_DIR/mlm-NAME/bundle
# (attune export of the same run), and OUT_DIR/mlm_cases.tar.gz of them.
source "$(dirname "${BASH_SOURCE[0]}")/cases_setup.sh" mlm-cases "$@"

# Plain text over the fixtures' words, and their vocabularies: RoBERTa's (pad 1) as
# tokenizer.json with <s> </s> <mask>, the others as vocab.txt with BERT's specials.
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
words = ["w%02d" % i for i in range(95)]
rng = random.Random(5)
for split, n in (("train", 300), ("valid", 40)):
    with open(f"{work}/{split}.txt", "w") as f:
        for _ in range(n):
            start = rng.randrange(80)
            f.write(" ".join(words[(start + rng.randrange(6)) % 95] for _ in range(rng.randint(6, 20))) + "\n")
with open(f"{work}/vocab.txt", "w") as f:
    f.write("\n".join(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"] + words) + "\n")
ids = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + words)}
tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [
                 {"id": ids[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
                  "normalized": False, "special": True} for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]],
             "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
             "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                                "trim_offsets": True, "add_prefix_space": False},
             "decoder": None,
             "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100, "vocab": ids}}
json.dump(tokenizer, open(f"{work}/tokenizer.json", "w"))
PY

cases=()
for name in roberta-mlm distilbert-mlm modernbert-mlm deberta-v3-mlm; do
  src="$root/tests/fixtures/hf_arch/$name"
  [[ -d $src ]] || src="$root/tests/fixtures/modern_arch/$name"
  base="$work/base-$name"
  mkdir -p "$base"
  cp "$src/"{config.json,model.safetensors} "$base/"
  if [[ $name == roberta-mlm ]]; then cp "$work/tokenizer.json" "$base/"; else cp "$work/vocab.txt" "$base/"; fi
  run="$work/run-$name"
  "$ATTUNE" pretrain --set run_dir="$run" --set device=cpu --set init=hf:"$base" --set data.train="$work/train.txt" \
    --set data.valid="$work/valid.txt" --set mlm.max_length=32 --set train.max_steps=20 --set train.batch_size=8 \
    --set train.lr=1e-3 --set train.report=false > "$run.log" 2>&1 ||
    { echo "pretraining $name failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
  case_dir="$out/mlm-$name"
  rm -rf "$case_dir" && mkdir -p "$case_dir"
  "$ATTUNE" convert --run "$run" --to-hf "$case_dir/hf" > /dev/null
  "$ATTUNE" export --run "$run" --out "$case_dir/bundle" > /dev/null
  cases+=("mlm-$name")
  echo "mlm-$name: $(grep -o '"loss":[0-9.]*' "$run/metrics.jsonl" | tail -1)"
done
tar czf "$out/mlm_cases.tar.gz" -C "$out" "${cases[@]}"
echo "wrote $out/mlm_cases.tar.gz ($(du -h "$out/mlm_cases.tar.gz" | cut -f1))"
