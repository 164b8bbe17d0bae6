#!/usr/bin/env bash
# Translation benchmark: attune's transformer-small against a transformers MarianMTModel of
# the same shape, both trained from scratch on the same English-German pairs
# (tools/data/fetch_en_de.sh) with the same SentencePiece model and recipe for the same
# number of steps, then scored on the test split with beam search (beam 4). Reports
# BLEU and chrF (sacreBLEU's defaults: attune's own metric, and sacrebleu on attune's
# output as a cross-check), training target tokens/s and decoding sentences/s.
#
#   tools/bench/translation_bench.sh DATA_DIR SPM_MODEL OUT_DIR [attune|peer|both]
#
# DATA_DIR holds train.tsv, valid.tsv, test.tsv. SPM_MODEL is a joint SentencePiece model
# (an attune translation run's tokenizer/sentencepiece.model; tools/bench/translation_vocab.sh).
# Env: ATTUNE [build/attune], DEVICE [cuda], STEPS [3000], MAX_TOKENS [8192], LR [7e-4],
# WARMUP [1000], PRESET [transformer-small].
# Appends one JSON line per system to OUT_DIR/results.jsonl.
set -euo pipefail
data="$1"; spm_model="$2"; out="$3"; which="${4:-both}"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-cuda}"; steps="${STEPS:-3000}"
max_tokens="${MAX_TOKENS:-8192}"; lr="${LR:-7e-4}"; warmup="${WARMUP:-1000}"; preset="${PRESET:-transformer-small}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$out"

if [[ "$which" == attune || "$which" == both ]]; then
  echo "== attune: $preset, $steps steps of <= $max_tokens tokens"
  "$attune" train --task translation --overwrite --set run_dir="$out/attune" --set device="$device" \
    --set data.train="$data/train.tsv" --set data.valid="$data/valid.tsv" --set tokenizer.model="$spm_model" \
    --set model.preset="$preset" --set model.max_positions=256 --set train.max_steps="$steps" \
    --set train.epochs=1000 --set train.max_tokens="$max_tokens" --set train.lr="$lr" \
    --set train.warmup_steps="$warmup" --set train.eval_every="$steps" --set train.checkpoint_every=0 \
    --set train.log_every=100 --set train.eval_max_sentences=0 --set train.selection_metric=loss \
    >"$out/attune_train.log" 2>&1 || { tail -20 "$out/attune_train.log" >&2; exit 1; }
  "$attune" eval --run "$out/attune" --data "$data/test.tsv" --set decode.beam_size=4 \
    --set decode.output="$out/attune_hyp.txt" >"$out/attune_eval.json" 2>"$out/attune_eval.log" ||
    { cat "$out/attune_eval.log" >&2; exit 1; }
  python3 - "$out" "$data/test.tsv" "$steps" <<'PY' | tee -a "$out/results.jsonl"
import json, statistics, sys
out, test, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
ev = json.load(open(f"{out}/attune_eval.json"))
lines = [json.loads(l) for l in open(f"{out}/attune/metrics.jsonl")]
train = [l for l in lines if l["split"] == "train"]
row = {"system": "attune", "steps": steps, "bleu": ev["bleu"], "chrf": ev["chrf"],
       "train_target_tokens_per_s": statistics.median(l["items_per_s"] for l in train[1:] or train),
       "train_s": train[-1]["elapsed_s"], "final_loss": train[-1]["loss"],
       "decode_sentences_per_s": ev["sentences_per_s"]}
try:  # sacreBLEU itself on attune's output: the metric parity on a real system output
    import sacrebleu
    hyps = open(f"{out}/attune_hyp.txt", encoding="utf-8").read().split("\n")[:-1]
    refs = [l.rstrip("\n").split("\t")[1] for l in open(test, encoding="utf-8") if l.strip()]
    row["sacrebleu_bleu"] = sacrebleu.corpus_bleu(hyps, [refs]).score
    row["sacrebleu_chrf"] = sacrebleu.corpus_chrf(hyps, [refs]).score
except ImportError:
    pass
print(json.dumps(row))
PY
fi
if [[ "$which" == peer || "$which" == both ]]; then
  echo "== transformers MarianMTModel: same shape, $steps steps"
  python3 "$root/tools/bench/marian_peer.py" "$data/train.tsv" "$data/test.tsv" "$spm_model" "$steps" "$max_tokens" \
    "$lr" "$warmup" "$out/peer" 2>&1 | tee "$out/peer.log" | tail -1 >>"$out/results.jsonl"
  tail -1 "$out/results.jsonl"
fi
