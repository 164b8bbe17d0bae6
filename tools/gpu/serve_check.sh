#!/usr/bin/env bash
# On the GPU machine: attune serve in the CUDA build. Fine-tunes the main job's model on
# SpamAssassin on CUDA (a short run), exports a bundle, serves it on the GPU, and checks
# that /predict gives, input by input, the labels and probabilities `attune predict
# --bundle` gives on the same device; then a short load run (attune_serve_load).
# Usage: tools/gpu/serve_check.sh BUILD DATA_DIR(with train/valid/test.csv) WORK_DIR
set -euo pipefail
build="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
"$build/attune" train --config tools/configs/spam_assassin.json --set run_dir="$work/run" --set device=cuda \
  --set data.train="$data/train.csv" --set data.valid="$data/valid.csv" --set data.test="$data/test.csv" \
  --set train.max_steps="${STEPS:-300}" 2>&1 | tail -n 4
"$build/attune" export --run "$work/run" --out "$work/bundle" >/dev/null
python3 - "$data/test.csv" "$work" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))[:256]
with open(f"{sys.argv[2]}/texts.txt", "w") as f:
    for r in rows:
        f.write(r["text"].replace("\n", " ").replace("\r", " ") + "\n")
PY
"$build/attune" predict --bundle "$work/bundle" --device cuda --input "$work/texts.txt" >"$work/predict.jsonl"
port=18931
"$build/attune" serve --bundle "$work/bundle" --device cuda --port $port >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; }
for _ in $(seq 1 100); do get "http://localhost:$port/health" >/dev/null 2>&1 && break; sleep 0.2; done
get "http://localhost:$port/health"
python3 - "$work" $port <<'PY'
import json, sys, urllib.request
work, port = sys.argv[1], sys.argv[2]
texts = [l.rstrip("\n") for l in open(f"{work}/texts.txt")]
expected = [json.loads(l) for l in open(f"{work}/predict.jsonl")]
got = []
for i in range(0, len(texts), 16):  # several requests, so the server batches them its own way
    body = json.dumps({"inputs": texts[i:i + 16]}).encode()
    req = urllib.request.Request(f"http://localhost:{port}/predict", body, {"Content-Type": "application/json"})
    got += json.loads(urllib.request.urlopen(req).read())["outputs"]
assert len(got) == len(expected), (len(got), len(expected))
worst = max(abs(g["probabilities"][k] - e["probabilities"][k]) for g, e in zip(got, expected) for k in e["probabilities"])
# Batches of other sizes run other GPU kernels: a label may differ only where the two
# top probabilities are within that difference of each other.
flips = [i for i, (g, e) in enumerate(zip(got, expected)) if g["label"] != e["label"]]
close = [i for i in flips if abs(max(expected[i]["probabilities"].values()) - sorted(expected[i]["probabilities"].values())[-2]) <= 2 * worst]
print(f"serve on cuda: {len(got)} inputs, labels equal to predict --bundle: {len(got) - len(flips)}/{len(got)} "
      f"({len(close)} of the others within rounding), max |probability difference| {worst:.2e}")
assert worst < 5e-3 and len(close) == len(flips)
PY
for clients in 1 16 64; do  # one text a request, answers checked against predict --bundle
  "$build/attune_serve_load" --port $port --input "$work/texts.txt" --expect "$work/predict.jsonl" --tolerance 5e-3 \
    --concurrency $clients --requests 1000000 --seconds 5 || echo "load run at $clients clients failed"
done
get "http://localhost:$port/metrics" | grep -E '^attune_(requests|inputs|batches)' || true
