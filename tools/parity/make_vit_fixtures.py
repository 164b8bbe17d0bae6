"""Tiny Hugging Face ViT and timm VisionTransformer checkpoints and the outputs those libraries
compute on them, for attune's CPU tests (tests/fixtures/vit/).

Runs on a machine with transformers, timm, torch and safetensors (CPU, float32, no network):
    python3 tools/parity/make_vit_fixtures.py OUT_DIR
Every model: image 32, patch 8, hidden 32, 2 layers, 4 heads, intermediate 37, 3 labels.
Cases (OUT_DIR/NAME/):
  hf-base-c1     ViTModel, 1 channel: save_pretrained (config.json, model.safetensors; tensor
                 names without the "vit." prefix, with the pooler) + preprocessor_config.json
  hf-imgcls-c3   ViTForImageClassification, 3 channels, ImageNet mean/std in preprocessor_config
  hf-imgcls-c1   ViTForImageClassification, 1 channel, the processor's default 0.5/0.5
  timm-c3        timm VisionTransformer, 3 channels: model.safetensors (its state_dict, fused
                 qkv) + timm_args.json (the constructor's keyword arguments)
  timm-c1        the same with 1 channel
Each also holds expected.safetensors:
  pixel_values        float32 [2, C, 32, 32] (already normalised: the model's input)
  last_hidden_state   [2, 17, 32] after the final LayerNorm (timm: forward_features)
  pooler_output       (ViTModel only) [2, 32]
  logits              (classifiers) [2, 3]
Every parameter (LayerNorm weights and biases, zero-initialised biases, class token, position
embeddings) is moved off its initial value so that a swapped or skipped tensor shows. Then
OUT_DIR is packed into OUT_DIR/vit_fixtures.tar.gz (about 450 KB).
"""
import json
import os
import shutil
import sys

import timm
import torch
from fixture_files import pack_fixtures, save_pretrained_safetensors
import transformers
from safetensors.torch import save_file
from transformers import ViTConfig, ViTForImageClassification, ViTModel

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
LABELS = {0: "cat", 1: "dog", 2: "bird"}
SIZES = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=37, hidden_act="gelu", qkv_bias=True)
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def perturb(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            # The class token and position embeddings start near zero: move them well off it.
            scale = 0.5 if ("cls_token" in name or "position_embeddings" in name or "pos_embed" in name) else 0.1
            p.add_(torch.randn_like(p) * scale)


def save_processor(path, mean, std):
    try:
        from transformers import ViTImageProcessor
        ViTImageProcessor(image_mean=mean, image_std=std, size={"height": 32, "width": 32}).save_pretrained(path)
    except Exception as e:  # the processor's optional dependencies: write what it writes
        print(f"  ViTImageProcessor unavailable ({e}); writing preprocessor_config.json by hand")
        with open(os.path.join(path, "preprocessor_config.json"), "w") as f:
            json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": mean,
                       "image_std": std, "image_processor_type": "ViTImageProcessor", "resample": 2,
                       "rescale_factor": 1 / 255, "size": {"height": 32, "width": 32}}, f, indent=2)


def build_hf(kind, channels):
    config = ViTConfig(**SIZES, num_channels=channels)
    if kind == "imgcls":
        config.num_labels = len(LABELS)
        config.id2label = dict(LABELS)
        config.label2id = {v: k for k, v in LABELS.items()}
    cls = ViTModel if kind == "base" else ViTForImageClassification
    try:
        config._attn_implementation = "eager"
        return cls(config)
    except Exception:
        return cls(ViTConfig(**SIZES, num_channels=channels))


def hf_case(name, kind, channels, mean, std):
    path = os.path.join(out, name)
    shutil.rmtree(path, ignore_errors=True)
    model = build_hf(kind, channels)
    perturb(model)
    model.eval()
    save_pretrained_safetensors(model, path)
    save_processor(path, mean, std)
    pixels = torch.randn(2, channels, 32, 32)
    expected = {"pixel_values": pixels}
    with torch.no_grad():
        if kind == "base":
            result = model(pixel_values=pixels)
            expected["last_hidden_state"] = result.last_hidden_state
            if getattr(result, "pooler_output", None) is not None:
                expected["pooler_output"] = result.pooler_output
        else:
            expected["last_hidden_state"] = model.vit(pixel_values=pixels).last_hidden_state
            expected["logits"] = model(pixel_values=pixels).logits
    finish(path, expected)


def timm_case(name, channels):
    path = os.path.join(out, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    # mlp_ratio 37/32 is exact in binary: int(32 * 1.15625) = 37 hidden MLP features.
    args = dict(img_size=32, patch_size=8, in_chans=channels, num_classes=len(LABELS), embed_dim=32, depth=2,
                num_heads=4, mlp_ratio=37 / 32, qkv_bias=True, global_pool="token", class_token=True)
    model = timm.models.vision_transformer.VisionTransformer(**args)
    perturb(model)
    model.eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(path, "model.safetensors"))
    with open(os.path.join(path, "timm_args.json"), "w") as f:
        json.dump(args, f, indent=2)
    pixels = torch.randn(2, channels, 32, 32)
    with torch.no_grad():
        expected = {"pixel_values": pixels, "last_hidden_state": model.forward_features(pixels),
                    "logits": model(pixels)}
    finish(path, expected)


def finish(path, expected):
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(path, "expected.safetensors"))
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    print(f"{os.path.basename(path)}: {sorted(os.listdir(path))} {size // 1024} KB")


def main():
    torch.manual_seed(1234)
    print(f"transformers {transformers.__version__}, timm {timm.__version__}, torch {torch.__version__}")
    hf_case("hf-base-c1", "base", 1, [0.5], [0.5])
    hf_case("hf-imgcls-c3", "imgcls", 3, *IMAGENET)
    hf_case("hf-imgcls-c1", "imgcls", 1, [0.5], [0.5])
    timm_case("timm-c3", 3)
    timm_case("timm-c1", 1)
    pack_fixtures(out, "vit_fixtures.tar.gz")


main()
