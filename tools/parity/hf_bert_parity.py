"""Hugging Face BERT parity: attune's checkpoint import/export against transformers, both ways.

Runs on a machine with transformers and torch (CPU, float32, eager attention):
    python3 tools/parity/hf_bert_parity.py ATTUNE_BUILD_DIR WORK_DIR
ATTUNE_BUILD_DIR holds the `attune` and `attune_bert_dump` binaries.

HF -> attune: transformers builds random BertModel / BertForSequenceClassification /
BertForMaskedLM models (several activations and sizes), saves them with save_pretrained, and
attune_bert_dump reads them as hf:DIR. On a padded batch with both token types, the outputs
(last_hidden_state, pooler_output, logits, loss) must agree to 1e-5 and the gradient of every
parameter to 1e-4 (loss: cross-entropy for the heads, -100 labels ignored for the masked LM;
sum(last_hidden_state * W) + sum(pooler_output * V) for BertModel).
attune -> HF: each checkpoint goes through `attune convert --from-hf` and `attune convert
--to-hf`, and an attune-trained classifier ([CLS] pooling) is exported; transformers must
load each with no missing, unexpected or mismatched keys and agree with attune_bert_dump on
the attune directory. The exported tokenizers, loaded with AutoTokenizer, must give the ids
of `attune tokenize --special` on lines with accents, case and CJK.
Prints one PASS/FAIL line per case with the largest differences; exits 1 on any failure.
"""
import csv
import json
import os
import random
import shutil
import subprocess
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel

FORWARD_TOL, GRAD_TOL = 1e-5, 1e-4
build, work = sys.argv[1], sys.argv[2]
ATTUNE, DUMP = os.path.join(build, "attune"), os.path.join(build, "attune_bert_dump")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
torch.manual_seed(0)
random.seed(0)
failures = 0

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "run", "café", "cafe", "naïve", "résumé", "Paris", "über",
         "straße", "中", "文", "字", "日", "本", "語", ",", ".", "!", "?", "'", "-"]
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [chr(c) for c in range(ord("a"), ord("z") + 1)]
         + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##s", "##ing", "##ed", "##é"])
TEXT_LINES = ["The cat sat on the mat.", "Café naïve résumé CAFÉ", "中文字符和English混合，日本語のテキスト",
              "Straße über Paris!", "running dogs can't sit", "  spaces\tand\u00a0nbsp  ", "e\u0301 combining accent"]

ARCHS = {"BertModel": BertModel, "BertForSequenceClassification": BertForSequenceClassification,
         "BertForMaskedLM": BertForMaskedLM}
# transformers' tied aliases of the masked-LM decoder, under the name attune reports.
TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias"}


def sh(*args, stdin=None):
    result = subprocess.run(args, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def report(case, ok, detail):
    global failures
    failures += 0 if ok else 1
    print(f"{'PASS' if ok else 'FAIL'} {case}: {detail}", flush=True)


def write_hf_dir(path, arch, config_kwargs, lowercase=True):
    config = BertConfig(vocab_size=len(VOCAB), max_position_embeddings=64, **config_kwargs)
    model = ARCHS[arch](config)
    with torch.no_grad():  # move every weight (LayerNorm too) off its initial value
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(path)
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in VOCAB))
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": lowercase, "model_max_length": 64}, f)


def make_inputs(path, config, arch):
    batch, length = 3, 12
    types = max(1, config.type_vocab_size)
    inputs = {
        "input_ids": torch.randint(5, config.vocab_size, (batch, length)),
        "token_type_ids": torch.randint(0, types, (batch, length)),
        "attention_mask": torch.ones(batch, length, dtype=torch.long),
        "hidden_weight": torch.randn(batch, length, config.hidden_size),
        "pooler_weight": torch.randn(batch, config.hidden_size),
    }
    inputs["attention_mask"][1, 8:] = 0
    inputs["attention_mask"][2, 4:] = 0
    if arch == "BertForSequenceClassification":
        inputs["labels"] = torch.randint(0, config.num_labels, (batch,))
    elif arch == "BertForMaskedLM":
        labels = torch.randint(0, config.vocab_size, (batch, length))
        labels[torch.rand(batch, length) > 0.4] = -100
        labels[inputs["attention_mask"] == 0] = -100
        labels[0, 0] = 7  # at least one scored position
        inputs["labels"] = labels
    save_file({k: v.contiguous() for k, v in inputs.items()}, path)
    return inputs


def hf_reference(model, arch, inputs):
    """Outputs and parameter gradients transformers computes, under attune's names."""
    model.eval()
    model.zero_grad()
    args = {k: inputs[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    ref = {}
    if arch == "BertModel":
        out = model(**args)
        loss = (out.last_hidden_state * inputs["hidden_weight"]).sum()
        if out.pooler_output is not None:
            loss = loss + (out.pooler_output * inputs["pooler_weight"]).sum()
        ref["last_hidden_state"], ref["pooler_output"] = out.last_hidden_state, out.pooler_output
    else:
        with torch.no_grad():
            encoded = model.bert(**args)
        ref["last_hidden_state"] = encoded.last_hidden_state
        if encoded.pooler_output is not None:
            ref["pooler_output"] = encoded.pooler_output
        out = model(**args, labels=inputs["labels"])
        loss = out.loss
        ref["logits"] = out.logits
    loss.backward()
    ref["loss"] = loss.reshape(1)
    grads = {}
    for name, p in model.named_parameters():
        if p.grad is not None:
            grads[TIED.get(name, name)] = p.grad
    return {k: v.detach() for k, v in ref.items() if v is not None}, grads


def compare(case, model, arch, attune_source, inputs_path, inputs):
    out_path = os.path.join(work, case + ".dump.safetensors")
    try:
        sh(DUMP, attune_source, inputs_path, out_path)
    except RuntimeError as e:
        report(case, False, str(e))
        return
    ours = load_file(out_path)
    ref, grads = hf_reference(model, arch, inputs)
    problems, forward, backward = [], 0.0, 0.0
    for key, value in ref.items():
        if key not in ours or ours[key].shape != value.shape:
            problems.append(f"{key}: {tuple(ours[key].shape) if key in ours else 'missing'} vs {tuple(value.shape)}")
            continue
        forward = max(forward, (ours[key] - value).abs().max().item())
    attune_grads = {k[5:]: v for k, v in ours.items() if k.startswith("grad.")}
    if set(attune_grads) != set(grads):
        problems.append(f"gradient names differ: attune only {sorted(set(attune_grads) - set(grads))[:5]}, "
                        f"transformers only {sorted(set(grads) - set(attune_grads))[:5]}")
    for name in set(attune_grads) & set(grads):
        backward = max(backward, (attune_grads[name] - grads[name]).abs().max().item())
    ok = not problems and forward <= FORWARD_TOL and backward <= GRAD_TOL
    detail = f"max |diff| outputs {forward:.2e} (tol {FORWARD_TOL:g}), gradients {backward:.2e} (tol {GRAD_TOL:g}) " \
             f"over {len(grads)} parameters"
    report(case, ok, detail + ("; " + "; ".join(problems) if problems else ""))


def load_exported(case, arch, path):
    model, info = ARCHS[arch].from_pretrained(path, output_loading_info=True, attn_implementation="eager",
                                              dtype=torch.float32)
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    report(case + " loading", not bad, "no missing/unexpected/mismatched keys" if not bad else str(bad))
    return model


def check_tokenizer(case, hf_dir, attune_tokenizer):
    try:
        tokenizer = AutoTokenizer.from_pretrained(hf_dir)
        ours = [json.loads(x) for x in sh(ATTUNE, "tokenize", "--tokenizer", attune_tokenizer, "--special",
                                          stdin="\n".join(TEXT_LINES) + "\n").splitlines()]
    except Exception as e:  # noqa: BLE001 - any failure is this case's FAIL line
        report(case, False, repr(e))
        return
    theirs = [tokenizer(line)["input_ids"] for line in TEXT_LINES]
    wrong = [(line, a, b) for line, a, b in zip(TEXT_LINES, ours, theirs) if a != b]
    report(case, not wrong and len(ours) == len(theirs),
           f"{type(tokenizer).__name__}, {len(TEXT_LINES)} lines, {len(wrong)} differ" +
           (f"; first: {wrong[0][0]!r} attune {wrong[0][1]} hf {wrong[0][2]}" if wrong else ""))


def hf_cases():
    common = dict(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return [
        ("bert-gelu", "BertModel", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                        intermediate_size=64, hidden_act="gelu", **common), True),
        ("cls-relu", "BertForSequenceClassification", dict(hidden_size=24, num_hidden_layers=3, num_attention_heads=3,
                                                           intermediate_size=40, hidden_act="relu", num_labels=3,
                                                           **common), True),
        ("cls-gelu-new", "BertForSequenceClassification", dict(hidden_size=32, num_hidden_layers=1,
                                                               num_attention_heads=2, intermediate_size=48,
                                                               hidden_act="gelu_new", num_labels=3,
                                                               layer_norm_eps=1e-6, **common), True),
        ("mlm-gelu", "BertForMaskedLM", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=8,
                                             intermediate_size=64, hidden_act="gelu", **common), True),
        ("mlm-gelu-new-cased", "BertForMaskedLM", dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                                       intermediate_size=32, hidden_act="gelu_new", type_vocab_size=3,
                                                       **common), False),
    ]


def write_training_csv(path):
    topics = {"food": ["cat", "mat", "café"], "sport": ["run", "dog", "sat"], "tech": ["中", "文", "字"]}
    filler = ["the", "a", "on", "naïve", "über"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for _ in range(240):
            label = random.choice(list(topics))
            words = [random.choice(topics[label] if random.random() < 0.4 else filler) for _ in range(6)]
            writer.writerow([" ".join(words), label])


def main():
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    for case, arch, kwargs, lowercase in hf_cases():
        hf_dir, run_dir, back_dir = (os.path.join(work, case + s) for s in (".hf", ".attune", ".back"))
        write_hf_dir(hf_dir, arch, kwargs, lowercase)
        model = ARCHS[arch].from_pretrained(hf_dir, attn_implementation="eager", dtype=torch.float32)
        inputs_path = os.path.join(work, case + ".inputs.safetensors")
        inputs = make_inputs(inputs_path, model.config, arch)
        compare(f"hf->attune {case}", model, arch, "hf:" + hf_dir, inputs_path, inputs)
        try:
            sh(ATTUNE, "convert", "--from-hf", hf_dir, "--out", run_dir)
            sh(ATTUNE, "convert", "--run", run_dir, "--to-hf", back_dir)
        except RuntimeError as e:
            report(f"attune->hf {case}", False, str(e))
            continue
        exported = load_exported(f"attune->hf {case}", arch, back_dir)
        compare(f"attune->hf {case}", exported, arch, run_dir, inputs_path, inputs)
        check_tokenizer(f"tokenizer {case}", back_dir, run_dir + "/tokenizer")

    # A classifier attune trained itself, with its own WordPiece vocabulary.
    csv_path, run_dir, hf_dir = (os.path.join(work, n) for n in ("train.csv", "trained.attune", "trained.hf"))
    write_training_csv(csv_path)
    try:
        sh(ATTUNE, "train", "--set", f"run_dir={run_dir}", "--set", "device=cpu", "--set", f"data.train={csv_path}",
           "--set", "head.pooling=cls", "--set", "data.max_length=32", "--set", "tokenizer.vocab_size=150",
           "--set", "tokenizer.min_frequency=1", "--set", "model.hidden_size=32", "--set", "model.num_layers=2",
           "--set", "model.num_heads=4", "--set", "model.intermediate_size=64", "--set", "model.max_length=64",
           "--set", "train.epochs=2", "--set", "train.batch_size=16")
        sh(ATTUNE, "convert", "--run", run_dir, "--to-hf", hf_dir)
    except RuntimeError as e:
        report("attune->hf trained classifier", False, str(e))
    else:
        model = load_exported("attune->hf trained classifier", "BertForSequenceClassification", hf_dir)
        inputs_path = os.path.join(work, "trained.inputs.safetensors")
        inputs = make_inputs(inputs_path, model.config, "BertForSequenceClassification")
        compare("attune->hf trained classifier", model, "BertForSequenceClassification", run_dir, inputs_path, inputs)
        labels = json.load(open(os.path.join(run_dir, "labels.json")))
        id2label = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        report("attune->hf trained classifier labels", id2label == labels, f"id2label {id2label}, attune {labels}")
        check_tokenizer("tokenizer trained classifier", hf_dir, run_dir + "/tokenizer")

    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
