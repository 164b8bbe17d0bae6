#!/usr/bin/env bash
# The reverse direction of tools/parity/vit_peft_check.py, run back on the CPU machine: a LoRA
# adapter that PEFT made for transformers' ViTForImageClassification loads into an attune image
# run (`attune predict --run RUN --adapter DIR`) and predicts what PEFT predicted (same labels,
# probabilities within 1e-5).
#
#   ATTUNE=build/attune tools/parity/check_vit_peft_reverse.sh OUT_DIR reverse_vit_peft.tar.gz
#
# OUT_DIR is make_vit_peft_cases.sh's: the LoRA run (OUT_DIR/vit-peft-runs/lora, whose base is the
# same transformers checkpoint) and the probe images (OUT_DIR/vit-peft/test-images).
# Prints one PASS/FAIL line; exits 1 on FAIL.
set -uo pipefail
[[ $# -eq 2 && -f "$2" ]] || { echo "usage: ATTUNE=path/to/attune $0 OUT_DIR reverse_vit_peft.tar.gz" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ATTUNE="${ATTUNE:-$root/build/attune}"
[[ -x "$ATTUNE" ]] || { echo "no attune binary at $ATTUNE (set ATTUNE)" >&2; exit 2; }
run="$1/vit-peft-runs/lora" images="$1/vit-peft/test-images"
[[ -d "$run" && -f "$images" ]] || { echo "no LoRA run or probe images under $1 (run make_vit_peft_cases.sh)" >&2; exit 2; }
tmp="$(mktemp -d /tmp/attune-vit-reverse-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
tar xzf "$2" -C "$tmp" || { echo "FAIL unpack: $2 is not a readable tarball"; exit 1; }
[[ -f "$tmp/reverse/versions.json" ]] && echo "tarball: $(tr -d '\n' <"$tmp/reverse/versions.json")"
if ! "$ATTUNE" predict --run "$run" --adapter "$tmp/reverse/peft-lora" --input "$images" >"$tmp/got.jsonl" 2>"$tmp/err"; then
  echo "FAIL attune predict with PEFT's adapter: $(head -1 "$tmp/err")"
  exit 1
fi
python3 - "$tmp/reverse/expected_predict.jsonl" "$tmp/got.jsonl" <<'PY'
import json, sys
expected = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
if len(expected) != len(got):
    print(f"FAIL PEFT-made adapter: {len(got)} predictions, expected {len(expected)}")
    sys.exit(1)
labels = sum(e["label"] != g["label"] for e, g in zip(expected, got))
diff = max(abs(p - g["probabilities"][k]) for e, g in zip(expected, got) for k, p in e["probabilities"].items())
ok = labels == 0 and diff < 1e-5
print(f"{'PASS' if ok else 'FAIL'} PEFT-made LoRA adapter in attune predict: {len(got)} images, "
      f"{labels} labels differ, max probability difference {diff:.2e}")
sys.exit(0 if ok else 1)
PY
