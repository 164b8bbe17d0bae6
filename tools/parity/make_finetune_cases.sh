#!/usr/bin/env bash
# Cases for tools/parity/finetune_loss_parity.py: short fine-tuning runs of attune on
# transformers' classifier checkpoints, recorded step by step, for transformers (and PEFT)
# to repeat from the same weights on the same batches.
#
#   ATTUNE=build/attune tools/parity/make_finetune_cases.sh OUT_DIR
#
# For each checkpoint NAME (transformers' sequence-classification fixtures in tests/fixtures,
# a BERT classifier attune writes with --to-hf, transformers' ViT image classifier,
# vit-imgcls, and its MarianMTModel, marian-mt) and each KIND (full; lora for some), it
# writes OUT_DIR/NAME-KIND/:
#   start/        the weights the run starts from, as transformers' folder (full) or as
#                 transformers' base folder plus the PEFT adapter folder (lora): a copy of
#                 the run after one step at learning rate 0, taken out with --to-hf or as
#                 its adapter files
#   run/          the run's config.json and metrics.jsonl (the loss, learning rate and
#                 gradient norm of every step)
#   train.jsonl   the training examples in file order: attune's token ids and label id
#                 (image cases: train-images and train-labels, the IDX files the run read;
#                 translation cases: train.tsv, the pairs the run read)
# and OUT_DIR/finetune_cases.tar.gz of it all, to carry to the GPU machine.
#
# The runs use attune's defaults except where a deterministic comparison needs otherwise:
# no dropout (transformers' side runs in eval mode), float32, and a warm-up (so the first
# step has learning rate 0, which makes the one-step copy the starting point). Batches are
# attune's own length-bucketed, shuffled ones; the Python side rebuilds them from the seed.
source "$(dirname "${BASH_SOURCE[0]}")/cases_setup.sh" finetune-cases "$@"

# A three-class corpus whose label is carried by one word; vocabularies put [PAD] at the
# checkpoint's pad_token_id (RoBERTa's is 1) and [CLS]/[SEP] at its bos/eos where it has them.
python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]
words = ["w%02d" % i for i in range(95)]
cue = {"negative": words[:5], "neutral": words[5:10], "positive": words[10:15]}
rng = random.Random(11)
for split, n in (("train", 120), ("valid", 24)):
    with open(f"{work}/{split}.csv", "w") as f:
        f.write("text,label\n")
        for _ in range(n):
            label = rng.choice(sorted(cue))
            text = [rng.choice(words[15:]) for _ in range(rng.randint(2, 14))]
            text.insert(rng.randrange(len(text) + 1), rng.choice(cue[label]))
            f.write(" ".join(text) + "," + label + "\n")
for name, specials in (("pad0", ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]),
                       ("pad1", ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"])):
    with open(f"{work}/vocab-{name}.txt", "w") as f:
        f.write("\n".join(specials + words) + "\n")
PY

common=(--set device=cpu --set data.train="$work/train.csv" --set data.valid="$work/valid.csv" --set data.max_length=24
        --set train.epochs=3 --set train.batch_size=16 --set train.lr=1e-3 --set train.warmup_steps=3
        --set train.log_every=1 --set train.bf16=false --set train.report=false --set train.tensorboard=false
        --set head.pooling=cls --set head.dropout=0 --set model.dropout=0 --set model.attention_dropout=0)

train() {  # run_dir extra --set arguments...
  local run="$1"
  shift
  "$ATTUNE" train --set run_dir="$run" "${common[@]}" "$@" > "$run.log" 2>&1 ||
    { echo "training $run failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
}

# transformers' fixtures have no BERT classifier; attune writes one (a run of 30 steps).
bert_base="$work/bert-seqcls"
"$ATTUNE" train --set run_dir="$work/bert-scratch" --set device=cpu --set data.train="$work/train.csv" \
  --set data.valid="$work/valid.csv" --set data.max_length=24 --set tokenizer.vocab="$work/vocab-pad0.txt" \
  --set model.preset=null --set model.hidden_size=32 --set model.num_layers=2 --set model.num_heads=4 \
  --set model.intermediate_size=37 --set model.max_length=40 --set head.pooling=cls --set train.max_steps=30 \
  --set train.report=false > "$work/bert-scratch.log" 2>&1 ||
  { echo "the BERT checkpoint failed:" >&2; tail -5 "$work/bert-scratch.log" >&2; exit 1; }
"$ATTUNE" convert --run "$work/bert-scratch" --to-hf "$bert_base" > /dev/null

cases=()
for name in bert-seqcls roberta-seqcls distilbert-seqcls electra-seqcls deberta-v3-seqcls deberta-v2-absolute-seqcls \
            modernbert-seqcls modernbert-biased-seqcls; do
  base="$work/base-$name"
  mkdir -p "$base"
  if [[ $name == bert-seqcls ]]; then
    cp "$bert_base/"{config.json,model.safetensors,vocab.txt} "$base/"
  else
    src="$root/tests/fixtures/hf_arch/$name"
    [[ -d $src ]] || src="$root/tests/fixtures/modern_arch/$name"
    cp "$src/"{config.json,model.safetensors} "$base/"
    pad=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('pad_token_id') or 0)" "$base/config.json")
    cp "$work/vocab-pad$pad.txt" "$base/vocab.txt"
  fi
  kinds=(full)
  case $name in
    bert-seqcls) kinds+=(lora); targets='["query","key","value","dense"]' ;;
    # RoBERTa's "dense" would also name its classifier head's dense, which PEFT trains whole.
    roberta-seqcls) kinds+=(lora); targets='["query","key","value"]' ;;
    distilbert-seqcls) kinds+=(lora); targets='["q_lin","k_lin","v_lin","out_lin"]' ;;
    deberta-v3-seqcls) kinds+=(lora); targets='["query_proj","key_proj","value_proj","dense"]' ;;
    modernbert-seqcls) kinds+=(lora); targets='["Wqkv","Wo","Wi"]' ;;
  esac
  for kind in "${kinds[@]}"; do
    case_dir="$out/$name-$kind"
    rm -rf "$case_dir" && mkdir -p "$case_dir/run" "$case_dir/start"
    extra=(--set init=hf:"$base")
    [[ $kind == lora ]] && extra+=(--set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8
                                  --set peft.lora_dropout=0 --set peft.target_modules="$targets")
    train "$work/$name-$kind" "${extra[@]}"
    train "$work/$name-$kind-start" "${extra[@]}" --set train.max_steps=1
    cp "$work/$name-$kind/"{config.json,metrics.jsonl} "$case_dir/run/"
    if [[ $kind == full ]]; then
      "$ATTUNE" convert --run "$work/$name-$kind-start" --to-hf "$case_dir/start/hf" > /dev/null
    else
      mkdir -p "$case_dir/start/base" "$case_dir/start/adapter"
      cp "$base/"* "$case_dir/start/base/"
      cp "$work/$name-$kind-start/"{adapter_config.json,adapter_model.safetensors} "$case_dir/start/adapter/"
    fi
    # attune's ids of each training text, as the run's tokenizer gives them, with the label's id.
    python3 -c 'import csv, sys; [print(r["text"]) for r in csv.DictReader(open(sys.argv[1]))]' "$work/train.csv" \
      > "$work/texts-$name-$kind.txt"
    "$ATTUNE" tokenize --tokenizer "$work/$name-$kind" --special --max-length 24 \
      --input "$work/texts-$name-$kind.txt" > "$work/ids-$name-$kind.jsonl"
    python3 - "$work/train.csv" "$work/$name-$kind" "$work/ids-$name-$kind.jsonl" > "$case_dir/train.jsonl" <<'PY'
import csv, json, os, sys
labels = json.load(open(os.path.join(sys.argv[2], "labels.json")))
rows = list(csv.DictReader(open(sys.argv[1])))
ids = [json.loads(line) for line in open(sys.argv[3])]
assert len(rows) == len(ids), (len(rows), len(ids))
for row, line in zip(rows, ids):
    print(json.dumps({"ids": line, "label": labels.index(row["label"])}))
PY
    cases+=("$name-$kind")
    echo "$name-$kind: $(wc -l < "$case_dir/run/metrics.jsonl") metric lines"
  done
done
# One case of another task from RUNNER (a function: RUN_DIR then extra --set arguments): the
# run, its one-step start (--to-hf for full runs; BASE_DIR and the adapter for LoRA on the
# default targets), as OUT_DIR/NAME/{run,start}; the caller adds the training data.
record_case() {  # name kind base_dir runner
  local name="$1" kind="$2" base="$3" runner="$4"
  local case_dir="$out/$name"
  rm -rf "$case_dir" && mkdir -p "$case_dir/run" "$case_dir/start"
  local extra=()
  [[ $kind == lora ]] && extra+=(--set peft.method=lora --set peft.r=4 --set peft.lora_alpha=8 --set peft.lora_dropout=0)
  "$runner" "$work/$name" "${extra[@]}"
  "$runner" "$work/$name-start" "${extra[@]}" --set train.max_steps=1
  cp "$work/$name/"{config.json,metrics.jsonl} "$case_dir/run/"
  if [[ $kind == full ]]; then
    "$ATTUNE" convert --run "$work/$name-start" --to-hf "$case_dir/start/hf" > /dev/null
  else
    mkdir -p "$case_dir/start/adapter"
    cp -r "$base" "$case_dir/start/base"
    cp "$work/$name-start/"{adapter_config.json,adapter_model.safetensors} "$case_dir/start/adapter/"
  fi
  cases+=("$name")
  echo "$name: $(wc -l < "$case_dir/run/metrics.jsonl") metric lines"
}
run_or_fail() {  # run_dir attune train arguments...
  local run="$1"
  shift
  "$ATTUNE" train --set run_dir="$run" --set device=cpu --set train.log_every=1 --set train.bf16=false \
    --set train.report=false --set train.tensorboard=false "$@" > "$run.log" 2>&1 ||
    { echo "training $run failed:" >&2; tail -5 "$run.log" >&2; exit 1; }
}

# Image classification: transformers' own ViTForImageClassification (the 32x32 grey fixture)
# fine-tuned on the bright-quadrant images (4 classes, a new head), full and with LoRA. The
# case's train-images/-labels are the whole file; the Python side takes the run's hold-out
# (data.valid_size, by seed) from it as attune does.
vit_base="$root/tests/fixtures/vit/hf-imgcls-c1"
python3 "$root/tools/parity/write_quadrants.py" "$work" quadrants 112 5
image_run() {
  local run="$1"
  shift
  run_or_fail "$run" --task image-classification --set init=hf:"$vit_base" \
    --set data.train_images="$work/quadrants-images" --set data.train_labels="$work/quadrants-labels" \
    --set data.valid_size=16 --set augment.crop_padding=0 --set augment.horizontal_flip=false \
    --set model.dropout=0 --set model.attention_dropout=0 --set train.epochs=3 --set train.batch_size=16 \
    --set train.lr=1e-3 --set train.warmup_steps=3 "$@"
}
for kind in full lora; do
  record_case "vit-imgcls-$kind" "$kind" "$vit_base" image_run
  cp "$work/quadrants-images" "$out/vit-imgcls-$kind/train-images"
  cp "$work/quadrants-labels" "$out/vit-imgcls-$kind/train-labels"
done

# Translation: transformers' own MarianMTModel (the opus-joint fixture) fine-tuned on number
# words, English to German, full and with LoRA (q_proj, v_proj), token-budget batches and
# label smoothing 0.1. The case's train.tsv is the training file; the Python side tokenizes it
# with MarianTokenizer (attune's ids, checked by tools/parity/marian_parity.py) and rebuilds
# attune's batches.
marian_base="$root/tests/fixtures/marian/opus-joint"
python3 "$root/tools/parity/write_number_pairs.py" "$work" numbers
marian_run() {
  local run="$1"
  shift
  run_or_fail "$run" --task translation --set init=hf:"$marian_base" \
    --set data.train="$work/numbers-train.tsv" --set data.valid="$work/numbers-valid.tsv" \
    --set data.max_source_tokens=40 --set data.max_target_tokens=40 --set model.dropout=0 \
    --set model.attention_dropout=0 --set model.activation_dropout=0 --set train.epochs=2 \
    --set train.max_tokens=400 --set train.lr=1e-3 --set train.warmup_steps=3 --set train.schedule=linear \
    --set train.label_smoothing=0.1 --set train.eval_max_sentences=0 --set train.selection_metric=loss "$@"
}
for kind in full lora; do
  record_case "marian-mt-$kind" "$kind" "$marian_base" marian_run
  cp "$work/numbers-train.tsv" "$out/marian-mt-$kind/train.tsv"
done
tar czf "$out/finetune_cases.tar.gz" -C "$out" "${cases[@]}"
echo "wrote $out/finetune_cases.tar.gz ($(du -h "$out/finetune_cases.tar.gz" | cut -f1))"
