#!/usr/bin/env bash
# Data-parallel training speed (issue 24): attune's data-parallel steps against PyTorch
# DDP under Hugging Face Transformers (+ PEFT), side by side in one call, on the BERT-base
# shape of speed_bench.sh (sequence classification, bf16 autocast, fused AdamW; attune's
# steps eager, and with GRAPHS=1 also captured in CUDA graphs, launches tagged "+graphs",
# the gradient sums in the graph, and "+graphs-outside", the sums after each replay).
# For each batch size per GPU
# (B32 and B128 at sequence length 128) and method (full, LoRA r=8 on query and value):
#   world 1  alone: no process group
#   world 1  group: one rank under torchrun with ATTUNE_GROUP_OF_ONE=1, so the process
#            group and every gradient sum stay (NCCL at world size 1): the reducer's cost
#   world N  (NPROCS, e.g. "2 4", where the machine has that many GPUs): torchrun
# ROUNDS repeats the sequence, interleaved; the table takes each point's median run.
#
#   tools/bench/ddp_bench.sh OUT_DIR
#
# Env: ATTUNE [build/attune], BATCHES ["32 128"], SEQ [128], METHODS ["full lora"],
#      NPROCS [""], STEPS [20], REPEATS [5], ROUNDS [2], PRESET [base], GRAPHS [0].
# Writes OUT_DIR/results.jsonl (one record per run, with "launch") and OUT_DIR/results.md.
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="$(realpath "${ATTUNE:-build/attune}")"
batches="${BATCHES:-32 128}"; seq="${SEQ:-128}"; methods="${METHODS:-full lora}"; nprocs="${NPROCS:-}"
steps="${STEPS:-20}"; repeats="${REPEATS:-5}"; rounds="${ROUNDS:-2}"; preset="${PRESET:-base}"; graphs="${GRAPHS:-0}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
lora=(--set peft.method=lora --set peft.r=8 --set peft.lora_alpha=8 --set 'peft.target_modules=["query","value"]')

record() {  # launch-name command...: appends the command's JSON record, tagged with the launch
  local launch="$1"; shift
  local line
  if line="$("$@")"; then
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["launch"]=sys.argv[2]; print(json.dumps(r))' \
      "$line" "$launch" >> "$results"
  else
    echo "ddp_bench: $launch $* failed" >&2
  fi
}
launcher() {  # N: torchrun with N ranks on this node
  if [[ "$1" == 1 ]]; then
    echo env ATTUNE_GROUP_OF_ONE=1 python3 -m torch.distributed.run --standalone --nproc-per-node 1
  else
    echo python3 -m torch.distributed.run --standalone --nproc-per-node "$1"
  fi
}

for round in $(seq "$rounds"); do
  for batch in $batches; do
    for method in $methods; do
      echo "== round $round: B$batch S$seq $method" >&2
      a_args=(bench --config "$here/speed_bert_base.json" --device cuda --set "model.preset=$preset" --mode train
              --seq-len "$seq" --batch-size "$batch" --steps "$steps" --repeats "$repeats" --no-cuda-graphs)
      [[ "$method" == lora ]] && a_args+=("${lora[@]}")
      p_args=("$here/hf_speed_peer.py" --device cuda --preset "$preset" --mode train --method "$method"
              --seq-len "$seq" --batch-size "$batch" --steps "$steps" --repeats "$repeats")
      g_args=()  # the same without --no-cuda-graphs: bench captures by default
      for a in "${a_args[@]}"; do [[ "$a" == --no-cuda-graphs ]] || g_args+=("$a"); done
      record alone "$attune" "${a_args[@]}"
      [[ "$graphs" == 1 ]] && record alone+graphs "$attune" "${g_args[@]}"
      record alone python3 "${p_args[@]}"
      for n in 1 $nprocs; do
        # shellcheck disable=SC2046
        record "torchrun-$n" $(launcher "$n") --no-python "$attune" "${a_args[@]}"
        # shellcheck disable=SC2046
        [[ "$graphs" == 1 ]] && record "torchrun-$n+graphs" $(launcher "$n") --no-python "$attune" "${g_args[@]}"
        # shellcheck disable=SC2046
        [[ "$graphs" == 1 ]] && record "torchrun-$n+graphs-outside" $(launcher "$n") --no-python "$attune" \
          "${g_args[@]}" --sums-outside-graphs
        # shellcheck disable=SC2046
        record "torchrun-$n" $(launcher "$n") "${p_args[@]}"
      done
    done
  done
done
python3 "$here/ddp_table.py" "$results" > "$out/results.md"
cat "$out/results.md"
