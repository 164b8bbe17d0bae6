#!/usr/bin/env python3
"""Tables of tools/bench/speed_bench.sh's records: attune against its peer per
configuration (throughput ratio, step time median and range, peak memory, model-FLOP
utilisation against the card's measured bf16 matmul rate), inference, and ablations.
With several rounds (speed_bench.sh ROUNDS), each cell is the run of median throughput.

Model FLOPs per token of a BERT encoder with L layers, hidden H, feed-forward I at
sequence length T: forward 2*L*(4*H*H + 2*H*I) for the matrices plus 4*L*T*H for the
attention scores and their weighted sum. Full fine-tuning counts 3x forward (backward
computes input and weight gradients); LoRA counts 2x forward, since frozen matrices
get no weight gradients (the adapters' own FLOPs are under 1%). Embeddings, pooler and
classifier are left out, as is usual for MFU.

usage: speed_table.py RESULTS.jsonl
"""
import json
import sys


def flops_per_token(r):
    m = r["model"]
    layers, h, i, t = m["num_layers"], m["hidden_size"], m["intermediate_size"], r["seq_len"]
    forward = 2 * layers * (4 * h * h + 2 * h * i) + 4 * layers * t * h
    return forward * (3 if r["method"] == "full" else 2)


def main():
    records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    matmul = next((r for r in records if r["mode"] == "matmul"), None)
    peak = matmul["tflops"] if matmul else None
    if matmul:
        print(f"Measured {matmul['dtype']} matmul rate ({matmul['size']}^3, best repeat): {peak:.1f} TFLOP/s\n")
    plain = lambda r: not r.get("ablation")
    train = [r for r in records if r["mode"] == "train"]

    def pick(system, method, seq, ablation=""):
        """The record with the median throughput of its configuration, over ROUNDS rounds."""
        rs = sorted((r for r in train if (r["system"] == "attune") == (system == "attune") and r["method"] == method
                     and r["seq_len"] == seq and r.get("ablation", "") == ablation), key=lambda r: r["tokens_per_s"])
        return (rs[len(rs) // 2], len(rs)) if rs else (None, 0)

    keys = sorted({(r["method"], r["seq_len"]) for r in train if plain(r)}, key=lambda k: (k[1], k[0] != "full"))

    def mfu(r):
        return f"{100 * r['tokens_per_s'] * flops_per_token(r) / (peak * 1e12):.1f}%" if peak else "-"

    def mem(r):
        return f"{r['peak_allocated_mib']:.0f}" if "peak_allocated_mib" in r else "-"

    def step(r):
        s = r["step_ms"]
        return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"

    print("| training | seq | runs | attune tokens/s | peer tokens/s | attune / peer | attune step ms (min-max) "
          "| peer step ms (min-max) | attune peak MiB | peer peak MiB | attune MFU | peer MFU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for method, seq in keys:
        (a, n), (p, _) = pick("attune", method, seq), pick("peer", method, seq)
        if a is None or p is None:
            continue
        print(f"| {method} | {seq} | {n} | {a['tokens_per_s']:.0f} | {p['tokens_per_s']:.0f} | "
              f"{a['tokens_per_s'] / p['tokens_per_s']:.2f}x | {step(a)} | {step(p)} | {mem(a)} | {mem(p)} | "
              f"{mfu(a)} | {mfu(p)} |")
    infer = [r for r in records if r["mode"] == "infer"]
    if infer:
        print("\n| inference | seq | samples/s at batch 32 | latency ms at batch 1 (median / p90) | peak MiB |")
        print("|---|---|---|---|---|")
        for r in infer:
            for variant in ("eager", "script"):
                if variant not in r:
                    continue
                v = r[variant]
                name = ("attune" if r["system"] == "attune" else "transformers") + (
                    " TorchScript bundle" if variant == "script" else "")
                print(f"| {name} | {r['seq_len']} | {v['samples_per_s']:.0f} | "
                      f"{v['latency_ms']['median']:.2f} / {v['latency_ms']['p90']:.2f} | {mem(v)} |")
    what = {"no-fused-optimizer": "LibTorch's per-tensor AdamW", "sync-every-step": "loss read back every step",
            "masked": "padding mask on every batch", "no-cuda-graphs": "eager steps, no CUDA graphs"}
    ablations = sorted({(r["ablation"], r["method"], r["seq_len"]) for r in train if r["system"] == "attune" and not plain(r)},
                       key=lambda k: (list(what).index(k[0]) if k[0] in what else 99, k[2], k[1] != "full"))
    if ablations:
        print("\n| attune, change undone | training | seq | runs | tokens/s | step ms (min-max) | peak MiB "
              "| vs. all changes | vs. peer |")
        print("|---|---|---|---|---|---|---|---|---|")
        for ablation, method, seq in ablations:
            (r, n), (base, _), (p, _) = pick("attune", method, seq, ablation), pick("attune", method, seq), pick("peer", method, seq)
            ratio = f"{r['tokens_per_s'] / base['tokens_per_s']:.2f}x" if base else "-"
            peer = f"{r['tokens_per_s'] / p['tokens_per_s']:.2f}x" if p else "-"
            print(f"| {what.get(ablation, ablation)} | {method} | {seq} | {n} | {r['tokens_per_s']:.0f} | {step(r)} "
                  f"| {mem(r)} | {ratio} | {peer} |")

if __name__ == "__main__":
    main()
