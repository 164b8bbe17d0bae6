#!/usr/bin/env python3
"""Where batch-1 CPU latency goes for a text-classification bundle: its model.pt in float32
and in bfloat16, as saved and after torch.jit.freeze (+ optimize_for_inference), at several
intra-op thread counts, and a profile of the slowest bfloat16 case's operators.

usage: cpu_bf16_probe.py BUNDLE_DIR [--seq-len 128] [--threads 16,8,4,2] [--runs 50]
Prints one JSON line per case and the profile table.
"""
import argparse
import json
import time

import torch


def timed(fn, runs):
    for _ in range(5):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bundle")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--threads", default="16,8,4,2")
    p.add_argument("--runs", type=int, default=50)
    a = p.parse_args()
    ids = torch.randint(1, 1000, (1, a.seq_len))
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    big = (torch.randint(1, 1000, (32, a.seq_len)), torch.ones(32, a.seq_len, dtype=torch.long),
           torch.zeros(32, a.seq_len, dtype=torch.long))
    variants = {}
    for dtype in ("float32", "bfloat16"):
        m = torch.jit.load(f"{a.bundle}/model.pt").eval()
        if dtype == "bfloat16":
            m = m.to(torch.bfloat16)
        variants[dtype] = m
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.load(f"{a.bundle}/model.pt").eval().to(getattr(torch, dtype)))
            variants[dtype + "+freeze"] = frozen
            try:
                variants[dtype + "+optimize"] = torch.jit.optimize_for_inference(
                    torch.jit.freeze(torch.jit.load(f"{a.bundle}/model.pt").eval().to(getattr(torch, dtype))))
            except Exception as e:  # noqa: BLE001 (report and go on)
                print(json.dumps({"variant": dtype + "+optimize", "error": str(e).splitlines()[0]}))
    reference = None
    with torch.no_grad():
        for threads in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(threads)
            for name, m in variants.items():
                out = m(ids, mask, types).float()
                if reference is None:
                    reference = out
                b1 = timed(lambda: m(ids, mask, types), a.runs)
                b32 = timed(lambda: m(*big), max(3, a.runs // 10))
                print(json.dumps({"variant": name, "threads": threads, "b1_ms": round(b1, 3),
                                  "b32_samples_per_s": round(32e3 / b32, 1),
                                  "max_diff_vs_fp32": float((out - reference).abs().max())}), flush=True)
        torch.set_num_threads(int(a.threads.split(",")[0]))
        for name in ("float32", "bfloat16"):
            m = variants[name]
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                for _ in range(20):
                    m(ids, mask, types)
            print(f"## {name}, batch 1, {a.threads.split(',')[0]} threads, 20 calls")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()
