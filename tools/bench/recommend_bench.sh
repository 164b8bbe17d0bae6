#!/usr/bin/env bash
# Recommendation benchmark on MovieLens (tools/data/fetch_movielens.sh): the two baselines
# (most-popular, item-kNN) and the attention models (sasrec with sampled-negative BCE and
# with full softmax, bert4rec, context = sasrec plus target attention, trained with a
# softmax over the target and 100 sampled negatives), each trained by
# `attune train` from tools/configs/movielens.json, selected on validation NDCG@10 and
# scored on the leave-one-out test cases by full ranking (and, labelled, by the
# 100-sampled-negatives protocol).
#
#   tools/bench/recommend_bench.sh RATINGS_CSV OUT_DIR
#
# Env: ATTUNE [build/attune], DEVICE [auto], SEEDS ["1"], EPOCHS [200; fewer to time a
# device], MODELS [all rows below]. Writes OUT_DIR/<row>-s<seed>/ (runs),
# OUT_DIR/results.jsonl (one line per run) and OUT_DIR/results.md (mean over seeds).
set -euo pipefail
ratings="$1"; out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-auto}"; seeds="${SEEDS:-1}"; epochs="${EPOCHS:-200}"
models="${MODELS:-popular item-knn sasrec sasrec-softmax bert4rec context}"
mkdir -p "$out"
config="$here/../configs/movielens.json"
for seed in $seeds; do
  for row in $models; do
    run="$out/$row-s$seed"
    args=(--set "data.interactions=$ratings" --set "run_dir=$run" --set "seed=$seed" --set "device=$device"
          --set "train.epochs=$epochs" --set eval.protocol=sampled100)
    case "$row" in
      popular|item-knn|sasrec|bert4rec) args+=(--set "model.name=$row") ;;
      context) args+=(--set model.name=context --set objective.loss=sampled-softmax --set objective.negatives=100) ;;
      sasrec-softmax) args+=(--set model.name=sasrec --set objective.loss=softmax) ;;
      *) echo "recommend_bench: unknown row $row" >&2; exit 2 ;;
    esac
    # bert4rec learns from masked items only, so softmax over every item (as in its paper).
    [[ "$row" == bert4rec ]] && args+=(--set objective.loss=softmax)
    echo "== $row seed $seed" >&2
    "$attune" train --config "$config" --overwrite "${args[@]}" > "$run.summary.json" 2> "$run.log" ||
      { echo "recommend_bench: $row failed; see $run.log" >&2; tail -3 "$run.log" >&2; exit 1; }
    python3 - "$row" "$seed" "$run" "$device" >> "$out/results.jsonl" <<'PY'
import json, sys
row, seed, run, device = sys.argv[1:5]
r = json.load(open(f"{run}/results.json"))
rates = []
try:
    for line in open(f"{run}/metrics.jsonl"):
        m = json.loads(line)
        if m.get("split") == "train" and "items_per_s" in m:
            rates.append(m["items_per_s"])
except FileNotFoundError:
    pass
t = r["test"]
print(json.dumps({"row": row, "seed": int(seed), "device": device, "hr@10": t["hr@10"], "ndcg@10": t["ndcg@10"],
                  "mrr": t["mrr"], "sampled_hr@10": t["sampled100"]["hr@10"], "sampled_ndcg@10": t["sampled100"]["ndcg@10"],
                  "valid_ndcg@10": r["valid"]["ndcg@10"], "train_seconds": r.get("train_seconds"),
                  "steps": r.get("steps"), "best_step": r.get("best_step"), "parameters": r.get("parameters"),
                  "items_per_s": sorted(rates)[len(rates) // 2] if rates else None,
                  "users": r["users"], "items": r["items"], "interactions": r["interactions"]}))
PY
    tail -1 "$out/results.jsonl" >&2
  done
done
python3 "$here/recommend_table.py" "$out/results.jsonl" > "$out/results.md"
cat "$out/results.md"
