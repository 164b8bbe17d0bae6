#!/usr/bin/env bash
# Fashion-MNIST (tools/data/fetch_fashion_mnist.sh): attune's ViT from
# tools/configs/fashion_mnist.json, plain and with each attention enhancement, against
# timm's VisionTransformer of the same size on the same schedule (timm_vit_peer.py).
# Each run holds out 5000 training images for selecting its best epoch and reports
# test accuracy on the 10,000 test images.
#
#   tools/bench/vit_bench.sh FASHION_DIR OUT_DIR
#
# Env: ATTUNE [build/attune], DEVICE [auto], SEEDS ["1"], EPOCHS [30], PARALLEL [1] runs
# at a time (accuracy does not depend on it; the times do), THREADS [0 = all cores; give
# parallel runs a share each], ROWS [all rows below], CUDA_GRAPHS [false] (attune's
# train.cuda_graphs: captured steps, the same numbers faster).
# Writes OUT_DIR/<row>-s<seed>/ (runs), OUT_DIR/results.jsonl and OUT_DIR/results.md.
set -euo pipefail
data="$1"; out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-auto}"; seeds="${SEEDS:-1}"; epochs="${EPOCHS:-30}"
parallel="${PARALLEL:-1}"; threads="${THREADS:-0}"  # CPU threads per attune run (0: all cores)
rows="${ROWS:-timm plain mean-pool attention-pool fusion local relative all}"
mkdir -p "$out"
# The class token sees every patch; each patch sees the 5 x 5 patches around it.
local_mask='{"any": [{"grid": {"side": 7, "radius": 2, "offset": 1}}, {"global": [0]}]}'

run_row() {  # row seed
  local row="$1" seed="$2" run="$out/$1-s$2"
  local t0; t0=$(date +%s.%N)
  if [[ "$row" == timm ]]; then
    python3 "$here/timm_vit_peer.py" "$data" --epochs "$epochs" --seed "$seed" > "$run.log" 2>&1 ||
      { echo "vit_bench: timm failed; see $run.log" >&2; tail -3 "$run.log" >&2; return 1; }
    tail -1 "$run.log" > "$run.json"
    return 0
  fi
  local args=(--set "data.train_images=$data/train-images-idx3-ubyte" --set "data.train_labels=$data/train-labels-idx1-ubyte"
              --set "data.test_images=$data/t10k-images-idx3-ubyte" --set "data.test_labels=$data/t10k-labels-idx1-ubyte"
              --set "run_dir=$run" --set "seed=$seed" --set "device=$device" --set "train.epochs=$epochs"
              --set "threads=$threads" --set "train.cuda_graphs=${CUDA_GRAPHS:-false}")
  case "$row" in
    plain) ;;
    mean-pool) args+=(--set model.pooling=mean) ;;
    attention-pool) args+=(--set model.pooling=attention) ;;
    fusion) args+=(--set model.layer_fusion=true) ;;
    local) args+=(--set "model.attention_mask=$local_mask") ;;
    relative) args+=(--set model.position_bias=relative --set model.relative_max_distance=48) ;;
    all) args+=(--set model.pooling=attention --set model.layer_fusion=true --set model.position_bias=relative
                --set model.relative_max_distance=48) ;;
    *) echo "vit_bench: unknown row $row" >&2; return 2 ;;
  esac
  "$attune" train --config "$here/../configs/fashion_mnist.json" --overwrite "${args[@]}" > "$run.summary.json" 2> "$run.log" ||
    { echo "vit_bench: $row failed; see $run.log" >&2; tail -3 "$run.log" >&2; return 1; }
  python3 - "$row" "$seed" "$run" "$t0" > "$run.json" <<'PY'
import json, sys, time
row, seed, run, t0 = sys.argv[1:5]
r = json.load(open(f"{run}/results.json"))
rates = []
for line in open(f"{run}/metrics.jsonl"):
    m = json.loads(line)
    for key in ("samples_per_s", "examples_per_s", "items_per_s"):
        if m.get("split") == "train" and key in m:
            rates.append(m[key])
print(json.dumps({"system": "attune", "variant": row, "seed": int(seed), "parameters": r.get("parameters"),
                  "valid_accuracy": r["valid"]["accuracy"], "test_accuracy": r["test"]["accuracy"],
                  "wall_seconds": round(time.time() - float(t0), 1),
                  "train_images_per_second": sorted(rates)[len(rates) // 2] if rates else None}))
PY
}

source "$here/parallel_rows.sh"
run_all_rows
python3 "$here/vit_table.py" "$out/results.jsonl" > "$out/results.md"
cat "$out/results.md"
