"""Markdown table of tools/bench/peft_bench.sh results (results.jsonl): for each data set
and method, the learning rate with the best VALIDATION macro-F1 (ties: the first tried),
then its test numbers. Runs repeated with several seeds (SEEDS) are averaged per learning
rate, the rate is chosen on the mean, and test numbers show mean ± standard deviation
over the seeds. With --all, every learning rate. With --pretraining, the pretraining
comparison only: encoder from scratch or pretrained, full fine-tuning or LoRA."""
import json
import statistics
import sys

MEANED = ("accuracy", "macro_f1", "valid_macro_f1", "train_s", "examples_per_s", "step_ms", "peak_gpu_mib")


def grouped(rows):  # one row per (dataset, method, lr), in first-seen order, over its seeds
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["method"], r["lr"]), []).append(r)
    out = []
    for runs in groups.values():
        g = dict(runs[0])
        g["seeds"] = len(runs)
        for k in MEANED:
            values = [r[k] for r in runs if r.get(k) is not None]
            g[k] = statistics.mean(values) if values else None
            g[k + "_sd"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(g)
    return out


def num(r, key, digits=4):
    text = f"{r[key]:.{digits}f}"
    return text + (f" ± {r[key + '_sd']:.{digits}f}" if r.get(key + "_sd") is not None else "")


rows = grouped([json.loads(l) for l in open(sys.argv[1]) if l.strip()])
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
    print("| data set | encoder | fine-tuning | lr | seeds | test acc | test macro-F1 | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted((r for r in rows if r["method"] in variants), key=lambda r: (r["dataset"], list(variants).index(r["method"]))):
        encoder, tuning = variants[r["method"]]
        print(f"| {r['dataset']} | {encoder} | {tuning} | {r['lr']:g} | {r['seeds']} | {num(r, 'accuracy')} | "
              f"{num(r, 'macro_f1')} | {r['train_s']:.0f} |")
    sys.exit(0)
print("| data set | method | lr | seeds | test acc | test macro-F1 | trainable params | % | saved file | step ms | examples/s | peak GPU MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    size = r["saved_bytes"] / 1024
    size = f"{size / 1024:.1f} MiB" if size >= 1024 else f"{size:.0f} KiB"
    print(f"| {r['dataset']} | {r['method']} | {r['lr']:g} | {r['seeds']} | {num(r, 'accuracy')} | {num(r, 'macro_f1')} | "
          f"{r['trainable']:,} | {100 * r['trainable'] / r['total']:.2f} | {size} | {r['step_ms']:.1f} | "
          f"{r['examples_per_s']:.0f} | {r['peak_gpu_mib']:.0f} |")
