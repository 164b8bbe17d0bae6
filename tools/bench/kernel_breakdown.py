#!/usr/bin/env python3
"""GPU kernel time per training step (or inference batch), by kind of work, side by side
for several Chrome traces: `attune bench --trace FILE` and `hf_speed_peer.py --trace FILE`
(each records --steps steps after its timing). Kernels are put in categories by their
names, first match wins, so that hand-written, cuBLAS and Inductor (Triton) kernels of the
same work land in the same row; an Inductor kernel that fuses several ops is counted in
the row of the first category its name mentions (see CATEGORIES), and its fused op names
are listed under the table.

usage: kernel_breakdown.py --steps N [--json OUT.json] [--top K] LABEL=TRACE.json [LABEL=TRACE.json ...]
Prints markdown: per category ms per step and kernels per step for each trace, then
GPU-busy and span per step, then each trace's top kernels.
"""
import argparse
import collections
import json
import re

# (row, pattern on the lower-cased kernel name); the order decides ties.
CATEGORIES = [
    ("attention (flash/SDPA)", r"flash|fmha|sdpa|attention|_attn"),
    ("GEMM", r"gemm|nvjet|xmma|cutlass|cublas|gemv|splitk"),
    ("optimizer (AdamW)", r"adam"),
    ("LayerNorm", r"layer_norm|layernorm|gammabeta"),
    ("gradient norm + clip", r"foreach|multi_tensor|lpnorm"),
    ("GELU", r"gelu"),
    ("dropout", r"dropout|philox|bernoulli|masked_scale"),
    ("softmax / cross-entropy", r"softmax|nll|cross_entropy|log_softmax"),
    ("embedding", r"embedding|index_select|indexselect|index_put|indexing_backward|gather|scatter"),
    ("casts and copies", r"copy|_to_copy|cast|convert|transpose|cat_"),
    ("reductions (bias grads, sums)", r"reduce|sum"),
    ("other elementwise", r"elementwise|vectorized|triton_poi|triton_per|triton_red|fill|add|mul"),
]


def count(n):
    """Kernels per step: whole when the trace's kernels divide evenly by its steps."""
    return f"{n:.0f}" if abs(n - round(n)) < 1e-9 else f"{n:.1f}"


def category(name):
    lower = name.lower()
    for row, pattern in CATEGORIES:
        if re.search(pattern, lower):
            return row
    return "other"


def kernels(path):
    try:
        with open(path) as f:
            trace = json.load(f)
    except OSError as e:
        raise SystemExit(f"{path}: {e.strerror}")
    except ValueError as e:
        raise SystemExit(f"{path}: not a JSON trace ({e})")
    events = trace.get("traceEvents") if isinstance(trace, dict) else trace
    if not isinstance(events, list):
        raise SystemExit(f"{path}: not a Chrome trace (no traceEvents list)")
    return [e for e in events if e.get("ph") == "X" and e.get("cat") in ("kernel", "Kernel") and "dur" in e]


def summarise(path, steps):
    ks = kernels(path)
    if not ks:
        raise SystemExit(f"{path}: no GPU kernels in the trace (was it recorded on CUDA?)")
    by_cat = collections.defaultdict(lambda: [0.0, 0])
    by_name = collections.defaultdict(lambda: [0.0, 0])
    fused = collections.Counter()
    for e in ks:
        row = category(e["name"])
        by_cat[row][0] += e["dur"]
        by_cat[row][1] += 1
        short = e["name"][:110]
        by_name[short][0] += e["dur"]
        by_name[short][1] += 1
        if e["name"].startswith("triton_"):
            fused[row] += 1
    start = min(e["ts"] for e in ks)
    end = max(e["ts"] + e["dur"] for e in ks)
    busy = sum(e["dur"] for e in ks)
    return {
        "trace": path,
        "steps": steps,
        "busy_ms_per_step": busy / 1000 / steps,
        "span_ms_per_step": (end - start) / 1000 / steps,
        "kernels_per_step": len(ks) / steps,
        "categories": {row: {"ms_per_step": d / 1000 / steps, "kernels_per_step": n / steps}
                       for row, (d, n) in by_cat.items()},
        "top": sorted(({"name": k, "ms_per_step": d / 1000 / steps, "calls_per_step": n / steps}
                       for k, (d, n) in by_name.items()), key=lambda r: -r["ms_per_step"]),
        "triton_kernels_per_step": {row: n / steps for row, n in fused.items()},
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, required=True, help="steps (or batches) each trace recorded")
    p.add_argument("--json", default="")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("traces", nargs="+", help="LABEL=TRACE.json")
    args = p.parse_args()
    if args.steps < 1:
        raise SystemExit(f"--steps: must be at least 1, got {args.steps}")
    labelled = []
    for item in args.traces:
        label, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"{item}: expected LABEL=TRACE.json")
        labelled.append((label, summarise(path, args.steps)))
    rows = [row for row, _ in CATEGORIES] + ["other"]
    rows = [r for r in rows if any(r in s["categories"] for _, s in labelled)]
    print("| kernels, ms per step (kernels per step) | " + " | ".join(l for l, _ in labelled) + " |")
    print("|---|" + "---|" * len(labelled))
    for row in rows:
        cells = []
        for _, s in labelled:
            c = s["categories"].get(row)
            cells.append(f"{c['ms_per_step']:.2f} ({count(c['kernels_per_step'])})" if c else "-")
        print(f"| {row} | " + " | ".join(cells) + " |")
    print("| **GPU busy** | " + " | ".join(f"**{s['busy_ms_per_step']:.2f}** ({count(s['kernels_per_step'])})"
                                          for _, s in labelled) + " |")
    print("| span, first kernel to last | " + " | ".join(f"{s['span_ms_per_step']:.2f}" for _, s in labelled) + " |")
    for label, s in labelled:
        print(f"\nTop kernels, {label} (ms per step, calls per step):\n")
        for r in s["top"][:args.top]:
            print(f"- {r['ms_per_step']:.3f} ms, {count(r['calls_per_step'])}x `{r['name']}`")
        if s["triton_kernels_per_step"]:
            print("- Inductor kernels per step by row: " +
                  ", ".join(f"{row} {count(n)}" for row, n in sorted(s["triton_kernels_per_step"].items())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({label: s for label, s in labelled}, f, indent=1)


if __name__ == "__main__":
    main()
