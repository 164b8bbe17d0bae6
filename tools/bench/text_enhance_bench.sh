#!/usr/bin/env bash
# Text classification on SpamAssassin (tools/data/fetch_spam_assassin.sh) with and
# without each attention enhancement: the main job's config (tools/configs/spam_assassin.json,
# a BERT-mini trained from scratch, mean pooling) as the plain row, then class-token
# pooling, soft attention pooling, cross-layer fusion, a sliding-window mask, ALiBi, a
# learned relative position bias, and context attention on the three metadata columns.
#
#   tools/bench/text_enhance_bench.sh SPAM_DIR OUT_DIR
#
# Env: ATTUNE [build/attune], DEVICE [auto], SEEDS ["1 2 3"], PARALLEL [1], ROWS [all],
# THREADS [0 = all cores; give parallel runs a share each].
# Writes OUT_DIR/<row>-s<seed>/ (runs), OUT_DIR/results.jsonl and OUT_DIR/results.md.
set -euo pipefail
data="$1"; out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-auto}"; seeds="${SEEDS:-1 2 3}"; parallel="${PARALLEL:-1}"
threads="${THREADS:-0}"
rows="${ROWS:-plain cls-pool attention-pool fusion window alibi relative context}"
mkdir -p "$out"

run_row() {  # row seed
  local row="$1" seed="$2" run="$out/$1-s$2"
  local t0; t0=$(date +%s.%N)
  local args=(--set "data.train=$data/train.csv" --set "data.valid=$data/valid.csv" --set "data.test=$data/test.csv"
              --set "run_dir=$run" --set "seed=$seed" --set "device=$device" --set "threads=$threads")
  case "$row" in
    plain) ;;
    cls-pool) args+=(--set head.pooling=cls) ;;
    attention-pool) args+=(--set head.pooling=attention --set head.entropy_weight=0.01) ;;
    fusion) args+=(--set model.layer_fusion=true) ;;
    window) args+=(--set 'model.attention_mask={"window": 16}') ;;
    alibi) args+=(--set model.position_bias=alibi) ;;
    relative) args+=(--set model.position_bias=relative --set model.relative_max_distance=64) ;;
    context) args+=(--set 'data.context_columns=["log_bytes", "text_parts", "html"]') ;;
    *) echo "text_enhance_bench: unknown row $row" >&2; return 2 ;;
  esac
  "$attune" train --config "$here/../configs/spam_assassin.json" --overwrite "${args[@]}" > "$run.summary.json" 2> "$run.log" ||
    { echo "text_enhance_bench: $row failed; see $run.log" >&2; tail -3 "$run.log" >&2; return 1; }
  python3 - "$row" "$seed" "$run" "$t0" > "$run.json" <<'PY'
import json, sys, time
row, seed, run, t0 = sys.argv[1:5]
r = json.load(open(f"{run}/results.json"))
print(json.dumps({"system": "attune", "variant": row, "seed": int(seed),
                  "test_accuracy": r["test"]["accuracy"], "test_macro_f1": r["test"]["macro_f1"],
                  "valid_macro_f1": r["valid"]["macro_f1"], "wall_seconds": round(time.time() - float(t0), 1)}))
PY
}

source "$here/parallel_rows.sh"
run_all_rows
python3 "$here/vit_table.py" "$out/results.jsonl" --metrics test_accuracy,test_macro_f1,valid_macro_f1,wall_seconds > "$out/results.md"
cat "$out/results.md"
