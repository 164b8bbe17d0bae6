#!/usr/bin/env python3
"""attune's PEFT image-classification runs in transformers and PEFT (GPU machine, CPU float32).

For each METHOD (lora, rslora, ia3) that tools/parity/make_vit_peft_cases.sh made on the CPU machine:
  METHOD/adapter  loads with PeftModel.from_pretrained(ViTForImageClassification.from_pretrained(base/),
                  ADAPTER) (the base's 3-label head swapped for a fresh 4-label one, as PEFT's ViT
                  example does; the adapter's saved classifier replaces it) with every tensor of the
                  file used and every key PEFT's; its logits on the cases' probe images equal the
                  run's bundle (METHOD/bundle/model.pt, the adapter merged, run by torch.jit.load)
                  to 1e-5; PEFT saves it back under the same keys;
  METHOD/hf       (attune convert --run --to-hf, merged weights) loads in ViTForImageClassification
                  with no missing, unexpected or mismatched keys and gives the bundle's logits.
And marian-lora/adapter, a LoRA adapter of a translation run on transformers' own MarianMTModel
(base/, the fixture): it loads with PeftModel.from_pretrained(MarianMTModel.from_pretrained(base/), ADAPTER)
with every key PEFT's, and its teacher-forced logits on the fixture's probe (base/expected.safetensors)
equal those of attune's `--to-hf` folder of the run (marian-lora/hf, the adapter merged) to 1e-5.
And the reverse: a LoRA adapter made here by PEFT (get_peft_model on the same base, LoraConfig as PEFT's
ViT example: target_modules ["query", "value"], modules_to_save ["classifier"], lora_B and the
classifier moved off their initial values) is written with its expected predictions to
OUT/reverse_vit_peft.tar.gz, for tools/parity/check_vit_peft_reverse.sh to run through
`attune predict --run RUN --adapter DIR` back on the CPU machine.
usage: vit_peft_check.py DIR OUT   (DIR holds the unpacked vit_peft_cases.tar.gz: DIR/vit-peft)
Prints one JSON line per check and a summary; exits 1 on any failure.
"""
import json
import os
import struct
import sys
import tarfile
import tempfile

import torch
from safetensors.torch import load_file
from transformers import ViTForImageClassification

TOLERANCE = 1e-5
METHODS = ("lora", "rslora", "ia3")
results = []


def report(case, check, ok, **info):
    results.append(bool(ok))
    print(json.dumps({"case": case, "check": check, "pass": bool(ok), **info}), flush=True)


def read_idx_images(path):
    with open(path, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{path}: not an IDX images file"
        data = f.read(n * h * w)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(n, 1, h, w).float()


def manifest_of(bundle_dir):
    return json.load(open(os.path.join(bundle_dir, "manifest.json")))


def bundle_logits(bundle_dir, pixels):
    module = torch.jit.load(os.path.join(bundle_dir, "model.pt"))
    with torch.no_grad():
        return module.forward(pixels)


def pixel_values(pixels, manifest):
    # The bundle's own normalisation (the fixture's preprocessor mean and std, one grey channel).
    norm = manifest["normalization"]
    return (pixels / 255.0 - norm["mean"]) / norm["std"]


def model_logits(model, pixels, manifest):
    model.eval()
    with torch.no_grad():
        return model(pixel_values=pixel_values(pixels, manifest)).logits


def load_base(base_dir, labels):
    # As PEFT's image-classification example: the checkpoint with a new head for the task's labels.
    return ViTForImageClassification.from_pretrained(
        base_dir, attn_implementation="eager", id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)}, ignore_mismatched_sizes=True)


def check_adapter(case, top, pixels):
    from peft import PeftModel, get_peft_model_state_dict

    root = os.path.join(top, case)
    adapter_dir, bundle_dir = os.path.join(root, "adapter"), os.path.join(root, "bundle")
    manifest = manifest_of(bundle_dir)
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    report(case, "adapter_config", config.get("task_type") is None and config.get("modules_to_save") == ["classifier"],
           peft_type=config.get("peft_type"), task_type=config.get("task_type"),
           target_modules=config.get("target_modules"), modules_to_save=config.get("modules_to_save"))
    base = load_base(os.path.join(top, "base"), manifest["labels"])
    try:
        model = PeftModel.from_pretrained(base, adapter_dir)
    except Exception as e:  # a key, shape or config field PEFT cannot place
        report(case, "PeftModel.from_pretrained", False, error=str(e).splitlines()[0][:300])
        return
    saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    state = get_peft_model_state_dict(model)
    missing, extra = sorted(set(saved) - set(state)), sorted(set(state) - set(saved))
    report(case, "file keys are PEFT's", not missing and not extra, keys=len(saved), not_in_peft=missing[:5],
           not_in_file=extra[:5])
    same = all(torch.equal(saved[k], state[k].cpu()) for k in saved if k in state)
    report(case, "loaded values", same)
    diff = (model_logits(model, pixels, manifest) - bundle_logits(bundle_dir, pixels)).abs().max().item()
    report(case, "PEFT logits vs merged bundle", diff < TOLERANCE, max_abs_diff=diff)
    with tempfile.TemporaryDirectory() as out:
        model.save_pretrained(out)
        again = load_file(os.path.join(out, "adapter_model.safetensors"))
        report(case, "PEFT saves the same keys", set(again) == set(saved),
               only_peft=sorted(set(again) - set(saved))[:5], only_attune=sorted(set(saved) - set(again))[:5])
    # PEFT's own merge agrees with attune's.
    merged = model.merge_and_unload()
    diff = (model_logits(merged, pixels, manifest) - bundle_logits(bundle_dir, pixels)).abs().max().item()
    report(case, "PEFT merge_and_unload vs merged bundle", diff < TOLERANCE, max_abs_diff=diff)


def check_hf(case, top, pixels):
    root = os.path.join(top, case)
    bundle_dir = os.path.join(root, "bundle")
    manifest = manifest_of(bundle_dir)
    model, info = ViTForImageClassification.from_pretrained(os.path.join(root, "hf"), output_loading_info=True,
                                                            attn_implementation="eager")
    problems = {k: list(v) for k, v in info.items() if v}
    report(case, "hf: from_pretrained", not problems, problems=problems)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    report(case, "hf: labels", labels == manifest["labels"], hf=labels, bundle=manifest["labels"])
    diff = (model_logits(model, pixels, manifest) - bundle_logits(bundle_dir, pixels)).abs().max().item()
    report(case, "hf: logits vs bundle", diff < TOLERANCE, max_abs_diff=diff)


def check_marian(top):
    from peft import PeftModel, get_peft_model_state_dict
    from transformers import MarianMTModel

    case, root = "marian-lora", os.path.join(top, "marian-lora")
    adapter_dir = os.path.join(root, "adapter")
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    report(case, "adapter_config", config.get("task_type") == "SEQ_2_SEQ_LM", peft_type=config.get("peft_type"),
           task_type=config.get("task_type"), target_modules=config.get("target_modules"))
    base = MarianMTModel.from_pretrained(os.path.join(root, "base"), attn_implementation="eager")
    try:
        model = PeftModel.from_pretrained(base, adapter_dir)
    except Exception as e:
        report(case, "PeftModel.from_pretrained", False, error=str(e).splitlines()[0][:300])
        return
    saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    state = get_peft_model_state_dict(model)
    missing, extra = sorted(set(saved) - set(state)), sorted(set(state) - set(saved))
    report(case, "file keys are PEFT's", not missing and not extra, keys=len(saved), not_in_peft=missing[:5],
           not_in_file=extra[:5])
    report(case, "loaded values", all(torch.equal(saved[k], state[k].cpu()) for k in saved if k in state))
    merged, info = MarianMTModel.from_pretrained(os.path.join(root, "hf"), output_loading_info=True,
                                                 attn_implementation="eager")
    problems = {k: list(v) for k, v in info.items() if v}
    report(case, "hf: from_pretrained", not problems, problems=problems)
    expected = load_file(os.path.join(root, "base", "expected.safetensors"))
    src, tgt_in = expected["src"].long(), expected["tgt_in"].long()
    mask = (src != base.config.pad_token_id).long()
    model.eval()
    merged.eval()
    with torch.no_grad():
        got = model(input_ids=src, attention_mask=mask, decoder_input_ids=tgt_in).logits
        want = merged(input_ids=src, attention_mask=mask, decoder_input_ids=tgt_in).logits
        plain = MarianMTModel.from_pretrained(os.path.join(root, "base"), attn_implementation="eager").eval()(
            input_ids=src, attention_mask=mask, decoder_input_ids=tgt_in).logits
    diff = (got - want).abs().max().item()
    moved = (plain - want).abs().max().item()
    report(case, "PEFT logits vs attune's merged --to-hf", diff < TOLERANCE and moved > 1e-4, max_abs_diff=diff,
           adapter_effect=moved)


def make_reverse(top, pixels, out):
    """A PEFT-made LoRA adapter and the predictions PEFT gives with it, for attune to load."""
    from peft import LoraConfig, get_peft_model

    manifest = manifest_of(os.path.join(top, "lora", "bundle"))
    labels = manifest["labels"]
    torch.manual_seed(0)
    base = load_base(os.path.join(top, "base"), labels)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.0, bias="none",
                        modules_to_save=["classifier"])
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # lora_B starts at zero (the adapter would change nothing); the saved head copy too.
            if "lora_B" in name or "modules_to_save" in name:
                p.add_(torch.randn_like(p) * 0.2)
    work = tempfile.mkdtemp()
    reverse = os.path.join(work, "reverse")
    adapter = os.path.join(reverse, "peft-lora")
    model.save_pretrained(adapter)
    logits = model_logits(model, pixels, manifest)
    with open(os.path.join(reverse, "expected_predict.jsonl"), "w") as f:
        for row in torch.softmax(logits, 1):
            probabilities = {labels[i]: float(p) for i, p in enumerate(row)}
            f.write(json.dumps({"label": labels[int(row.argmax())], "probabilities": probabilities}) + "\n")
    import peft
    import transformers
    json.dump({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
              open(os.path.join(reverse, "versions.json"), "w"))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "reverse_vit_peft.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(reverse, arcname="reverse")
    report("reverse", "PEFT-made LoRA adapter written", True, tarball=path,
           files=sorted(os.listdir(adapter)))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    top = os.path.join(sys.argv[1], "vit-peft")
    out = sys.argv[2]
    import peft
    import transformers
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}))
    if not os.path.isdir(os.path.join(top, "base")):
        sys.exit(f"no cases under {top} (unpack vit_peft_cases.tar.gz in {sys.argv[1]})")
    pixels = read_idx_images(os.path.join(top, "test-images"))
    for case in METHODS:
        for check in (check_adapter, check_hf):
            try:
                check(case, top, pixels)
            except Exception as e:
                report(case, check.__name__, False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    if os.path.isdir(os.path.join(top, "marian-lora")):
        try:
            check_marian(top)
        except Exception as e:
            report("marian-lora", "check_marian", False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    try:
        make_reverse(top, pixels, out)
    except Exception as e:
        report("reverse", "make_reverse", False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    print(json.dumps({"checks": len(results), "failed": results.count(False)}))
    sys.exit(1 if False in results else 0)


if __name__ == "__main__":
    main()
