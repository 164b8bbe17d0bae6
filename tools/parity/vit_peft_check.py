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
And lora-legacy/adapter, written with target_modules in the names transformers' ViT had before its
refactor (check_legacy). And the reverse: a LoRA adapter made here by PEFT (get_peft_model on the same
base, LoraConfig as PEFT's ViT example in the installed transformers' names: target_modules
["q_proj", "v_proj"] or ["query", "value"], modules_to_save ["classifier"], lora_B and the
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
METHODS = ("lora", "rslora", "ia3")  # and "lora-legacy", by check_legacy
results = []


def report(case, check, ok, required=True, **info):
    # required=False: a finding about the installed transformers/PEFT, printed but not failed on.
    if required:
        results.append(bool(ok))
    print(json.dumps({"case": case, "check": check, "pass": bool(ok), "required": required, **info}), flush=True)


# transformers' ViT refactor (huggingface/transformers#41693) renamed the layers' modules:
# (old, new) parts of a module path.
REFACTORED = [("vit.encoder.layer.", "vit.layers."), (".attention.attention.query.", ".attention.q_proj."),
              (".attention.attention.key.", ".attention.k_proj."), (".attention.attention.value.", ".attention.v_proj."),
              (".attention.output.dense.", ".attention.o_proj."), (".intermediate.dense.", ".mlp.fc1."),
              (".output.dense.", ".mlp.fc2.")]
REFACTORED_TARGETS = {"query": "q_proj", "key": "k_proj", "value": "v_proj"}


def refactored_key(key):
    key = key.replace(REFACTORED[0][0], REFACTORED[0][1])
    for old, new in REFACTORED[1:]:
        if old in key:
            return key.replace(old, new)
    return key


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


def check_legacy(case, top, pixels):
    """An adapter attune wrote with target_modules in the old names (PEFT's ViT example as written
    before the refactor) keeps those names in its file. transformers with the refactor has no such
    modules, so PEFT is given the config's targets under the new names: it loads the old keys
    itself if it applies transformers' rename to adapters (reported, not required); renamed here
    by the same table, they must give the merged bundle's logits."""
    import shutil

    from peft import PeftModel, get_peft_model_state_dict

    root = os.path.join(top, case)
    adapter_dir, bundle_dir = os.path.join(root, "adapter"), os.path.join(root, "bundle")
    manifest = manifest_of(bundle_dir)
    saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    layer_keys = sorted(k for k in saved if ".lora_" in k)
    report(case, "file keys use the old names", bool(layer_keys) and all(
        ".encoder.layer." in k and ".attention.attention." in k for k in layer_keys), example=layer_keys[:1])
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    with tempfile.TemporaryDirectory() as work:
        as_is, renamed = os.path.join(work, "as-is"), os.path.join(work, "renamed")
        shutil.copytree(adapter_dir, as_is)
        config["target_modules"] = [REFACTORED_TARGETS.get(t, t) for t in config["target_modules"]]
        json.dump(config, open(os.path.join(as_is, "adapter_config.json"), "w"))
        shutil.copytree(as_is, renamed)
        from safetensors.torch import save_file
        save_file({refactored_key(k): v for k, v in saved.items()}, os.path.join(renamed, "adapter_model.safetensors"),
                  metadata={"format": "pt"})
        expected = bundle_logits(bundle_dir, pixels)
        for name, folder, required in (("old keys, PEFT renames them", as_is, False),
                                       ("keys renamed to the new names", renamed, True)):
            try:
                model = PeftModel.from_pretrained(load_base(os.path.join(top, "base"), manifest["labels"]), folder)
            except Exception as e:
                report(case, name, False, required=required, error=str(e).splitlines()[0][:300])
                continue
            state = get_peft_model_state_dict(model)
            same = all(k in state and torch.equal(v, state[k].cpu())
                       for k, v in ((refactored_key(k), v) for k, v in saved.items()))
            diff = (model_logits(model, pixels, manifest) - expected).abs().max().item()
            report(case, name, same and diff < TOLERANCE, required=required, loaded_values=same, max_abs_diff=diff)


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
    # PEFT's ViT example, in the module names of the installed transformers' ViT.
    names = {n.rsplit(".", 1)[-1] for n, _ in base.named_modules()}
    targets = ["q_proj", "v_proj"] if "q_proj" in names else ["query", "value"]
    config = LoraConfig(r=4, lora_alpha=8, target_modules=targets, lora_dropout=0.0, bias="none",
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
    # Which names transformers writes a ViT checkpoint under (read_hf_vit reads both).
    with tempfile.TemporaryDirectory() as saved_base:
        load_base(os.path.join(top, "base"), labels).save_pretrained(saved_base)
        keys = sorted(load_file(os.path.join(saved_base, "model.safetensors")))
        report("reverse", "save_pretrained's ViT tensor names", True, required=False,
               names="new" if any(k.startswith("vit.layers.") for k in keys) else "old",
               example=[k for k in keys if "layer" in k][:2])
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
    if os.path.isdir(os.path.join(top, "lora-legacy")):
        try:
            check_legacy("lora-legacy", top, pixels)
        except Exception as e:
            report("lora-legacy", "check_legacy", False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
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
