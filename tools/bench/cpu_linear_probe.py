#!/usr/bin/env python3
"""One BERT Linear at batch 1 (128 rows) on the CPU: float32 against bfloat16 written as the
exported bundles write it (matmul with the weight's transpose, then the bias), as
torch.linear, with the weight stored transposed, and with oneDNN's prepacked weight
(torch.ops.mkldnn._reorder_linear_weight + _linear_pointwise, PyTorch 2's CPU freezing path).
Shows whether bfloat16's batch-1 loss is the per-call weight reorder.

usage: cpu_linear_probe.py [--rows 128] [--threads 16] [--runs 300]
"""
import argparse
import json
import time

import torch


def timed(fn, runs):
    for _ in range(20):
        fn()
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - t0) / runs * 1e6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=128)
    p.add_argument("--threads", default="16,4")
    p.add_argument("--runs", type=int, default=300)
    a = p.parse_args()
    with torch.no_grad():
        for threads in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(threads)
            for n_in, n_out in ((256, 256), (256, 1024), (768, 768), (768, 3072)):
                x32 = torch.randn(1, a.rows, n_in)
                w32 = torch.randn(n_out, n_in) * 0.05
                b32 = torch.randn(n_out)
                r = {"threads": threads, "rows": a.rows, "in": n_in, "out": n_out}
                r["fp32_matmul_us"] = timed(lambda: torch.matmul(x32, w32.t()) + b32, a.runs)
                r["fp32_linear_us"] = timed(lambda: torch.nn.functional.linear(x32, w32, b32), a.runs)
                x, w, b = x32.bfloat16(), w32.bfloat16(), b32.bfloat16()
                wt = w.t().contiguous()
                r["bf16_matmul_us"] = timed(lambda: torch.matmul(x, w.t()) + b, a.runs)
                r["bf16_linear_us"] = timed(lambda: torch.nn.functional.linear(x, w, b), a.runs)
                r["bf16_matmul_wt_us"] = timed(lambda: torch.matmul(x, wt) + b, a.runs)
                try:
                    packed = torch.ops.mkldnn._reorder_linear_weight(w, a.rows)
                    r["bf16_prepacked_us"] = timed(
                        lambda: torch.ops.mkldnn._linear_pointwise(x, packed, b, "none", [], ""), a.runs)
                    got = torch.ops.mkldnn._linear_pointwise(x, packed, b, "none", [], "")
                    r["prepacked_max_diff"] = float((got.float() - torch.nn.functional.linear(x, w, b).float()).abs().max())
                except Exception as e:  # noqa: BLE001 (report and go on)
                    r["bf16_prepacked_error"] = str(e).splitlines()[0][:200]
                print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
            # Attention's batched matmuls at batch 1 (4 and 12 heads).
            for heads, d in ((4, 64), (12, 64)):
                q32 = torch.randn(1, heads, a.rows, d)
                k32 = torch.randn(1, heads, a.rows, d)
                q, k = q32.bfloat16(), k32.bfloat16()
                r = {"threads": threads, "bmm_heads": heads, "d": d,
                     "fp32_us": timed(lambda: torch.matmul(q32, k32.transpose(-2, -1)), a.runs),
                     "bf16_us": timed(lambda: torch.matmul(q, k.transpose(-2, -1)), a.runs),
                     "bf16_sdpa_us": timed(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, k), a.runs),
                     "fp32_sdpa_us": timed(lambda: torch.nn.functional.scaled_dot_product_attention(q32, k32, k32), a.runs)}
                print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}), flush=True)


if __name__ == "__main__":
    main()
