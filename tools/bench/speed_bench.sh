#!/usr/bin/env bash
# attune against Hugging Face Transformers + PEFT on one GPU, side by side in one call
# (issue 9): the BERT-base shape (tools/bench/speed_bert_base.json), sequence
# classification, batch 32, bf16 autocast; full fine-tuning and LoRA (r=8 on query and
# value) at each sequence length; inference throughput at batch 32 and latency at batch
# 1 (attune's eager model and its TorchScript bundle module, against transformers); the
# card's bf16 matmul rate for model-FLOP utilisation; and attune's ablations (each speed
# change undone alone, docs/speed-notes.md). Systems alternate config by config so that
# clocks and temperature drift hit both alike.
#
#   tools/bench/speed_bench.sh OUT_DIR
#
# Training runs attune with CUDA graphs (the config's train.cuda_graphs), the peer, and
# attune's eager steps (--no-cuda-graphs), config by config; ROUNDS repeats that whole
# sequence, interleaved, and the table takes each configuration's median run.
#
# Env: ATTUNE [build/attune], DEVICE [cuda], SEQS ["128 512"], STEPS [20], REPEATS [5],
#      ROUNDS [1], ABLATIONS [1], PRESET [base].
# Writes OUT_DIR/results.jsonl (one record per run), OUT_DIR/results.md (speed_table.py).
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-cuda}"; seqs="${SEQS:-128 512}"
steps="${STEPS:-20}"; repeats="${REPEATS:-5}"; preset="${PRESET:-base}"; rounds="${ROUNDS:-1}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
common=(--batch-size 32 --steps "$steps" --repeats "$repeats")
a_bench() {  # attune bench arguments...
  "$attune" bench --config "$here/speed_bert_base.json" --device "$device" --set "model.preset=$preset" \
    "${common[@]}" "$@" >> "$results" || echo "speed_bench: attune bench $* failed" >&2
}
peer() {  # hf_speed_peer.py arguments...
  python3 "$here/hf_speed_peer.py" --device "$device" --preset "$preset" "${common[@]}" "$@" >> "$results" ||
    echo "speed_bench: hf_speed_peer.py $* failed" >&2
}
lora=(--set peft.method=lora --set peft.r=8 --set peft.lora_alpha=8 --set 'peft.target_modules=["query","value"]')

"$attune" bench --mode matmul --device "$device" >> "$results"
for round in $(seq "$rounds"); do
  for seq in $seqs; do
    echo "== round $round: train seq $seq" >&2
    a_bench --mode train --seq-len "$seq"
    peer --mode train --method full --seq-len "$seq"
    a_bench --mode train --seq-len "$seq" --no-cuda-graphs
    a_bench --mode train --seq-len "$seq" "${lora[@]}"
    peer --mode train --method lora --seq-len "$seq"
    a_bench --mode train --seq-len "$seq" "${lora[@]}" --no-cuda-graphs
  done
done
echo "== infer" >&2
first_seq="${seqs%% *}"
a_bench --mode infer --seq-len "$first_seq"
peer --mode infer --seq-len "$first_seq"
if [[ "${ABLATIONS:-1}" == 1 ]]; then
  echo "== ablations" >&2
  for flag in --no-fused-optimizer --sync-every-step --masked; do
    a_bench --mode train --seq-len "$first_seq" "$flag"
  done
fi
python3 "$here/speed_table.py" "$results" > "$out/results.md"
cat "$out/results.md"
