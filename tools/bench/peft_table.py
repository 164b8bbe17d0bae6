"""Markdown table of tools/bench/peft_bench.sh results (results.jsonl): for each data set
and method, the learning rate with the best VALIDATION macro-F1 (ties: the first tried),
then its test numbers. With --all, every run of the sweep."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if "--all" not in sys.argv:
    best = {}
    for r in rows:
        key = (r["dataset"], r["method"])
        if key not in best or r["valid_macro_f1"] > best[key]["valid_macro_f1"]:
            best[key] = r
    rows = list(best.values())
print("| data set | method | lr | test acc | test macro-F1 | trainable params | % | saved file | step ms | examples/s | peak GPU MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    size = r["saved_bytes"] / 1024
    size = f"{size / 1024:.1f} MiB" if size >= 1024 else f"{size:.0f} KiB"
    print(f"| {r['dataset']} | {r['method']} | {r['lr']:g} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['trainable']:,} | "
          f"{100 * r['trainable'] / r['total']:.2f} | {size} | {r['step_ms']:.1f} | {r['examples_per_s']:.0f} | "
          f"{r['peak_gpu_mib']:.0f} |")
