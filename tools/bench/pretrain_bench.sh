#!/usr/bin/env bash
# Pretraining benchmark: masked-LM pretraining of a BERT encoder on the Debian corpus
# within a time budget, then fine-tuning on real data sets from scratch and from the
# pretrained encoder, with full fine-tuning, LoRA and the other PEFT methods
# (tools/bench/peft_bench.sh with BASE = the pretrained run, learning rates chosen on
# validation). DATASETS="" pretrains only; peft_bench.sh can add data sets later.
#
#   tools/bench/pretrain_bench.sh DATA_DIR CORPUS_DIR OUT_DIR
#
# DATA_DIR holds spam_assassin/{train,valid,test}.csv (tools/data/fetch_spam_assassin.sh)
# and debian_sections/{train,test}.csv (tools/data/fetch_debian_sections.sh);
# CORPUS_DIR holds train.txt and valid.txt (tools/data/fetch_corpus.sh).
#
# The pretraining step count is calibrated: a short run (CALIBRATION_STEPS) measures
# tokens/s on this device, and the real run gets the steps that fill PRETRAIN_SECONDS
# (the schedule then warms up and decays over exactly that many steps). The real run
# reuses the calibration run's vocabulary, so the tokenizer is learned once.
# Fine-tuning from the pretrained encoder reuses its tokenizer (init does that);
# from scratch, the data set's own vocabulary is learned, as tools/configs/spam_assassin.json does.
#
# Env (defaults in brackets): ATTUNE [build/attune], DEVICE [auto], PRESET [mini],
# PRETRAIN_SECONDS [210], PRETRAIN_BATCH [128], PRETRAIN_LR [1e-3], VOCAB [16000],
# MAX_LENGTH [128], CORPUS_LINES [0 = all], CALIBRATION_STEPS [40], EPOCHS [4] (fine-tuning),
# DATASETS ["spam_assassin debian_sections"], STOP_AFTER and RESUME (below).
# Writes OUT_DIR/pretrain (the pretrained run) and OUT_DIR/pretrain.md; OUT_DIR/finetune/
# (peft_bench.sh's runs and tables) and OUT_DIR/results.md (from scratch vs pretrained,
# full vs LoRA).
set -euo pipefail
data="$1"; corpus="$2"; out="$3"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-auto}"; preset="${PRESET:-mini}"
seconds="${PRETRAIN_SECONDS:-210}"; batch="${PRETRAIN_BATCH:-128}"; lr="${PRETRAIN_LR:-1e-3}"
vocab="${VOCAB:-16000}"; max_length="${MAX_LENGTH:-128}"; corpus_lines="${CORPUS_LINES:-0}"
calibration="${CALIBRATION_STEPS:-40}"; epochs="${EPOCHS:-4}"
read -r -a datasets <<<"${DATASETS-spam_assassin debian_sections}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$out"
: >"$out/results.jsonl"
start=$(date +%s)

train_txt="$corpus/train.txt"; valid_txt="$corpus/valid.txt"
if [[ "$corpus_lines" -gt 0 ]]; then  # a subset, for smoke tests
  head -n "$corpus_lines" "$corpus/train.txt" >"$out/corpus_train.txt"; train_txt="$out/corpus_train.txt"
  head -n $((corpus_lines / 50 + 20)) "$corpus/valid.txt" >"$out/corpus_valid.txt"; valid_txt="$out/corpus_valid.txt"
fi
pre_flags=(--overwrite --set device="$device" --set data.train="$train_txt" --set data.valid="$valid_txt"
           --set model.preset="$preset" --set tokenizer.vocab_size="$vocab" --set mlm.max_length="$max_length"
           --set train.batch_size="$batch" --set train.lr="$lr" --set train.checkpoint_every=0
           --set train.epochs=1000)  # max_steps (calibrated) ends the run, not epochs

if [[ "${RESUME:-0}" == 1 ]]; then
  # Continues a pretraining that STOP_AFTER interrupted (its checkpoint holds the step,
  # optimizer and schedule), e.g. in a later device call.
  [[ -f "$out/pretrain/config.json" ]] || { echo "RESUME=1: no pretraining run in $out/pretrain" >&2; exit 1; }
  steps=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["train"]["max_steps"])' "$out/pretrain/config.json")
  echo "== pretraining resumed: $out/pretrain ($steps steps in all)"
  "$attune" pretrain --resume "$out/pretrain" --device "$device" >>"$out/pretrain.log" 2>&1 ||
    { tail -20 "$out/pretrain.log" >&2; exit 1; }
else
  echo "== calibration: $calibration steps of $preset on $device"
  "$attune" pretrain "${pre_flags[@]}" --set run_dir="$out/calibration" --set train.max_steps="$calibration" \
    --set train.log_every=10 >"$out/calibration.log" 2>&1 || { cat "$out/calibration.log" >&2; exit 1; }
  steps=$(python3 - "$out/calibration/metrics.jsonl" "$seconds" "$batch" "$max_length" <<'PY'
import json, statistics, sys
path, seconds, batch, length = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rates = [l["items_per_s"] for l in map(json.loads, open(path)) if l["split"] == "train"]
rate = statistics.median(rates[1:] or rates)  # the first window includes start-up
# 5% of the budget goes to evaluations and checkpoints.
print(max(10, int(0.95 * seconds * rate / (batch * length))))
PY
)
  echo "   $(tail -1 "$out/calibration.log" | tr -d '\n'); pretraining for $steps steps"

  echo "== pretraining: $preset, $steps steps of $batch x $max_length"
  # STOP_AFTER (seconds) interrupts the run as Ctrl-C would (it checkpoints and exits);
  # RESUME=1 continues it. A budget longer than one device call takes two calls that way.
  stopper=(); [[ -n "${STOP_AFTER:-}" ]] && stopper=(timeout -s INT "$STOP_AFTER")
  rc=0
  "${stopper[@]}" "$attune" pretrain "${pre_flags[@]}" --set run_dir="$out/pretrain" --set train.max_steps="$steps" \
    --set tokenizer.vocab="$out/calibration/tokenizer/vocab.txt" --set train.eval_every=$(( (steps + 3) / 4 )) \
    --set train.checkpoint_every=500 --set train.log_every=50 >"$out/pretrain.log" 2>&1 || rc=$?
  if [[ -n "${STOP_AFTER:-}" && ( $rc == 124 || $rc == 130 ) ]]; then
    tail -2 "$out/pretrain.log"
    echo "   interrupted after $STOP_AFTER s as asked; continue with RESUME=1"
    exit 0
  fi
  [[ $rc == 0 ]] || { tail -20 "$out/pretrain.log" >&2; exit 1; }
fi
tail -1 "$out/pretrain.log"
echo "   pretraining took $(( $(date +%s) - start )) s in this call"

if [[ ${#datasets[@]} -gt 0 ]]; then
  echo "== fine-tuning on ${datasets[*]}: tools/bench/peft_bench.sh with BASE=$out/pretrain"
  ATTUNE="$attune" DEVICE="$device" EPOCHS="$epochs" BASE="$out/pretrain" SCRATCH_LORA=1 \
    "$root/tools/bench/peft_bench.sh" "$data" "$out/finetune" "${datasets[@]}"
fi

python3 - "$out" <<'PY' | tee "$out/pretrain.md"
import json, os, sys
out = sys.argv[1]
config = json.load(open(os.path.join(out, "pretrain", "config.json")))  # a resumed run's own settings
preset, steps = config["model"]["preset"], config["train"]["max_steps"]
batch, length = config["train"]["batch_size"], config["mlm"]["max_length"]
pre = json.load(open(os.path.join(out, "pretrain", "results.json")))["valid"]
train = [json.loads(l) for l in open(os.path.join(out, "pretrain", "metrics.jsonl")) if '"train"' in l]
print(f"Pretraining: BERT {preset}, {steps} steps of {batch} x {length} tokens "
      f"({int(steps) * int(batch) * int(length) / 1e6:.1f}M tokens) in {train[-1]['elapsed_s']:.0f} s; held-out "
      f"masked accuracy {pre['masked_accuracy']:.4f}, perplexity {pre['perplexity']:.2f} "
      f"(loss {pre['loss']:.4f}, {pre['masked_tokens']} masked tokens).")
PY
if [[ -f "$out/finetune/results.jsonl" ]]; then
  python3 "$root/tools/bench/peft_table.py" "$out/finetune/results.jsonl" --pretraining | tee "$out/results.md"
fi
echo "total $(( $(date +%s) - start )) s" >&2
