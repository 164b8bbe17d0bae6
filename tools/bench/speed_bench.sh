#!/usr/bin/env bash
# attune against Hugging Face Transformers + PEFT on one GPU, side by side in one call
# (issues 9 and 29): the BERT-base shape (tools/bench/speed_bert_base.json), sequence
# classification, bf16 autocast; full fine-tuning and LoRA (r=8 on query and value) at
# each batch x sequence shape; inference throughput at batch 32 and latency at batch 1
# (attune's eager model and its TorchScript bundle module, against transformers eager and
# torch.compile); the card's bf16 matmul rate for model-FLOP utilisation; and attune's
# ablations (each speed change undone alone, docs/speed-notes.md). Systems alternate
# config by config so that clocks and temperature drift hit all of them alike.
#
#   tools/bench/speed_bench.sh OUT_DIR
#
# Per shape and method: attune with CUDA graphs (the config's train.cuda_graphs), each
# peer, and attune's eager steps (--no-cuda-graphs). ROUNDS repeats the whole sequence,
# interleaved, and the table takes each configuration's median run. The compile peer
# (torch.compile(model), default mode) spends about a minute compiling per run.
#
# Env: ATTUNE [build/attune], DEVICE [cuda], SHAPES ["32x128 128x128 32x512 64x256"]
#      (batch x sequence length), PEERS ["hf hf-compile"], METHODS ["full lora"],
#      INFER_SEQS ["128 512"], STEPS [20], REPEATS [5], ROUNDS [1], ABLATIONS [1] at
#      ABLATION_SHAPES ["32x128 128x128"],
#      PRESET [base]; SEQS ["128 512"] is read as batch-32 shapes when SHAPES is unset.
# Writes OUT_DIR/results.jsonl (one record per run), OUT_DIR/results.md (speed_table.py).
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-cuda}"
if [[ -z "${SHAPES:-}" && -n "${SEQS:-}" ]]; then
  SHAPES=""; for s in $SEQS; do SHAPES+="32x$s "; done
fi
shapes="${SHAPES:-32x128 128x128 32x512 64x256}"; peers="${PEERS:-hf hf-compile}"
methods="${METHODS:-full lora}"; infer_seqs="${INFER_SEQS:-128 512}"
steps="${STEPS:-20}"; repeats="${REPEATS:-5}"; preset="${PRESET:-base}"; rounds="${ROUNDS:-1}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
timing=(--steps "$steps" --repeats "$repeats")
a_bench() {  # attune bench arguments...
  "$attune" bench --config "$here/speed_bert_base.json" --device "$device" --set "model.preset=$preset" \
    "${timing[@]}" "$@" >> "$results" || echo "speed_bench: attune bench $* failed" >&2
}
peer() {  # hf|hf-compile, then hf_speed_peer.py arguments...
  local compile=(); [[ "$1" == hf-compile ]] && compile=(--compile)
  shift
  python3 "$here/hf_speed_peer.py" --device "$device" --preset "$preset" "${timing[@]}" "${compile[@]}" "$@" \
    >> "$results" || echo "speed_bench: hf_speed_peer.py $* failed" >&2
}
lora=(--set peft.method=lora --set peft.r=8 --set peft.lora_alpha=8 --set 'peft.target_modules=["query","value"]')

"$attune" bench --mode matmul --device "$device" >> "$results"
for round in $(seq "$rounds"); do
  for shape in $shapes; do
    batch="${shape%x*}"; seq="${shape#*x}"
    for method in $methods; do
      echo "== round $round: train $method batch $batch seq $seq" >&2
      extra=(); [[ $method == lora ]] && extra=("${lora[@]}")
      a_bench --mode train --batch-size "$batch" --seq-len "$seq" "${extra[@]}"
      for p in $peers; do peer "$p" --mode train --method "$method" --batch-size "$batch" --seq-len "$seq"; done
      a_bench --mode train --batch-size "$batch" --seq-len "$seq" "${extra[@]}" --no-cuda-graphs
    done
  done
done
for seq in $infer_seqs; do
  echo "== infer seq $seq" >&2
  a_bench --mode infer --batch-size 32 --seq-len "$seq"
  for p in $peers; do peer "$p" --mode infer --batch-size 32 --seq-len "$seq"; done
done
if [[ "${ABLATIONS:-1}" == 1 ]]; then
  echo "== ablations" >&2
  for shape in ${ABLATION_SHAPES:-32x128 128x128}; do
    for flag in --no-fused-optimizer --sync-every-step --masked "--unfuse qkv" "--unfuse bf16_stream"; do
      # shellcheck disable=SC2086  # "--unfuse qkv" is two words
      a_bench --mode train --batch-size "${shape%x*}" --seq-len "${shape#*x}" $flag
    done
  done
fi
python3 "$here/speed_table.py" "$results" > "$out/results.md"
cat "$out/results.md"
