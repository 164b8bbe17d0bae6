#!/usr/bin/env bash
# Load test of `attune serve` on loopback: a classification bundle, the test split's
# texts, bounded client runs at several concurrencies; every answer is checked against
# `attune predict --bundle` on the same texts. Prints one JSON line a run and a table.
#
#   tools/bench/serve_bench.sh BUNDLE TEXTS.csv OUT_DIR
#
# REQUESTS (default 2000) and SECONDS (60) bound each run; CONCURRENCY ("1 8 32") and
# PER_REQUEST ("1") choose the runs; MAX_BATCH (32), MAX_WAIT_MS (2) and MAX_QUEUE (4096)
# configure the server. With ACCEPT_503=1 a 503 with Retry-After (an overfilled queue)
# counts as a proper answer; the table shows 200s, 503s and transport errors apart.
set -euo pipefail
bundle="$1"; csv="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="${ATTUNE:-$root/build/attune}"
load="${LOAD:-$root/build/attune_serve_load}"
port="${PORT:-18181}"
mkdir -p "$out"
python3 "$root/tools/bench/csv_texts.py" "$csv" "$out/texts.txt" \
  "$(node -p "require(require('path').resolve('$bundle/manifest.json')).text.text_column")"
"$attune" predict --bundle "$bundle" --input "$out/texts.txt" --output "$out/expected.jsonl"
"$attune" serve --bundle "$bundle" --port "$port" --max-batch "${MAX_BATCH:-32}" --max-wait-ms "${MAX_WAIT_MS:-2}" \
  --max-queue "${MAX_QUEUE:-4096}" >"$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
: >"$out/results.jsonl"
status=0
for c in ${CONCURRENCY:-1 8 32}; do
  for k in ${PER_REQUEST:-1}; do
    "$load" --port "$port" --input "$out/texts.txt" --expect "$out/expected.jsonl" --concurrency "$c" \
      --per-request "$k" --accept-503 "${ACCEPT_503:-0}" --requests "${REQUESTS:-2000}" --seconds "${SECONDS_PER_RUN:-60}" | tee -a "$out/results.jsonl" || status=1
  done
done
curl -s "http://127.0.0.1:$port/metrics" >"$out/metrics.txt"
python3 - "$out/results.jsonl" <<'PY'
import json, sys
print("| clients | inputs/request | requests | 200 | 503 (with Retry-After) | transport errors | 200s equal predict | requests/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    s = r["statuses"]
    n503 = s.get("503", 0)
    print(f'| {r["concurrency"]} | {r["per_request"]} | {r["requests"]:,} | {s.get("200", 0):,} | '
          f'{n503:,} ({n503 - r["503_without_retry_after"]:,}) | {r["transport_errors"]} | '
          f'{"yes" if r["wrong_outputs"] == 0 else "NO"} | {r["requests_per_s"]:.1f} | {r["p50_ms"]:.1f} | {r["p99_ms"]:.1f} |')
PY
exit $status
