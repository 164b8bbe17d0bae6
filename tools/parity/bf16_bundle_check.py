#!/usr/bin/env python3
"""A bfloat16 classification bundle (`attune export --bf16`, written by LibTorch 1.13 on the
CPU machine) in Python's torch.jit.load (torch 2.x): it loads, its parameters are bfloat16,
its logits float32, and its probabilities match what 1.13's `attune predict --bundle` gave
with the same bundle, one text at a time and all at once (padded), on CPU and CUDA.

Made on the CPU machine (DIR is carried to the GPU machine):
    attune export --run FIXTURES/classification/run --out DIR/bundle --bf16
    attune predict --bundle DIR/bundle --input FIXTURES/classification/inputs.txt --output DIR/expected_bf16.jsonl
    cp FIXTURES/classification/{input_ids.jsonl,expected_predict.jsonl} DIR/   (the float32 bundle's answers
                                                                               as expected_fp32.jsonl)
usage: bf16_bundle_check.py DIR
Tolerances: 2e-2 on probabilities against 1.13's bf16 answers (bfloat16 kernels differ
between LibTorch versions and devices) and 5e-2 against the float32 bundle's; labels must
be equal wherever float32's top probability leads by more than 0.1.
"""
import json
import sys

import torch


def main():
    d = sys.argv[1]
    ids = [json.loads(line) for line in open(f"{d}/input_ids.jsonl")]
    bf16 = [json.loads(line) for line in open(f"{d}/expected_bf16.jsonl")]
    fp32 = [json.loads(line) for line in open(f"{d}/expected_fp32.jsonl")]
    labels = json.load(open(f"{d}/bundle/manifest.json"))["labels"]
    m = torch.jit.load(f"{d}/bundle/model.pt").eval()
    dtypes = sorted({str(p.dtype) for p in m.parameters()})
    failures = []
    if dtypes != ["torch.bfloat16"]:
        failures.append(f"parameter dtypes {dtypes}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    report = {"texts": len(ids), "parameter_dtypes": dtypes, "devices": devices}
    with torch.no_grad():
        for device in devices:
            m.to(device)
            width = max(len(x) for x in ids)
            batch = torch.zeros(len(ids), width, dtype=torch.long)
            mask = torch.zeros_like(batch)
            for i, x in enumerate(ids):
                batch[i, :len(x)] = torch.tensor(x)
                mask[i, :len(x)] = 1
            together = m(batch.to(device), mask.to(device))
            if together.dtype != torch.float32:
                failures.append(f"{device}: logits dtype {together.dtype}")
            together = torch.softmax(together.float(), -1).cpu()
            alone = torch.cat([torch.softmax(m(torch.tensor([x], device=device),
                                                 torch.ones(1, len(x), dtype=torch.long, device=device)).float(), -1).cpu()
                               for x in ids])
            for name, probs in (("alone", alone), ("batched", together)):
                vs_bf16 = max(abs(probs[i, j].item() - bf16[i]["probabilities"][label])
                              for i in range(len(ids)) for j, label in enumerate(labels))
                vs_fp32 = max(abs(probs[i, j].item() - fp32[i]["probabilities"][label])
                              for i in range(len(ids)) for j, label in enumerate(labels))
                flipped = 0
                for i in range(len(ids)):
                    top = sorted(fp32[i]["probabilities"].values(), reverse=True)
                    if top[0] - top[1] > 0.1 and labels[int(probs[i].argmax())] != fp32[i]["label"]:
                        flipped += 1
                report[f"{device}_{name}"] = {"max_diff_vs_1.13_bf16": vs_bf16, "max_diff_vs_fp32": vs_fp32,
                                              "clear_labels_flipped": flipped}
                if vs_bf16 > 2e-2 or vs_fp32 > 5e-2 or flipped:
                    failures.append(f"{device} {name}: {vs_bf16:.4g} vs 1.13 bf16, {vs_fp32:.4g} vs fp32, {flipped} flipped")
    report["failures"] = failures
    print(json.dumps(report, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
