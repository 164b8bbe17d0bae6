#!/usr/bin/env python3
"""The table of tools/bench/ddp_bench.sh: training tokens/s per GPU of attune and of the
peer (PyTorch DDP + transformers) at each point (batch per GPU, method, launch), the
median over rounds, with the cost of the process group at world size 1 (group / alone)
and attune's ratio to the peer. A "+graphs" launch (attune with CUDA graphs; "+graphs-outside":
the gradient sums after each replay instead of in the graph) is set against the peer's
launch of the same name without it, and against attune's "alone+graphs".

usage: ddp_table.py results.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict


def main():
    runs = defaultdict(list)
    for line in open(sys.argv[1]):
        r = json.loads(line)
        key = (r["batch_size"], r.get("seq_len"), r["method"], r["launch"], r["system"])
        runs[key].append(r["tokens_per_s"])
    med = {k: statistics.median(v) for k, v in runs.items()}
    points = sorted({k[:4] for k in med}, key=lambda k: (k[0], k[2], k[3] != "alone", k[3]))
    print("| batch/GPU | seq | method | launch | attune tok/s/GPU | peer tok/s/GPU | attune / peer "
          "| attune vs alone | peer vs alone | runs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for b, s, m, launch in points:
        peer_launch = launch.split("+")[0]
        a = med.get((b, s, m, launch, "attune"))
        p = med.get((b, s, m, peer_launch, "hf"))
        a0 = med.get((b, s, m, "alone+graphs" if "+graphs" in launch else "alone", "attune"))
        p0 = med.get((b, s, m, "alone", "hf"))
        n = len(runs.get((b, s, m, launch, "attune"), []))

        def fmt(x, spec="{:,.0f}"):
            return "-" if x is None else spec.format(x)

        ratio = a / p if a and p else None
        a_rel = a / a0 if a and a0 and not launch.startswith("alone") else None
        p_rel = p / p0 if p and p0 and not launch.startswith("alone") else None
        print(f"| {b} | {s} | {m} | {launch} | {fmt(a)} | {fmt(p)} | {fmt(ratio, '{:.3f}')} "
              f"| {fmt(a_rel, '{:.3f}')} | {fmt(p_rel, '{:.3f}')} | {n} |")


if __name__ == "__main__":
    main()
