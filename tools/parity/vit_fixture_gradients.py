#!/usr/bin/env python3
"""Gradients of transformers' and timm's own ViTs on the fixtures in tests/fixtures/vit, for
test_models "[vit]" to compare attune's with (per parameter).

Runs where transformers and timm are (the GPU machine; CPU float32):
    python3 tools/parity/vit_fixture_gradients.py FIXTURES OUT
For each fixture FIXTURES/NAME (made by make_vit_fixtures.py) it loads the checkpoint as the
library does (ViTModel or ViTForImageClassification.from_pretrained; timm's VisionTransformer
from timm_args.json and model.safetensors), in eval mode, and on expected.safetensors'
pixel_values computes
    loss = sum(last_hidden_state * probe) [+ cross_entropy(logits, labels) for classifiers]
with probe a seeded normal tensor of last_hidden_state's shape and labels [0, 2]. It writes
NAME/gradients.safetensors (every parameter's gradient, under the name the library gives the
parameter: a checkpoint of gradients, which attune's checkpoint readers map and split as they
do the weights) and adds probe and labels to NAME/expected.safetensors. OUT/vit_gradients.tar.gz
packs both files of every fixture, to unpack over tests/fixtures/vit.
"""
import json
import os
import sys
import tarfile

import torch
from safetensors.torch import load_file, save_file


def load(path):
    if os.path.exists(os.path.join(path, "timm_args.json")):
        import timm

        model = timm.models.vision_transformer.VisionTransformer(**json.load(open(os.path.join(path, "timm_args.json"))))
        model.load_state_dict(load_file(os.path.join(path, "model.safetensors")))
        return model, "timm"
    from transformers import ViTForImageClassification, ViTModel

    classifier = "classifier.weight" in load_file(os.path.join(path, "model.safetensors"))
    cls = ViTForImageClassification if classifier else ViTModel
    return cls.from_pretrained(path, attn_implementation="eager"), "hf-imgcls" if classifier else "hf-base"


def outputs(model, kind, pixels):
    """(last_hidden_state, logits or None) in one forward pass."""
    if kind == "timm":
        hidden = model.forward_features(pixels)
        return hidden, model.forward_head(hidden)
    if kind == "hf-base":
        return model(pixel_values=pixels).last_hidden_state, None
    hidden = model.vit(pixel_values=pixels).last_hidden_state
    return hidden, model.classifier(hidden[:, 0, :])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fixtures, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    names = sorted(n for n in os.listdir(fixtures) if os.path.exists(os.path.join(fixtures, n, "expected.safetensors")))
    for name in names:
        path = os.path.join(fixtures, name)
        model, kind = load(path)
        model.eval()
        expected = load_file(os.path.join(path, "expected.safetensors"))
        pixels = expected["pixel_values"]
        hidden, logits = outputs(model, kind, pixels)
        # The forward pass must be the fixture's (the same weights, read the same way).
        drift = (hidden - expected["last_hidden_state"]).abs().max().item()
        assert drift < 1e-5, f"{name}: last_hidden_state differs from expected.safetensors by {drift}"
        probe = torch.randn(hidden.shape, generator=torch.Generator().manual_seed(7))
        labels = torch.tensor([0, 2])
        loss = (hidden * probe).sum()
        if logits is not None:
            loss = loss + torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        grads = {n: p.grad.contiguous() for n, p in model.named_parameters() if p.grad is not None}
        save_file(grads, os.path.join(path, "gradients.safetensors"))
        expected["probe"], expected["labels"] = probe, labels
        save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(path, "expected.safetensors"))
        print(json.dumps({"fixture": name, "kind": kind, "loss": loss.item(), "gradients": len(grads),
                          "skipped": [n for n, p in model.named_parameters() if p.grad is None]}))
    with tarfile.open(os.path.join(out, "vit_gradients.tar.gz"), "w:gz") as tar:
        for name in names:
            for f in ("gradients.safetensors", "expected.safetensors"):
                tar.add(os.path.join(fixtures, name, f), arcname=os.path.join(name, f))


if __name__ == "__main__":
    main()
