#!/usr/bin/env python3
"""Markdown table of vit_bench.sh or text_enhance_bench.sh results (results.jsonl): one row
per variant in first-seen order, the mean and spread over seeds of each metric.

usage: vit_table.py RESULTS_JSONL [--metrics test_accuracy,valid_accuracy,...]
"""
import argparse
import json
import statistics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--metrics", default="test_accuracy,valid_accuracy,train_images_per_second,wall_seconds")
    args = ap.parse_args()
    metrics = args.metrics.split(",")
    rows = {}
    for line in open(args.results):
        if line.strip():
            r = json.loads(line)
            rows.setdefault((r["system"], r["variant"]), []).append(r)
    print("| system | variant | seeds | parameters | " + " | ".join(metrics) + " |")
    print("|---|---|---|---|" + "---|" * len(metrics))
    for (system, variant), runs in rows.items():
        cells = []
        for m in metrics:
            values = [r[m] for r in runs if r.get(m) is not None]
            if not values:
                cells.append("")
            elif "accuracy" in m or "f1" in m:
                spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
                cells.append(f"{statistics.mean(values):.4f}{spread}")
            else:
                cells.append(f"{statistics.mean(values):.0f}")
        print(f"| {system} | {variant} | {len(runs)} | {runs[0].get('parameters', '')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
