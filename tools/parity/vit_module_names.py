#!/usr/bin/env python3
"""transformers' ViTForImageClassification module names and PEFT's targeting of them, in the
installed versions: what tools/parity/vit_peft_check.py's adapters must name.

    python3 vit_module_names.py

Prints the versions, every module path with its class, the state-dict keys of layer 0, and
which target_modules lists PEFT's get_peft_model accepts.
"""
import json

import peft
import torch
import transformers
from transformers import ViTConfig, ViTForImageClassification


def main():
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}))
    config = ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                       image_size=32, patch_size=8, num_channels=1, num_labels=3)
    model = ViTForImageClassification(config)
    for name, module in model.named_modules():
        print("module", name or "(root)", type(module).__name__)
    print("state_dict", [k for k in model.state_dict() if "layer.0." in k])
    for targets in (["query", "value"], ["qkv"], ["q_proj", "v_proj"], "all-linear"):
        try:
            wrapped = peft.get_peft_model(ViTForImageClassification(config),
                                          peft.LoraConfig(r=2, target_modules=targets, modules_to_save=["classifier"]))
            names = [n for n, _ in wrapped.named_modules() if n.endswith("lora_A")]
            print("targets", json.dumps(targets), "ok", names)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            print("targets", json.dumps(targets), "error", type(e).__name__, str(e)[:200])


if __name__ == "__main__":
    main()
