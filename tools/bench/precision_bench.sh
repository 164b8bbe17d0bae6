#!/usr/bin/env bash
# A low-precision bundle of a classification run against its float32 one: exports the run
# as float32 and as int8 (`export --int8`) or bfloat16 (`--bf16`), predicts a labelled CSV's
# texts with each (CPU, `attune predict --bundle`), and prints accuracy, agreement between
# the two and the prediction time of each.
#
#   tools/bench/precision_bench.sh RUN_DIR TEST.csv OUT_DIR
#       PRECISION: int8 (default) or bf16; BATCH: texts a forward pass (32)
set -euo pipefail
run="$1"; csv="$2"; out="$3"
low="${PRECISION:-int8}"
[[ "$low" == int8 || "$low" == bf16 ]] || { echo "precision_bench.sh: PRECISION must be int8 or bf16, not '$low'" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="${ATTUNE:-$root/build/attune}"
mkdir -p "$out"
"$attune" export --run "$run" --out "$out/fp32" --overwrite >/dev/null
"$attune" export --run "$run" --out "$out/$low" --overwrite "--$low" >/dev/null
data_key() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"][sys.argv[2]])' "$run/config.json" "$1"; }
python3 "$root/tools/bench/csv_texts.py" "$csv" "$out/texts.txt" "$(data_key text_column)" "$out/labels.txt" "$(data_key label_column)"
: >"$out/times.txt"
for kind in fp32 "$low"; do
  start=$(date +%s.%N)
  "$attune" predict --bundle "$out/$kind" --device cpu --batch-size "${BATCH:-32}" --input "$out/texts.txt" \
    --output "$out/$kind.jsonl"
  echo "$kind $(python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.3f}")' "$start")" >>"$out/times.txt"
done
python3 - "$out" "$low" <<'PY'
import json, os, sys
out, low = sys.argv[1], sys.argv[2]
labels = [l.rstrip("\n") for l in open(f"{out}/labels.txt")]
pred = {k: [json.loads(l) for l in open(f"{out}/{k}.jsonl")] for k in ("fp32", low)}
times = dict(l.split() for l in open(f"{out}/times.txt"))
acc = {k: sum(p["label"] == y for p, y in zip(v, labels)) / len(labels) for k, v in pred.items()}
agree = sum(a["label"] == b["label"] for a, b in zip(pred["fp32"], pred[low])) / len(labels)
diff = max(abs(a["probabilities"][c] - b["probabilities"][c]) for a, b in zip(pred["fp32"], pred[low]) for c in a["probabilities"])
size = {k: os.path.getsize(f"{out}/{k}/model.pt") for k in ("fp32", low)}
print(json.dumps({"precision": low, "texts": len(labels), "accuracy_fp32": acc["fp32"], f"accuracy_{low}": acc[low],
                  "label_agreement": agree, "max_probability_diff": diff,
                  "seconds_fp32": float(times["fp32"]), f"seconds_{low}": float(times[low]),
                  "speedup": float(times["fp32"]) / float(times[low]),
                  "model_bytes_fp32": size["fp32"], f"model_bytes_{low}": size[low]}))
PY
