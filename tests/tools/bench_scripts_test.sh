#!/usr/bin/env bash
# The benchmark table scripts on known input: kernel_breakdown.py on a small Chrome trace
# whose sums are known, and speed_table.py on the records of a real H100 run
# (docs/profiles/2026-12-06-h100-speed.jsonl), whose ratios the docs quote.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 - "$tmp/trace.json" <<'PY'
import json, sys
k = lambda name, ts, dur: {"ph": "X", "cat": "kernel", "name": name, "ts": ts, "dur": dur}
events = [
    k("nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_bias_TNT", 0, 1000),
    k("triton_per_fused__to_copy_add_native_dropout_native_layer_norm_8", 1000, 500),
    k("void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>>", 1500, 250),
    k("void at::native::vectorized_elementwise_kernel<8, at::native::bfloat16_copy_kernel_cuda>", 1750, 250),
    k("cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16", 2000, 2000),
    {"ph": "X", "cat": "cpu_op", "name": "aten::linear", "ts": 0, "dur": 9999},  # not a kernel
]
json.dump({"traceEvents": events}, open(sys.argv[1], "w"))
PY
python3 "$root/tools/bench/kernel_breakdown.py" --steps 1 --json "$tmp/b.json" "one=$tmp/trace.json" > "$tmp/b.md"
python3 - "$tmp/b.json" <<'PY' || fail "kernel_breakdown.py categories"
import json, sys
b = json.load(open(sys.argv[1]))["one"]
cats = {row: v["ms_per_step"] for row, v in b["categories"].items()}
want = {"GEMM": 1.0, "LayerNorm": 0.5, "other elementwise": 0.25, "casts and copies": 0.25,
        "attention (flash/SDPA)": 2.0}
assert cats == want, cats
assert b["busy_ms_per_step"] == 4.0 and b["span_ms_per_step"] == 4.0 and b["kernels_per_step"] == 5, b
assert b["triton_kernels_per_step"] == {"LayerNorm": 1}, b["triton_kernels_per_step"]
PY
grep -q '| \*\*GPU busy\*\* | \*\*4.00\*\* (5) |' "$tmp/b.md" || fail "kernel_breakdown.py table: $(cat "$tmp/b.md")"
echo '{"traceEvents": []}' > "$tmp/empty.json"
if python3 "$root/tools/bench/kernel_breakdown.py" --steps 1 "x=$tmp/empty.json" 2> "$tmp/err"; then
  fail "a trace without kernels was accepted"
fi
grep -q "no GPU kernels in the trace" "$tmp/err" || fail "error for an empty trace: $(cat "$tmp/err")"
echo 'not json' > "$tmp/bad.json"
for bad in "x=$tmp/bad.json:not a JSON trace" "x=$tmp/missing.json:No such file" "$tmp/trace.json:expected LABEL=TRACE.json"; do
  if python3 "$root/tools/bench/kernel_breakdown.py" --steps 1 "${bad%%:*}" 2> "$tmp/err"; then fail "accepted ${bad%%:*}"; fi
  grep -q "${bad#*:}" "$tmp/err" || fail "error for ${bad%%:*}: $(cat "$tmp/err")"
  [[ $(wc -l < "$tmp/err") -eq 1 ]] || fail "more than one line for ${bad%%:*}: $(cat "$tmp/err")"
done
# Two steps of five kernels: counts per step that are not whole keep their fraction.
python3 "$root/tools/bench/kernel_breakdown.py" --steps 2 "two=$tmp/trace.json" > "$tmp/two.md"
grep -q '| GEMM | 0.50 (0.5) |' "$tmp/two.md" || fail "fractional kernel counts: $(cat "$tmp/two.md")"

python3 "$root/tools/bench/speed_table.py" "$root/docs/profiles/2026-12-06-h100-speed.jsonl" > "$tmp/t.md"
grep -q '| full | 128 x 128 | 562027 (1) | 541194 (1) | 395848 (1) | 531137 (1) | \*\*1.42x\*\* | \*\*1.06x\*\* |' "$tmp/t.md" ||
  fail "speed_table.py ratios at 128x128: $(cat "$tmp/t.md")"
grep -q '36.7%' "$tmp/t.md" || fail "speed_table.py MFU"
grep -q '| attune | 128 | 10290 | 2.49 / 2.64 |' "$tmp/t.md" || fail "speed_table.py inference row"
echo "bench scripts: ok"
