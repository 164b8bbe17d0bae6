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


NAMES = {"attune": "attune graphs", "attune-eager": "attune eager", "hf": "HF eager", "hf-compile": "HF torch.compile"}


def system_of(r):
    if r["system"] == "attune":
        ablation = r.get("ablation", "")
        return "attune" if not ablation else "attune-eager" if ablation == "no-cuda-graphs" else "attune-ablation"
    return r["system"]


def main():
    records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    matmul = next((r for r in records if r["mode"] == "matmul"), None)
    peak = matmul["tflops"] if matmul else None
    if matmul:
        print(f"Measured {matmul['dtype']} matmul rate ({matmul['size']}^3, best repeat): {peak:.1f} TFLOP/s\n")
    train = [r for r in records if r["mode"] == "train"]

    def pick(system, method, batch, seq, ablation=""):
        """The record with the median throughput of its configuration, over ROUNDS rounds."""
        rs = sorted((r for r in train if r["method"] == method and r["seq_len"] == seq and r["batch_size"] == batch
                     and (system_of(r) == system if not ablation else
                          r["system"] == "attune" and r.get("ablation", "") == ablation)),
                    key=lambda r: r["tokens_per_s"])
        return (rs[len(rs) // 2], len(rs)) if rs else (None, 0)

    shapes = sorted({(r["method"], r["batch_size"], r["seq_len"]) for r in train},
                    key=lambda k: (k[2] * k[1], k[2], k[0] != "full"))
    systems = [s for s in NAMES if any(system_of(r) == s for r in train)]
    peers = [s for s in systems if s.startswith("hf")]

    def mfu(r):
        return f"{100 * r['tokens_per_s'] * flops_per_token(r) / (peak * 1e12):.1f}%" if peak and r else "-"

    def mem(r):
        return f"{r['peak_allocated_mib']:.0f}" if r and "peak_allocated_mib" in r else "-"

    def step(r):
        s = r["step_ms"]
        return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"

    print("Training, tokens/s (runs per cell), with attune graphs' ratio to each peer:\n")
    print("| training | batch x seq | " + " | ".join(NAMES[s] for s in systems) + " | " +
          " | ".join(f"attune / {NAMES[p]}" for p in peers) + " |")
    print("|---|---|" + "---|" * (len(systems) + len(peers)))
    for method, batch, seq in shapes:
        picked = {s: pick(s, method, batch, seq) for s in systems}
        a = picked.get("attune", (None, 0))[0]
        cells = [f"{r['tokens_per_s']:.0f} ({n})" if r else "-" for r, n in picked.values()]
        ratios = [f"**{a['tokens_per_s'] / picked[p][0]['tokens_per_s']:.2f}x**" if a and picked[p][0] else "-"
                  for p in peers]
        print(f"| {method} | {batch} x {seq} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("\nStep time ms, median (min-max over repeats); peak allocated MiB; model-FLOP utilisation:\n")
    print("| training | batch x seq | " + " | ".join(f"{NAMES[s]} step ms" for s in systems) + " | " +
          " | ".join(f"{NAMES[s]} MiB" for s in systems) + " | " + " | ".join(f"{NAMES[s]} MFU" for s in systems) + " |")
    print("|---|---|" + "---|" * (3 * len(systems)))
    for method, batch, seq in shapes:
        rs = [pick(s, method, batch, seq)[0] for s in systems]
        print(f"| {method} | {batch} x {seq} | " + " | ".join(step(r) if r else "-" for r in rs) + " | " +
              " | ".join(mem(r) for r in rs) + " | " + " | ".join(mfu(r) for r in rs) + " |")
    infer = [r for r in records if r["mode"] == "infer"]
    if infer:
        print("\n| inference | seq | samples/s at batch 32 | latency ms at batch 1 (median / p90) | peak MiB |")
        print("|---|---|---|---|---|")
        for r in sorted(infer, key=lambda r: r["seq_len"]):
            for variant in ("eager", "script"):
                if variant not in r:
                    continue
                v = r[variant]
                name = ("attune" if r["system"] == "attune" else NAMES.get(r["system"], r["system"])) + (
                    " TorchScript bundle" if variant == "script" else "")
                print(f"| {name} | {r['seq_len']} | {v['samples_per_s']:.0f} | "
                      f"{v['latency_ms']['median']:.2f} / {v['latency_ms']['p90']:.2f} | {mem(v)} |")
    what = {"no-fused-optimizer": "LibTorch's per-tensor AdamW", "sync-every-step": "loss read back every step",
            "masked": "padding mask on every batch", "unfused-qkv": "three query/key/value GEMMs",
            "fused-qkv": "one query/key/value GEMM", "fused-bf16_stream": "bf16 residual stream",
            "unfused-bf16_stream": "float32 residual stream"}
    ablations = sorted({(r["ablation"], r["method"], r["batch_size"], r["seq_len"]) for r in train
                        if r["system"] == "attune" and r.get("ablation") and r["ablation"] != "no-cuda-graphs"},
                       key=lambda k: (list(what).index(k[0]) if k[0] in what else 99, k[3], k[2], k[1] != "full"))
    if ablations:
        print("\n| attune, one change undone or added | training | batch x seq | runs | tokens/s | step ms (min-max) | peak MiB "
              "| vs. all changes |")
        print("|---|---|---|---|---|---|---|---|")
        for ablation, method, batch, seq in ablations:
            (r, n), (base, _) = pick("attune", method, batch, seq, ablation), pick("attune", method, batch, seq)
            ratio = f"{r['tokens_per_s'] / base['tokens_per_s']:.2f}x" if base else "-"
            print(f"| {what.get(ablation, ablation)} | {method} | {batch} x {seq} | {n} | {r['tokens_per_s']:.0f} "
                  f"| {step(r)} | {mem(r)} | {ratio} |")


if __name__ == "__main__":
    main()
