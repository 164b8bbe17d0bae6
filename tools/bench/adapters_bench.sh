#!/usr/bin/env bash
# Many adapters on one base (`attune serve --adapter`) against the alternatives, on
# loopback: requests/s and p50/p99 at several client counts for
#   one    one server, one LoRA adapter, every request names it
#   mixed  one server, 8 LoRA adapters, request r names adapter r % 8 (batches mix them)
#   procs  8 servers, one per adapter merged into its own bundle; client c talks to server c % 8
# The models are small (model.preset, default tiny; 10 training steps each: only their
# shape matters here), the texts synthetic, 64 tokens at most.
#
#   tools/bench/adapters_bench.sh OUT_DIR
#
# PRESET (tiny), CONCURRENCY ("1 16 64"), SECONDS_PER_RUN (5), MAX_BATCH (32), MAX_WAIT_MS (2).
set -euo pipefail
out="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
attune="${ATTUNE:-$root/build/attune}"
load="${LOAD:-$root/build/attune_serve_load}"
preset="${PRESET:-tiny}"
port0="${PORT:-18300}"
mkdir -p "$out"
python3 - "$out/train.csv" "$out/texts.txt" <<'PY'
import random, sys
random.seed(1)
words = {"sport": "match goal team score league coach player win".split(),
         "politics": "election vote party minister law senate debate".split(),
         "market": "stock price shares trade bank profit market".split()}
common = "the a of in on and today new report says".split()
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as t:
    f.write("text,label\n")
    for i in range(600):
        label = random.choice(sorted(words))
        text = " ".join(random.choice(words[label] + common) for _ in range(random.randint(8, 40)))
        f.write(f"{text},{label}\n")
        if i < 200: t.write(text + "\n")
PY
train() {  # run_dir, extra --set pairs...
  local dir="$1"; shift
  [ -f "$dir/config.json" ] && [ -f "$dir/labels.json" ] && return 0
  "$attune" train --overwrite --set run_dir="$dir" --set device=cpu --set data.train="$out/train.csv" \
    --set model.preset="$preset" --set data.max_length=64 --set tokenizer.vocab_size=400 \
    --set train.max_steps=10 --set train.eval_every=10 --set train.batch_size=16 "$@" >"$dir.log" 2>&1
}
train "$out/base"
"$attune" export --run "$out/base" --out "$out/base-bundle" --adapter-base --overwrite >/dev/null
adapters=()
for i in 0 1 2 3 4 5 6 7; do
  train "$out/lora$i" --set init="$out/base" --set peft.method=lora --set peft.r=8 --set peft.lora_alpha=16 \
    --set 'peft.target_modules=["query","key","value","dense"]' --set seed=$((i + 1))
  adapters+=(--adapter "a$i=$out/lora$i")
  if [ ! -f "$out/merged$i-bundle/manifest.json" ]; then
    rm -rf "$out/merged$i"
    "$attune" merge --run "$out/lora$i" --out "$out/merged$i" >/dev/null
    "$attune" export --run "$out/merged$i" --out "$out/merged$i-bundle" --overwrite >/dev/null
  fi
done

servers=()
stop_all() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; servers=(); }
trap stop_all EXIT
serve() {  # port, args...
  local port="$1"; shift
  "$attune" serve --port "$port" --max-batch "${MAX_BATCH:-32}" --max-wait-ms "${MAX_WAIT_MS:-2}" "$@" \
    >"$out/serve-$port.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server on $port did not start: $(cat "$out/serve-$port.log")" >&2; exit 1
}
: >"$out/results.jsonl"
run() {  # case, load args...
  local name="$1"; shift
  for c in ${CONCURRENCY:-1 16 64}; do
    "$load" --input "$out/texts.txt" --concurrency "$c" --requests 1000000 --seconds "${SECONDS_PER_RUN:-5}" "$@" |
      python3 -c "import json,sys; r=json.load(sys.stdin); r['case']='$name'; print(json.dumps(r))" >>"$out/results.jsonl"
  done
}
serve "$port0" --bundle "$out/base-bundle" --adapter "a0=$out/lora0"
run one --port "$port0" --adapters a0
stop_all
serve "$port0" --bundle "$out/base-bundle" "${adapters[@]}"
run mixed --port "$port0" --adapters a0,a1,a2,a3,a4,a5,a6,a7
curl -s "http://127.0.0.1:$port0/metrics" >"$out/metrics-mixed.txt"
echo "mixed server (8 adapters): RSS $(ps -o rss= -p "${servers[0]}") kB" | tee "$out/rss-mixed.txt"
stop_all
ports=""
for i in 0 1 2 3 4 5 6 7; do
  serve $((port0 + 1 + i)) --bundle "$out/merged$i-bundle"
  ports="$ports${ports:+,}$((port0 + 1 + i))"
done
run procs --ports "$ports"
ps -o rss= -p "$(IFS=,; echo "${servers[*]}")" | awk '{s += $1} END {print "8 merged servers: RSS " s " kB"}' | tee "$out/rss-procs.txt"
stop_all
python3 - "$out/results.jsonl" <<'PY'
import json, sys
names = {"one": "1 adapter", "mixed": "8 adapters, mixed batches", "procs": "8 processes, merged"}
print("| case | clients | requests | non-200 | requests/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    bad = r["requests"] - r["statuses"].get("200", 0)
    print(f'| {names[r["case"]]} | {r["concurrency"]} | {r["requests"]:,} | {bad} | {r["requests_per_s"]:.1f} | '
          f'{r["p50_ms"]:.1f} | {r["p99_ms"]:.1f} |')
PY
