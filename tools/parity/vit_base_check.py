#!/usr/bin/env python3
"""transformers' ViTForImageClassification at ViT-Base's size (224 pixels, patch 16, 768 wide, 12
layers, 12 heads, MLP 3072) through attune, both ways, on the GPU machine's CPU in float32.

    python3 tools/parity/vit_base_check.py ATTUNE_BUILD_DIR WORK_DIR

A random checkpoint (every weight moved by a normal of spread 0.02; 3 labels; the image
processor's 0.5/0.5) is saved by transformers, made a run by `attune convert --from-hf`, and:
  predict   `attune predict --run` on 4 grey 224x224 images (IDX) gives transformers' softmax
            (the grey image repeated in the 3 channels, as attune feeds a colour model) to 1e-5;
  eval      `attune eval --run` gives transformers' cross-entropy on them to 1e-5;
  --to-hf   `attune convert --run --to-hf` loads in ViTForImageClassification with no missing,
            unexpected or mismatched keys, every tensor equal to the original, the same logits.
Prints one PASS/FAIL line each; exits 1 on any failure.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import torch
from safetensors.torch import load_file
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

failures = 0


def report(check, ok, detail):
    global failures
    failures += 0 if ok else 1
    print(f"{'PASS' if ok else 'FAIL'} {check}: {detail}", flush=True)


def sh(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-400:]}")
    return result.stdout


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    attune = os.path.join(sys.argv[1], "attune")
    work = sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    torch.manual_seed(0)
    torch.set_num_threads(min(16, os.cpu_count() or 1))
    labels = {0: "cat", 1: "dog", 2: "bird"}
    config = ViTConfig(image_size=224, patch_size=16, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                       intermediate_size=3072, num_channels=3, num_labels=3, id2label=labels,
                       label2id={v: k for k, v in labels.items()})
    model = ViTForImageClassification(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    model.eval()
    hf = os.path.join(work, "hf")
    model.save_pretrained(hf)
    ViTImageProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3, size={"height": 224, "width": 224}).save_pretrained(hf)

    grey = torch.randint(0, 256, (4, 224, 224), dtype=torch.uint8)
    truth = torch.tensor([0, 2, 1, 2], dtype=torch.uint8)
    with open(os.path.join(work, "images"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 4, 224, 224) + grey.numpy().tobytes())
    with open(os.path.join(work, "labels"), "wb") as f:
        f.write(struct.pack(">II", 0x801, 4) + truth.numpy().tobytes())
    pixels = ((grey.float() / 255.0 - 0.5) / 0.5).unsqueeze(1).expand(-1, 3, -1, -1)
    with torch.no_grad():
        logits = model(pixel_values=pixels).logits
    probabilities = torch.softmax(logits, 1)
    loss = torch.nn.functional.cross_entropy(logits, truth.long()).item()

    run = os.path.join(work, "run")
    sh(attune, "convert", "--from-hf", hf, "--out", run)
    lines = [json.loads(l) for l in sh(attune, "predict", "--run", run, "--input", os.path.join(work, "images"),
                                       "--device", "cpu").splitlines() if l.strip()]
    got = torch.tensor([[line["probabilities"][labels[i]] for i in range(3)] for line in lines])
    diff = (got - probabilities).abs().max().item()
    report("predict", diff < 1e-5 and len(lines) == 4, f"4 images, probabilities within {diff:.2e} of transformers'")
    evaluated = json.loads(sh(attune, "eval", "--run", run, "--data",
                              os.path.join(work, "images") + "," + os.path.join(work, "labels"), "--device", "cpu"))
    ours = evaluated.get("loss", evaluated.get("test", {}).get("loss"))
    report("eval", ours is not None and abs(ours - loss) < 1e-5, f"cross-entropy {ours} against transformers' {loss}")

    back = os.path.join(work, "back")
    sh(attune, "convert", "--run", run, "--to-hf", back)
    again, info = ViTForImageClassification.from_pretrained(back, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    original, written = load_file(os.path.join(hf, "model.safetensors")), load_file(os.path.join(back, "model.safetensors"))
    same = set(original) == set(written) and all(torch.equal(original[k], written[k]) for k in original)
    again.eval()
    with torch.no_grad():
        back_diff = (again(pixel_values=pixels).logits - logits).abs().max().item()
    report("--to-hf", not problems and same and back_diff == 0.0,
           f"loading problems {problems or 'none'}; tensors {'equal' if same else 'differ'}; logits within {back_diff:.1e}")
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
