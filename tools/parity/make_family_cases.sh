#!/usr/bin/env bash
# Cases for tools/parity/family_to_hf_check.py: attune runs on transformers' own ModernBERT
# and DeBERTa-v2/v3 checkpoints (the sequence-classification fixtures in
# tests/fixtures/modern_arch), taken out again through every exit attune has.
#
#   ATTUNE=build/attune tools/parity/make_family_cases.sh OUT_DIR
#
# For each fixture NAME it writes OUT_DIR/NAME/:
#   base/          the fixture folder plus a WordPiece vocab.txt of its 100 ids (init=hf:)
#   full/hf        a full fine-tuning run from base, `attune convert --run --to-hf`
#   full/bundle    the same run, `attune export`
#   lora/adapter   a LoRA run from base: its adapter_config.json and adapter_model.safetensors
#   lora/bundle    the LoRA run, `attune export` (the adapter merged)
# and, for each Marian fixture (tests/fixtures/marian/NAME), OUT_DIR/marian-NAME/:
#   original/      the fixture (transformers' MarianMTModel, its tokenizer files and outputs)
#   hf/            `attune convert --from-hf` then `attune convert --run --to-hf` of it
# and OUT_DIR/family_cases.tar.gz of it all, to carry to the GPU machine.
source "$(dirname "${BASH_SOURCE[0]}")/cases_setup.sh" family-cases "$@"

# A tiny three-class corpus over the vocabulary below: the label is carried by one word.
python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]
words = ["w%02d" % i for i in range(95)]
cue = {"negative": words[:5], "neutral": words[5:10], "positive": words[10:15]}
rng = random.Random(7)
for split, n in (("train", 150), ("valid", 30), ("test", 30)):
    with open(f"{work}/{split}.csv", "w") as f:
        f.write("text,label\n")
        for _ in range(n):
            label = rng.choice(sorted(cue))
            text = [rng.choice(words[15:]) for _ in range(rng.randint(3, 9))]
            text.insert(rng.randrange(len(text) + 1), rng.choice(cue[label]))
            f.write(" ".join(text) + "," + label + "\n")
with open(f"{work}/vocab.txt", "w") as f:
    f.write("\n".join(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"] + words) + "\n")
PY

train() {  # run_dir base extra --set arguments...
  local run="$1" base="$2"
  shift 2
  "$ATTUNE" train --set run_dir="$run" --set device=cpu --set init=hf:"$base" \
    --set data.train="$work/train.csv" --set data.valid="$work/valid.csv" --set data.test="$work/test.csv" \
    --set data.max_length=24 --set train.epochs=2 --set train.batch_size=16 --set train.lr=3e-3 \
    --set head.pooling=cls "$@" > "$run.log" 2>&1 || { echo "training $run failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
}

for name in modernbert-seqcls modernbert-biased-seqcls deberta-v3-seqcls deberta-v2-absolute-seqcls; do
  case_dir="$out/$name"
  rm -rf "$case_dir" && mkdir -p "$case_dir/base" "$case_dir/full" "$case_dir/lora/adapter"
  cp "$root/tests/fixtures/modern_arch/$name/"{config.json,model.safetensors} "$work/vocab.txt" "$case_dir/base/"
  if [[ $name == modernbert* ]]; then targets='["Wqkv","Wo","Wi"]'; else targets='["query_proj","key_proj","value_proj","dense"]'; fi
  train "$work/$name-full" "$case_dir/base"
  "$ATTUNE" convert --run "$work/$name-full" --to-hf "$case_dir/full/hf" > /dev/null
  "$ATTUNE" export --run "$work/$name-full" --out "$case_dir/full/bundle" > /dev/null
  train "$work/$name-lora" "$case_dir/base" --set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 \
    --set peft.target_modules="$targets"
  cp "$work/$name-lora/"{adapter_config.json,adapter_model.safetensors} "$case_dir/lora/adapter/"
  "$ATTUNE" export --run "$work/$name-lora" --out "$case_dir/lora/bundle" > /dev/null
  echo "$name: $(grep -o "accuracy[^,]*" "$work/$name-full.log" | tail -1) (full fine-tuning, test)"
done
for name in opus-joint opus-separate; do
  case_dir="$out/marian-$name"
  rm -rf "$case_dir" && mkdir -p "$case_dir"
  cp -r "$root/tests/fixtures/marian/$name" "$case_dir/original"
  "$ATTUNE" convert --from-hf "$case_dir/original" --out "$work/marian-$name" > /dev/null
  "$ATTUNE" convert --run "$work/marian-$name" --to-hf "$case_dir/hf" > /dev/null
done
tar czf "$out/family_cases.tar.gz" -C "$out" modernbert-seqcls modernbert-biased-seqcls deberta-v3-seqcls \
  deberta-v2-absolute-seqcls marian-opus-joint marian-opus-separate
echo "wrote $out/family_cases.tar.gz ($(du -h "$out/family_cases.tar.gz" | cut -f1))"
