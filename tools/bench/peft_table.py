"""Markdown table of tools/bench/peft_bench.sh results (results.jsonl)."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| data set | method | test acc | macro-F1 | trainable params | % | saved file | step ms | examples/s | peak GPU MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    size = r["saved_bytes"] / 1024
    size = f"{size / 1024:.1f} MiB" if size >= 1024 else f"{size:.0f} KiB"
    print(f"| {r['dataset']} | {r['method']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['trainable']:,} | "
          f"{100 * r['trainable'] / r['total']:.2f} | {size} | {r['step_ms']:.1f} | {r['examples_per_s']:.0f} | "
          f"{r['peak_gpu_mib']:.0f} |")
