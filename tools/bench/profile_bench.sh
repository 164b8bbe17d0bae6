#!/usr/bin/env bash
# Where the GPU time of a step goes (issue 29): Chrome traces of attune (eager steps, eager
# steps with the fused paths of models/common/fusion.h off, CUDA graphs), Hugging Face eager and HF + torch.compile on the speed benchmark's shapes,
# tabulated by kernel_breakdown.py into one kernel-time table per shape, and the Triton
# code Inductor generated (what compile fuses).
#
#   tools/bench/profile_bench.sh OUT_DIR
#
# Env: ATTUNE [build/attune]; SHAPES ["128x128 32x512"]: training, full fine-tuning, the
#      first shape, then inference at INFER_SHAPES ["32x512"], then the other training
#      shapes; STEPS [10] recorded per trace; CODE [1]: keep Inductor's code;
#      TRACES [OUT_DIR/traces]: where the traces and each run's record go; APPEND=1 adds
#      to OUT_DIR's profile.md and breakdown.json instead of starting them anew.
# Writes OUT_DIR/profile.md and OUT_DIR/breakdown.json (extended shape by shape, so that
# a run cut short keeps what it finished) and OUT_DIR/inductor_code.txt.gz.
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; steps="${STEPS:-10}"
shapes="${SHAPES:-128x128 32x512}"; infer_shapes="${INFER_SHAPES-32x512}"
traces="${TRACES:-$out/traces}"; mkdir -p "$traces" "$out"
if [[ "${APPEND:-0}" != 1 ]]; then
  : > "$out/profile.md"
  echo "{}" > "$out/breakdown.json"
fi
timing=(--steps "$steps" --repeats 2 --warmup 10)
record() {  # mode batch seq
  local mode="$1" batch="$2" seq="$3" tag="$1-$2x$3"
  local shape=(--mode "$mode" --batch-size "$batch" --seq-len "$seq")
  # Eager steps with the default fused paths, then with every one of them off.
  "$attune" bench --config "$here/speed_bert_base.json" "${shape[@]}" "${timing[@]}" --no-cuda-graphs \
    --trace "$traces/attune-eager-$tag.json" > "$traces/attune-eager-$tag.record.json"
  local labels=("attune eager=$traces/attune-eager-$tag.json")
  ATTUNE_UNFUSE=qkv,bf16_stream "$attune" bench --config "$here/speed_bert_base.json" "${shape[@]}" "${timing[@]}" \
    --no-cuda-graphs --trace "$traces/attune-unfused-$tag.json" > "$traces/attune-unfused-$tag.record.json"
  labels+=("attune eager unfused=$traces/attune-unfused-$tag.json")
  if [[ "$mode" == train ]]; then
    "$attune" bench --config "$here/speed_bert_base.json" "${shape[@]}" "${timing[@]}" \
      --trace "$traces/attune-graphs-$tag.json" > "$traces/attune-graphs-$tag.record.json"
    labels+=("attune graphs=$traces/attune-graphs-$tag.json")
  fi
  python3 "$here/hf_speed_peer.py" "${shape[@]}" "${timing[@]}" --trace "$traces/hf-$tag.json" > "$traces/hf-$tag.record.json"
  labels+=("HF eager=$traces/hf-$tag.json")
  local logs=()
  [[ "${CODE:-1}" == 1 ]] && logs=(env TORCH_LOGS=output_code)
  "${logs[@]}" python3 "$here/hf_speed_peer.py" "${shape[@]}" "${timing[@]}" --compile \
    --trace "$traces/hf-compile-$tag.json" > "$traces/hf-compile-$tag.record.json" 2> "$traces/hf-compile-$tag.log"
  labels+=("HF compile=$traces/hf-compile-$tag.json")
  { echo; echo "## $mode, batch $batch, sequence $seq (full fine-tuning, bf16 autocast, $steps steps per trace)"; echo
    python3 - "$traces" "$tag" <<'PY'
import json, sys
d, tag = sys.argv[1], sys.argv[2]
for name in ("attune-eager", "attune-unfused", "attune-graphs", "hf", "hf-compile"):
    try:
        r = json.load(open(f"{d}/{name}-{tag}.record.json"))
    except (OSError, ValueError):
        continue
    t = r.get("step_ms") or r.get("eager", {}).get("batch_ms")
    print(f"- {name}: {t['median']:.2f} ms per {'step' if 'step_ms' in r else 'batch'} untraced (median of repeats)")
PY
    echo
    python3 "$here/kernel_breakdown.py" --steps "$steps" --json "$traces/breakdown-$tag.json" "${labels[@]}"
  } >> "$out/profile.md"
  python3 - "$out/breakdown.json" "$traces/breakdown-$tag.json" "$tag" <<'PY'
import json, sys
allp, one, tag = sys.argv[1:]
a = json.load(open(allp)); a[tag] = json.load(open(one)); json.dump(a, open(allp, "w"), indent=1)
PY
}
code() { if [[ "${CODE:-1}" == 1 ]]; then cat "$traces"/hf-compile-*.log | gzip > "$out/inductor_code.txt.gz"; fi; }
first="${shapes%% *}"
[[ -n "$first" ]] && { record train "${first%x*}" "${first#*x}"; code; }
for shape in $infer_shapes; do record infer "${shape%x*}" "${shape#*x}"; done
for shape in ${shapes#"$first"}; do record train "${shape%x*}" "${shape#*x}"; code; done
cat "$out/profile.md"
