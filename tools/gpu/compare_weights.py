#!/usr/bin/env python3
"""Largest absolute difference between the tensors of two safetensors files (same names
and shapes required): how far apart two runs' weights ended.

usage: compare_weights.py A.safetensors B.safetensors
"""
import sys

from safetensors.torch import load_file


def main():
    a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
    if a.keys() != b.keys():
        raise SystemExit(f"different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
    worst, name = 0.0, ""
    identical = 0
    for k in sorted(a):
        if a[k].shape != b[k].shape:
            raise SystemExit(f"{k}: shapes {tuple(a[k].shape)} and {tuple(b[k].shape)}")
        d = (a[k].double() - b[k].double()).abs().max().item() if a[k].numel() else 0.0
        identical += d == 0.0
        if d > worst:
            worst, name = d, k
    print(f"{len(a)} tensors, {identical} identical; max |diff| {worst:.3g}" + (f" ({name})" if name else ""))


if __name__ == "__main__":
    main()
