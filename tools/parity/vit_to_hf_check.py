#!/usr/bin/env python3
"""attune's image runs in transformers: `attune convert --run RUN --to-hf HF` folders load as
ViTForImageClassification with no missing, unexpected or mismatched keys, ViTImageProcessor reads
their normalisation, and the model's logits equal the run's bundle (`attune export`, which
normalises grey 0..255 pixels itself) on the same images, to 1e-5.

Made on the CPU machine, for each case NAME (a run trained or fine-tuned there):
    attune convert --run RUN --to-hf DIR/NAME/hf
    attune export --run RUN --out DIR/NAME/bundle
usage: vit_to_hf_check.py DIR       (every DIR/*/ with hf/ and bundle/)
"""
import json
import os
import sys

import torch
from transformers import ViTForImageClassification, ViTImageProcessor


def check(case):
    hf_dir, bundle_dir = os.path.join(case, "hf"), os.path.join(case, "bundle")
    model, info = ViTForImageClassification.from_pretrained(hf_dir, output_loading_info=True)
    model.eval()
    processor = ViTImageProcessor.from_pretrained(hf_dir)
    manifest = json.load(open(os.path.join(bundle_dir, "manifest.json")))
    norm = manifest["normalization"]
    size = model.config.image_size
    channels = model.config.num_channels
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (6, 1, size, size), dtype=torch.uint8)
    bundle = torch.jit.load(os.path.join(bundle_dir, "model.pt")).eval()
    with torch.no_grad():
        expected = bundle(pixels.float())
        x = (pixels.float() / 255.0 - norm["mean"]) / norm["std"]
        got = model(pixel_values=x.expand(-1, channels, -1, -1)).logits
    problems = {k: v for k, v in info.items() if v}
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    result = {
        "case": os.path.basename(case),
        "loading_problems": problems,
        "max_logit_diff": float((got - expected).abs().max()),
        "labels_equal": labels == manifest["labels"],
        # The processor may hold a tuple (or a fast processor's own sequence type): compare values.
        "processor_mean_std": [[float(v) for v in processor.image_mean], [float(v) for v in processor.image_std]],
        "processor_class": type(processor).__name__,
    }
    result["processor_matches"] = result["processor_mean_std"] == [[norm["mean"]] * channels, [norm["std"]] * channels]
    result["pass"] = (not problems and result["max_logit_diff"] < 1e-5 and result["labels_equal"]
                      and result["processor_matches"])
    return result


def main():
    root = sys.argv[1]
    cases = sorted(os.path.join(root, d) for d in os.listdir(root)
                   if os.path.isdir(os.path.join(root, d, "hf")) and os.path.isdir(os.path.join(root, d, "bundle")))
    results = [check(c) for c in cases]
    for r in results:
        print(("PASS " if r["pass"] else "FAIL ") + json.dumps(r))
    failures = sum(not r["pass"] for r in results)
    print(f"{len(results)} case(s), {failures} failure(s)")
    sys.exit(1 if failures or not results else 0)


if __name__ == "__main__":
    main()
