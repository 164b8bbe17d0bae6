#!/usr/bin/env bash
# CPU inference: attune's TorchScript bundle module in float32 and in int8 (`attune bench
# --mode infer --device cpu`, the modules `attune export` and `export --int8` write)
# against ONNX Runtime's CPU provider on the same BERT shape in float32 and int8
# (tools/bench/onnx_peer.py), interleaved round by round so both see the same machine.
# Writes OUT/results.jsonl and prints the table (tools/bench/cpu_infer_table.py).
#
#   tools/bench/cpu_infer_bench.sh OUT      PRESETS ["mini base"], THREADS [every core],
#                                           ROUNDS [2], STEPS [4], REPEATS [3], ATTUNE [build/attune], PEER [1],
#                                           INT8_ENGINES ["default"; e.g. "onednn fbgemm": one attune run each]
set -euo pipefail
out="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="${ATTUNE:-$root/build/attune}"
threads="${THREADS:-$(nproc)}"
mkdir -p "$out"; : >"$out/results.jsonl"
shape=(--seq-len 128 --batch-size 32 --warmup 3 --steps "${STEPS:-4}" --repeats "${REPEATS:-3}" --latency-runs 50)
for round in $(seq 1 "${ROUNDS:-2}"); do
  for preset in ${PRESETS:-mini base}; do
    # One attune run per int8 engine (the float32 module is timed in each).
    for engine in ${INT8_ENGINES:-default}; do
      [[ "$engine" == default ]] && engine=""
      ATTUNE_INT8_ENGINE="$engine" "$attune" bench --mode infer --device cpu --set model.preset="$preset" \
        --set threads="$threads" "${shape[@]}" |
        python3 -c 'import json,sys; r=json.load(sys.stdin); r.update(round=int(sys.argv[1]), threads=int(sys.argv[2])); print(json.dumps(r))' \
          "$round" "$threads" >>"$out/results.jsonl"
    done
    if [[ "${PEER:-1}" == 1 ]]; then
      (cd "$root/tools/bench" && python3 onnx_peer.py --preset "$preset" --threads "$threads" "${shape[@]}" --work "$out") |
        python3 -c 'import json,sys; r=json.load(sys.stdin); r.update(round=int(sys.argv[1])); print(json.dumps(r))' \
          "$round" >>"$out/results.jsonl"
    fi
  done
done
python3 "$root/tools/bench/cpu_infer_table.py" "$out/results.jsonl" | tee "$out/results.md"
