"""The recommendation benchmark's table: mean (± sd over seeds) of each row of
results.jsonl files (recommend_bench.sh writes them; several may be given, e.g. seeds run
in separate calls).

usage: recommend_table.py RESULTS.jsonl [MORE.jsonl ...] > results.md
"""
import json
import statistics
import sys

rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        rows.setdefault(r["row"], []).append(r)


def cell(rs, key, fmt="{:.4f}"):
    v = [r[key] for r in rs if r.get(key) is not None]
    if not v:
        return "-"
    s = fmt.format(statistics.mean(v))
    return s + (" ± " + fmt.format(statistics.stdev(v)) if len(v) > 1 else "")


first = next(iter(rows.values()))[0]
seeds = sorted({r["seed"] for rs in rows.values() for r in rs})
print(f"MovieLens ml-latest-small: {first['users']} users, {first['items']} items, {first['interactions']} interactions "
      f"(5-core); leave-one-out; device {first['device']}; seeds {seeds}\n")
print("| model | HR@10 (full) | NDCG@10 (full) | MRR (full) | HR@10 (100 sampled) | NDCG@10 (100 sampled) | train s | items/s | best step |")
print("|---|---|---|---|---|---|---|---|---|")
for name, rs in rows.items():
    print(f"| {name} | {cell(rs, 'hr@10')} | {cell(rs, 'ndcg@10')} | {cell(rs, 'mrr')} | {cell(rs, 'sampled_hr@10')} | "
          f"{cell(rs, 'sampled_ndcg@10')} | {cell(rs, 'train_seconds', '{:.0f}')} | {cell(rs, 'items_per_s', '{:.0f}')} | "
          f"{cell(rs, 'best_step', '{:.0f}')} |")
