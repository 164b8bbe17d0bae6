#!/usr/bin/env python3
"""The table of tools/bench/cpu_infer_bench.sh: per preset and round, batch-32 samples/s,
batch-1 latency (median ms) and the varied-length stream (ms) of attune's float32, int8
and bfloat16 modules and of ONNX Runtime's float32 and int8, with the ratios that matter:
the low precision over float32 within each system, and attune over ONNX Runtime.

usage: cpu_infer_table.py RESULTS.jsonl
"""
import json
import sys


def cells(r):
    return r["samples_per_s"], r["latency_ms"]["median"], r["stream_ms"]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    runs = {}  # (preset, round) -> system -> (fp32 cells, low-precision cells)
    for r in rows:
        key = (r["model"]["preset"], r["round"])
        if r["system"] == "attune":
            system = f'attune ({r["script_int8"].get("engine")})'
            runs.setdefault(key, {})[system] = (r["script"], r["script_int8"])
            if "script_bf16" in r:
                runs[key]["attune bf16"] = (r["script"], r["script_bf16"])
        else:
            runs.setdefault(key, {})["ort"] = (r["ort"], r["ort_int8"])
    order = sorted(runs.items(), key=lambda kv: (kv[0][0] != "mini", kv[0]))
    print("| preset | round | system | samples/s fp32 → low (B32) | latency ms fp32 → low (B1) | stream ms fp32 → low "
          "| low-precision speedup batch / latency / stream |")
    print("|---|---|---|---|---|---|---|")
    for (preset, rnd), systems in order:
        for system in sorted(systems):
            f, q = (cells(x) for x in systems[system])
            print(f"| {preset} | {rnd} | {system} | {f[0]:,.0f} → {q[0]:,.0f} | {f[1]:.2f} → {q[1]:.2f} | "
                  f"{f[2]:,.0f} → {q[2]:,.0f} | {q[0] / f[0]:.2f}× / {f[1] / q[1]:.2f}× / {f[2] / q[2]:.2f}× |")
    print()
    print("| preset | round | system | vs ORT fp32: B32 throughput / B1 latency | low precision vs ORT int8: B32 / B1 |")
    print("|---|---|---|---|---|")
    for (preset, rnd), systems in order:
        if "ort" not in systems:
            continue
        o, oi = (cells(x) for x in systems["ort"])
        for system in sorted(s for s in systems if s != "ort"):
            a, ai = (cells(x) for x in systems[system])
            print(f"| {preset} | {rnd} | {system} | {a[0] / o[0]:.2f}× / {o[1] / a[1]:.2f}× | "
                  f"{ai[0] / oi[0]:.2f}× / {oi[1] / ai[1]:.2f}× |")


if __name__ == "__main__":
    main()
