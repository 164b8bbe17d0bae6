"""Markdown table of tools/bench/peft_bench.sh results (results.jsonl): for each data set
and method, the learning rate with the best VALIDATION macro-F1 (ties: the first tried),
then its test numbers. With --all, every run of the sweep. With --pretraining, the
pretraining comparison only: encoder from scratch or pretrained, full fine-tuning or LoRA."""
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
if "--pretraining" in sys.argv:
    variants = {"scratch": ("from scratch", "full"), "scratch_lora": ("from scratch", "LoRA r=8"),
                "full": ("pretrained (MLM)", "full"), "lora": ("pretrained (MLM)", "LoRA r=8")}
    print("| data set | encoder | fine-tuning | lr | test acc | test macro-F1 | train s |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted((r for r in rows if r["method"] in variants), key=lambda r: (r["dataset"], list(variants).index(r["method"]))):
        encoder, tuning = variants[r["method"]]
        print(f"| {r['dataset']} | {encoder} | {tuning} | {r['lr']:g} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
              f"{r['train_s']:.0f} |")
    sys.exit(0)
print("| data set | method | lr | test acc | test macro-F1 | trainable params | % | saved file | step ms | examples/s | peak GPU MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    size = r["saved_bytes"] / 1024
    size = f"{size / 1024:.1f} MiB" if size >= 1024 else f"{size:.0f} KiB"
    print(f"| {r['dataset']} | {r['method']} | {r['lr']:g} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['trainable']:,} | "
          f"{100 * r['trainable'] / r['total']:.2f} | {size} | {r['step_ms']:.1f} | {r['examples_per_s']:.0f} | "
          f"{r['peak_gpu_mib']:.0f} |")
