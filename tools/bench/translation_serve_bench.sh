#!/usr/bin/env bash
# Translation serving: `attune serve` with continuous batching (sentences join the running
# beam search between steps) against static batching (a batch decodes to its end before
# the next starts), on the same bundle, sentences and clients, interleaved per round.
# Every answer is checked against `attune predict --bundle` on the same sentences.
#
#   tools/bench/translation_serve_bench.sh BUNDLE SOURCES.txt OUT_DIR
#
# Env: CONCURRENCY ("1 16 64"), REQUESTS (600 a run), SECONDS_PER_RUN (40), ROUNDS (2),
# MAX_BATCH (32: sentences decoded at once, both modes), MAX_WAIT_MS (5, static),
# DEVICE (the bundle's), ATTUNE [build/attune], LOAD [build/attune_serve_load], PORT.
# Appends one JSON line a run to OUT_DIR/results.jsonl and writes OUT_DIR/results.md.
set -uo pipefail
bundle="$1"; sources="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="${ATTUNE:-$root/build/attune}"
load="${LOAD:-$root/build/attune_serve_load}"
port="${PORT:-18191}"
device=(); [[ -n "${DEVICE:-}" ]] && device=(--device "$DEVICE")
mkdir -p "$out"
"$attune" predict --bundle "$bundle" "${device[@]}" --input "$sources" --output "$out/expected.txt" || exit 1
python3 - "$out/expected.txt" "$out/expected.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as g:
    for line in f:
        g.write(json.dumps({"translation": line.rstrip("\n")}, ensure_ascii=False) + "\n")
PY
: >"$out/results.jsonl"
for round in $(seq "${ROUNDS:-2}"); do
  for mode in static continuous; do
    "$attune" serve --bundle "$bundle" "${device[@]}" --port "$port" --batching "$mode" --max-batch "${MAX_BATCH:-32}" \
      --max-wait-ms "${MAX_WAIT_MS:-5}" >"$out/serve-$mode-$round.log" 2>&1 &
    server=$!
    for _ in $(seq 300); do
      curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
      sleep 0.1
    done
    for c in ${CONCURRENCY:-1 16 64}; do
      "$load" --port "$port" --input "$sources" --expect "$out/expected.jsonl" --concurrency "$c" \
        --requests "${REQUESTS:-600}" --seconds "${SECONDS_PER_RUN:-40}" >"$out/run.json"
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(mode=sys.argv[2], round=int(sys.argv[3])); print(json.dumps(r))' \
        "$out/run.json" "$mode" "$round" | tee -a "$out/results.jsonl"
    done
    curl -s "http://127.0.0.1:$port/metrics" >"$out/metrics-$mode-$round.txt"
    kill "$server"; wait "$server" 2>/dev/null
  done
done
python3 - "$out/results.jsonl" <<'PY' | tee "$out/results.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["round"], r["mode"], r["concurrency"]): r for r in rows}
print("| round | clients | static sentences/s | continuous sentences/s | ratio | static p50 / p99 ms | continuous p50 / p99 ms | answers equal predict (static, continuous) |")
print("|---|---|---|---|---|---|---|---|")
for (rnd, mode, c), s in sorted(by.items()):
    if mode != "static" or (rnd, "continuous", c) not in by:
        continue
    k = by[(rnd, "continuous", c)]
    eq = lambda r: f'{r["requests"] - r["wrong_outputs"]}/{r["requests"]}'
    print(f'| {rnd} | {c} | {s["inputs_per_s"]:.1f} | {k["inputs_per_s"]:.1f} | {k["inputs_per_s"] / s["inputs_per_s"]:.2f}x | '
          f'{s["p50_ms"]:.0f} / {s["p99_ms"]:.0f} | {k["p50_ms"]:.0f} / {k["p99_ms"]:.0f} | {eq(s)}, {eq(k)} |')
PY
