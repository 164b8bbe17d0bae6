#!/usr/bin/env bash
# Cases for tools/parity/vit_peft_check.py: attune PEFT runs of image classification on
# transformers' own ViTForImageClassification (tests/fixtures/vit/hf-imgcls-c1, 32x32 grey,
# 3 labels), taken out through every exit attune has.
#
#   ATTUNE=build/attune tools/parity/make_vit_peft_cases.sh OUT_DIR
#
# It writes OUT_DIR/vit-peft/:
#   base/                      the fixture folder (the runs' init=hf:)
#   test-images, test-labels   IDX probe images of the runs' size (4 classes: the bright quadrant)
#   METHOD/adapter             the run's adapter_config.json and adapter_model.safetensors
#   METHOD/bundle              `attune export` of the run (the adapter merged into the weights)
#   METHOD/hf                  `attune convert --run --to-hf` of the run (merged weights)
# for METHOD lora (target_modules q_proj and v_proj: transformers' names since its ViT refactor,
# which transformers 5.17 has), rslora (use_rslora, a regular expression over those module paths),
# ia3 (its default targets) and lora-legacy (query and value, PEFT's ViT example written before
# the refactor: the file keeps the old names);
# OUT_DIR/vit-peft-runs/METHOD, the runs themselves (for check_vit_peft_reverse.sh);
# OUT_DIR/vit-peft/marian-lora/: a LoRA translation run (q_proj, v_proj) on transformers' own
# MarianMTModel (tests/fixtures/marian/opus-joint, copied as base/ with its expected.safetensors),
# its adapter/ and `--to-hf` folder hf/;
# and OUT_DIR/vit_peft_cases.tar.gz of vit-peft/, to carry to the GPU machine.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: ATTUNE=path/to/attune $0 OUT_DIR" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ATTUNE="${ATTUNE:-$root/build/attune}"
[[ -x "$ATTUNE" ]] || { echo "no attune binary at $ATTUNE (set ATTUNE)" >&2; exit 2; }
out="$(mkdir -p "$1" && cd "$1" && pwd)"
cases="$out/vit-peft" runs="$out/vit-peft-runs"
rm -rf "$cases" "$runs" && mkdir -p "$cases/base" "$runs"
cp "$root/tests/fixtures/vit/hf-imgcls-c1/"{config.json,model.safetensors,preprocessor_config.json} "$cases/base/"

# Grey 32x32 images whose class is the bright quadrant, as IDX files.
python3 "$root/tools/parity/write_quadrants.py" "$cases" train 240 1
python3 "$root/tools/parity/write_quadrants.py" "$cases" test 24 2

train() {  # method --set arguments...
  local method="$1"
  shift
  "$ATTUNE" train --task image-classification --set run_dir="$runs/$method" --set device=cpu \
    --set init=hf:"$cases/base" --set data.train_images="$cases/train-images" \
    --set data.train_labels="$cases/train-labels" --set data.test_images="$cases/test-images" \
    --set data.test_labels="$cases/test-labels" --set data.valid_size=40 --set augment.crop_padding=0 \
    --set augment.horizontal_flip=false --set train.epochs=3 --set train.batch_size=16 --set train.lr=1e-2 \
    "$@" > "$runs/$method.log" 2>&1 || { echo "training $method failed:" >&2; tail -5 "$runs/$method.log" >&2; exit 1; }
}

train lora --set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 --set 'peft.target_modules=["q_proj","v_proj"]'
train rslora --set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 --set peft.use_rslora=true \
  --set 'peft.target_modules="vit\\.layers\\.\\d+\\.(attention\\.(q_proj|k_proj|v_proj)|mlp\\.fc2)"'
train ia3 --set peft.method=ia3
train lora-legacy --set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 \
  --set 'peft.target_modules=["query","value"]'
rm -f "$cases"/train-*
for method in lora rslora ia3 lora-legacy; do
  mkdir -p "$cases/$method/adapter"
  cp "$runs/$method/"{adapter_config.json,adapter_model.safetensors} "$cases/$method/adapter/"
  "$ATTUNE" export --run "$runs/$method" --out "$cases/$method/bundle" > /dev/null
  "$ATTUNE" convert --run "$runs/$method" --to-hf "$cases/$method/hf" > /dev/null
  echo "$method: $(grep -o "peft: [^|]*" "$runs/$method.log" | head -1)| $(grep -o "^test: accuracy [0-9.]*" "$runs/$method.log" | tail -1)"
done
# Marian: number words, English to German, in the fixture's SentencePiece pieces.
marian="$cases/marian-lora"
mkdir -p "$marian/adapter"
cp -r "$root/tests/fixtures/marian/opus-joint" "$marian/base"
python3 "$root/tools/parity/write_number_pairs.py" "$runs" marian
"$ATTUNE" train --task translation --set run_dir="$runs/marian-lora" --set device=cpu \
  --set init=hf:"$marian/base" --set data.train="$runs/marian-train.tsv" --set data.valid="$runs/marian-valid.tsv" \
  --set data.max_source_tokens=40 --set data.max_target_tokens=40 --set train.epochs=3 --set train.max_tokens=400 \
  --set train.lr=3e-3 --set train.warmup_steps=5 --set train.eval_max_sentences=8 --set peft.method=lora \
  --set peft.r=4 --set peft.lora_alpha=8 --set 'peft.target_modules=["q_proj","v_proj"]' \
  > "$runs/marian-lora.log" 2>&1 || { echo "training marian-lora failed:" >&2; tail -5 "$runs/marian-lora.log" >&2; exit 1; }
cp "$runs/marian-lora/"{adapter_config.json,adapter_model.safetensors} "$marian/adapter/"
"$ATTUNE" convert --run "$runs/marian-lora" --to-hf "$marian/hf" > /dev/null
echo "marian-lora: $(grep -o "peft: [^|]*" "$runs/marian-lora.log" | head -1)"
tar czf "$out/vit_peft_cases.tar.gz" -C "$out" vit-peft
echo "wrote $out/vit_peft_cases.tar.gz ($(du -h "$out/vit_peft_cases.tar.gz" | cut -f1))"
