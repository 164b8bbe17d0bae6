#!/usr/bin/env python3
"""attune's ModernBERT and DeBERTa-v2/v3 runs in transformers and PEFT (GPU machine, CPU float32).

For each case that tools/parity/make_family_cases.sh made on the CPU machine:
  full/hf      loads in AutoModelForSequenceClassification with no missing, unexpected or
               mismatched keys, its id2label is the bundle's labels, and its logits equal the
               run's bundle (full/bundle/model.pt, run by torch.jit.load) to 1e-5;
  lora/adapter loads with PeftModel.from_pretrained on transformers' own base (base/) with
               every tensor of the file used, its logits equal the LoRA run's merged bundle
               to 1e-5, and PEFT saves it back under the same keys with the same values.
Random token ids (first id 1, the [CLS] of the cases' vocabulary) with padded rows.
And for each Marian case: attune's --to-hf folder (marian-NAME/hf) loads in MarianMTModel with
no loading problems, gives the fixture's teacher-forced logits (transformers' own, in
original/expected.safetensors) to 1e-5, and MarianTokenizer reads it to the same ids and
decodings as the original folder.
usage: family_to_hf_check.py DIR      (DIR holds the unpacked family_cases.tar.gz)
Prints one JSON line per check and a summary; exits 1 on any failure.
"""
import json
import os
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

TOLERANCE = 1e-5
results = []


def report(case, check, ok, **info):
    results.append(ok)
    print(json.dumps({"case": case, "check": check, "pass": bool(ok), **info}), flush=True)


def probe(vocab, max_length):
    torch.manual_seed(0)
    ids = torch.randint(5, vocab, (4, min(max_length, 17)))
    ids[:, 0] = 1
    mask = torch.ones_like(ids)
    for row, cut in ((1, 5), (2, 11), (3, 16)):
        mask[row, cut:] = 0
    return ids.masked_fill(mask == 0, 0), mask


def bundle_logits(bundle_dir, ids, mask):
    module = torch.jit.load(os.path.join(bundle_dir, "model.pt"))
    with torch.no_grad():
        return module.forward(ids, mask)


def model_logits(model, ids, mask):
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def load(folder, **kwargs):
    # The eager attention: transformers' other kernels differ from it in the last bits.
    return AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager", **kwargs)


def check_full(case, root):
    hf_dir, bundle_dir = os.path.join(root, "full", "hf"), os.path.join(root, "full", "bundle")
    model, info = load(hf_dir, output_loading_info=True)
    problems = {k: list(v) for k, v in info.items() if v}
    report(case, "full: from_pretrained", not problems, architecture=model.config.architectures, problems=problems)
    manifest = json.load(open(os.path.join(bundle_dir, "manifest.json")))
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    report(case, "full: labels", labels == manifest["labels"], hf=labels, bundle=manifest["labels"])
    ids, mask = probe(model.config.vocab_size, manifest["max_length"])
    diff = (model_logits(model, ids, mask) - bundle_logits(bundle_dir, ids, mask)).abs().max().item()
    report(case, "full: logits vs bundle", diff < TOLERANCE, max_abs_diff=diff)


def check_lora(case, root):
    from peft import PeftModel, get_peft_model_state_dict

    adapter_dir, bundle_dir = os.path.join(root, "lora", "adapter"), os.path.join(root, "lora", "bundle")
    manifest = json.load(open(os.path.join(bundle_dir, "manifest.json")))
    base = load(os.path.join(root, "base"), num_labels=len(manifest["labels"]))
    try:
        model = PeftModel.from_pretrained(base, adapter_dir)
    except Exception as e:  # a key or shape PEFT cannot place
        report(case, "lora: PeftModel.from_pretrained", False, error=str(e).splitlines()[0][:300])
        return
    saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    state = get_peft_model_state_dict(model)
    missing = sorted(set(saved) - set(state))
    extra = sorted(set(state) - set(saved))
    report(case, "lora: file keys are PEFT's", not missing and not extra, keys=len(saved),
           not_in_peft=missing[:5], not_in_file=extra[:5])
    same = all(torch.equal(saved[k], state[k].cpu()) for k in saved if k in state)
    report(case, "lora: loaded values", same)
    ids, mask = probe(base.config.vocab_size, manifest["max_length"])
    diff = (model_logits(model, ids, mask) - bundle_logits(bundle_dir, ids, mask)).abs().max().item()
    report(case, "lora: logits vs merged bundle", diff < TOLERANCE, max_abs_diff=diff)
    with tempfile.TemporaryDirectory() as out:
        model.save_pretrained(out)
        again = load_file(os.path.join(out, "adapter_model.safetensors"))
        report(case, "lora: PEFT saves the same keys", set(again) == set(saved),
               only_peft=sorted(set(again) - set(saved))[:5], only_attune=sorted(set(saved) - set(again))[:5])


def check_marian(case, root):
    from transformers import MarianMTModel, MarianTokenizer

    hf_dir, original = os.path.join(root, "hf"), os.path.join(root, "original")
    model, info = MarianMTModel.from_pretrained(hf_dir, output_loading_info=True, attn_implementation="eager")
    problems = {k: list(v) for k, v in info.items() if v}
    report(case, "marian: from_pretrained", not problems, problems=problems)
    expected = load_file(os.path.join(original, "expected.safetensors"))
    src, tgt_in = expected["src"], expected["tgt_in"]
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=src, attention_mask=(src != model.config.pad_token_id).long(),
                       decoder_input_ids=tgt_in).logits
    diff = (logits - expected["logits"]).abs().max().item()
    report(case, "marian: logits vs transformers' fixture", diff < TOLERANCE, max_abs_diff=diff)
    ours, theirs = MarianTokenizer.from_pretrained(hf_dir), MarianTokenizer.from_pretrained(original)
    probes = ["Guten Morgen, wie geht es dir?", "The quick brown fox.", "Zahlen 1234 und Zeichen !?", "", "ümlaut"]
    same_ids = ours(probes)["input_ids"] == theirs(probes)["input_ids"]
    targets = ours(text_target=probes)["input_ids"] == theirs(text_target=probes)["input_ids"]
    decoded = ours.batch_decode(theirs(text_target=probes)["input_ids"]) == theirs.batch_decode(
        theirs(text_target=probes)["input_ids"])
    report(case, "marian: tokenizer", same_ids and targets and decoded, source_ids=same_ids, target_ids=targets,
           decoding=decoded)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    top = sys.argv[1]
    import transformers
    import peft
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}))
    cases = sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d, "base")) or d.startswith("marian-"))
    if not cases:
        sys.exit(f"no cases under {top} (unpack family_cases.tar.gz there)")
    for case in cases:
        root = os.path.join(top, case)
        for check in ((check_marian,) if case.startswith("marian-") else (check_full, check_lora)):
            try:
                check(case, root)
            except Exception as e:
                report(case, check.__name__, False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    print(json.dumps({"checks": len(results), "failed": results.count(False)}))
    sys.exit(1 if False in results else 0)


if __name__ == "__main__":
    main()
