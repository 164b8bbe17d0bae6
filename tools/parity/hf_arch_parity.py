"""Hugging Face RoBERTa / XLM-RoBERTa / CamemBERT / DistilBERT / ELECTRA parity: attune's
import and export of these architectures (configurations of its BERT body) against
transformers, both ways. Tokenizers are excluded: each HF folder gets a WordPiece vocab.txt
of the model's vocabulary size only so that attune's hf: loader has a tokenizer to load.

Runs on a machine with transformers and torch (CPU, float32, eager attention):
    python3 tools/parity/hf_arch_parity.py ATTUNE_BUILD_DIR WORK_DIR
    SIZE=base python3 tools/parity/hf_arch_parity.py ATTUNE_BUILD_DIR WORK_DIR   (base-size models, see BASE)
ATTUNE_BUILD_DIR holds the `attune` and `attune_bert_dump` binaries.

HF -> attune: transformers builds random base / ForSequenceClassification / ForMaskedLM models
(ELECTRA: base and classifier, with and without embeddings_project; DistilBERT with learned
and sinusoidal positions), every parameter moved off its initial value, saves them, and
attune_bert_dump reads them as hf:DIR. On a padded batch (so RoBERTa's padding-offset
positions matter) outputs must agree to 1e-5 and every parameter's gradient to 1e-4, both
relative to the reference's largest magnitude where that is above 1
(cross-entropy for the heads, -100 labels ignored for the masked LMs; sum(last_hidden_state * W)
(+ sum(pooler_output * V) where there is a pooler) for base models).
attune -> HF: each checkpoint goes through `attune convert --from-hf` and `--to-hf`;
transformers must load it with no missing, unexpected or mismatched keys, as the same
model_type and class, and agree with attune_bert_dump on the attune directory.
Prints one PASS/FAIL line per case; exits 1 on any failure.
"""
import json
import os
import shutil
import subprocess
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification,
                          CamembertConfig, DebertaV2Config, DistilBertConfig, ElectraConfig, ModernBertConfig,
                          RobertaConfig, XLMRobertaConfig)

# Tolerances relative to the reference's largest magnitude (at least 1): the outputs and each
# parameter's gradient.
FORWARD_TOL, GRAD_TOL = 1e-5, 1e-4
build, work = sys.argv[1], sys.argv[2]
# SIZE=base: the architectures at their published base sizes (RoBERTa/XLM-R/CamemBERT/ELECTRA
# base: 768 wide, 12 layers; DistilBERT: 6 layers; ELECTRA-small's 128-wide embeddings under a
# 256-wide body; ModernBERT-base: 22 layers, local windows of 128; DeBERTa-v3-base: 256
# position buckets), a BERT-sized vocabulary and 128-token inputs, base and classifier heads.
BASE = os.environ.get("SIZE", "small") == "base"
ATTUNE, DUMP = os.path.join(build, "attune"), os.path.join(build, "attune_bert_dump")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
torch.manual_seed(0)
failures = 0
VOCAB = 30522 if BASE else 120
LENGTH, KEPT = (128, (100, 40)) if BASE else (12, (8, 4))  # rows 1 and 2 end in padding
AUTO = {"base": AutoModel, "seqcls": AutoModelForSequenceClassification, "mlm": AutoModelForMaskedLM}

if BASE:
    WIDE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    ROBERTA = dict(vocab_size=VOCAB, **WIDE, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                   bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    DISTIL = dict(vocab_size=VOCAB, dim=768, n_layers=6, n_heads=12, hidden_dim=3072, max_position_embeddings=512,
                  pad_token_id=0)
    ELECTRA = dict(vocab_size=VOCAB, **WIDE, max_position_embeddings=512, pad_token_id=0)
    SMALL_ELECTRA = dict(vocab_size=VOCAB, hidden_size=256, num_hidden_layers=12, num_attention_heads=4,
                         intermediate_size=1024, max_position_embeddings=512, pad_token_id=0, embedding_size=128)
    HEADS = ("base", "seqcls")
    CASES = [  # name, config factory, heads
        ("roberta", lambda: RobertaConfig(**ROBERTA), HEADS),
        ("xlm-roberta", lambda: XLMRobertaConfig(**ROBERTA), HEADS),
        ("distilbert", lambda: DistilBertConfig(**DISTIL), HEADS),
        ("electra", lambda: ElectraConfig(**ELECTRA, embedding_size=768), HEADS),
        ("electra-small", lambda: ElectraConfig(**SMALL_ELECTRA), HEADS),
        ("modernbert", lambda: ModernBertConfig(vocab_size=VOCAB, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                                cls_token_id=1, sep_token_id=2, reference_compile=False), HEADS),
        ("deberta-v3", lambda: DebertaV2Config(vocab_size=VOCAB, **WIDE, max_position_embeddings=512, pad_token_id=0,
                                               type_vocab_size=0, relative_attention=True, max_relative_positions=-1,
                                               position_buckets=256, pos_att_type=["p2c", "c2p"],
                                               position_biased_input=False, share_att_key=True,
                                               norm_rel_ebd="layer_norm", layer_norm_eps=1e-7), HEADS),
    ]
else:
    ROBERTA = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                   max_position_embeddings=40, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                   layer_norm_eps=1e-5)
    DISTIL = dict(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=40,
                  pad_token_id=0)
    ELECTRA = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                   max_position_embeddings=40, pad_token_id=0)
    CASES = [  # name, config factory, heads
        ("roberta", lambda: RobertaConfig(**ROBERTA), ("base", "seqcls", "mlm")),
        ("roberta-relu", lambda: RobertaConfig(**{**ROBERTA, "hidden_act": "relu"}), ("seqcls", "mlm")),
        ("xlm-roberta", lambda: XLMRobertaConfig(**ROBERTA), ("base", "seqcls", "mlm")),
        ("camembert", lambda: CamembertConfig(**ROBERTA), ("base", "seqcls", "mlm")),
        ("distilbert", lambda: DistilBertConfig(**DISTIL), ("base", "seqcls", "mlm")),
        ("distilbert-sinusoidal", lambda: DistilBertConfig(**DISTIL, sinusoidal_pos_embds=True), ("base", "seqcls", "mlm")),
        ("electra", lambda: ElectraConfig(**ELECTRA, embedding_size=16), ("base", "seqcls")),
        ("electra-square", lambda: ElectraConfig(**ELECTRA, embedding_size=32), ("base", "seqcls")),
    ]


def sh(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def report(case, ok, detail):
    global failures
    failures += 0 if ok else 1
    print(f"{'PASS' if ok else 'FAIL'} {case}: {detail}", flush=True)


def tied_aliases(model):
    """transformers' names of tied parameters -> the name attune reports (the first owner)."""
    base = model.base_model_prefix
    return {"lm_head.decoder.weight": f"{base}.embeddings.word_embeddings.weight",
            "lm_head.decoder.bias": "lm_head.bias",
            "vocab_projector.weight": f"{base}.embeddings.word_embeddings.weight"}


def write_hf_dir(path, head, config):
    if head == "seqcls":
        config.num_labels = 3
        config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
        config.label2id = {v: k for k, v in config.id2label.items()}
    model = AUTO[head].from_config(config, attn_implementation="eager")
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:  # DistilBERT's sinusoidal table stays as built
                # At base size, 0.1 per weight (five times the initialiser's spread) would blow
                # activations up layer by layer and compare rounding, not the models.
                p.add_(torch.randn_like(p) * (0.02 if BASE else 0.1))
    model.save_pretrained(path)
    with open(os.path.join(path, "vocab.txt"), "w") as f:  # tokenizer excluded: any vocabulary of the right size
        f.write("".join(t + "\n" for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                        [f"w{i}" for i in range(VOCAB - 5)]))
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 32}, f)


def make_inputs(path, config, head):
    batch, length = 3, LENGTH
    pad = config.pad_token_id
    ids = torch.randint(3, VOCAB, (batch, length))
    ids[ids == pad] = 5
    mask = torch.ones(batch, length, dtype=torch.long)
    for row, keep in zip((1, 2), KEPT):
        ids[row, keep:] = pad
        mask[row, keep:] = 0
    hidden = getattr(config, "hidden_size", None) or config.dim
    inputs = {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": mask,
              "hidden_weight": torch.randn(batch, length, hidden), "pooler_weight": torch.randn(batch, hidden)}
    if config.model_type == "modernbert":
        # ModernBERT's sliding-window layers leave a pad query far from every real token with
        # no key at all: what such rows hold is undefined in both, so they carry no loss and
        # are not compared (make_modern_arch_fixtures.py does the same).
        inputs["hidden_weight"] = inputs["hidden_weight"] * mask.unsqueeze(-1)
    if head == "seqcls":
        inputs["labels"] = torch.randint(0, 3, (batch,))
    elif head == "mlm":
        labels = torch.randint(0, VOCAB, (batch, length))
        labels[torch.rand(batch, length) > 0.4] = -100
        labels[mask == 0] = -100
        labels[0, 0] = 7
        inputs["labels"] = labels
    save_file({k: v.contiguous() for k, v in inputs.items()}, path)
    return inputs


def hf_reference(model, head, inputs):
    model.eval()
    model.zero_grad()
    # DistilBERT's sinusoidal table is fixed, as in the paper and transformers 4 (which set
    # requires_grad False); transformers 5 builds it as a trainable parameter. attune keeps
    # it fixed, so it is compared frozen here (docs/hf-parity.md says so).
    if getattr(model.config, "sinusoidal_pos_embds", False):
        for name, p in model.named_parameters():
            if name.endswith("embeddings.position_embeddings.weight"):
                p.requires_grad_(False)
    args = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
    ref = {}
    if head == "base":
        out = model(**args)
        loss = (out.last_hidden_state * inputs["hidden_weight"]).sum()
        pooled = getattr(out, "pooler_output", None)
        if pooled is not None:
            loss = loss + (pooled * inputs["pooler_weight"]).sum()
            ref["pooler_output"] = pooled
        ref["last_hidden_state"] = out.last_hidden_state
    else:
        with torch.no_grad():
            ref["last_hidden_state"] = getattr(model, model.base_model_prefix)(**args).last_hidden_state
        out = model(**args, labels=inputs["labels"])
        loss, ref["logits"] = out.loss, out.logits
    loss.backward()
    ref["loss"] = loss.reshape(1)
    tied = tied_aliases(model)
    grads = {tied.get(n, n): p.grad for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in ref.items()}, grads


def compare(case, model, head, source, inputs_path, inputs):
    out_path = os.path.join(work, case.replace(" ", "_").replace(">", "") + ".dump.safetensors")
    try:
        sh(DUMP, source, inputs_path, out_path)
    except RuntimeError as e:
        report(case, False, str(e))
        return
    ours = load_file(out_path)
    ref, grads = hf_reference(model, head, inputs)
    problems, forward, backward, forward_rel, backward_rel = [], 0.0, 0.0, 0.0, 0.0
    for key, value in ref.items():
        if key not in ours or ours[key].shape != value.shape:
            problems.append(f"{key}: {tuple(ours[key].shape) if key in ours else 'missing'} vs {tuple(value.shape)}")
            continue
        got = ours[key]
        if key == "last_hidden_state" and model.config.model_type == "modernbert":
            keep = inputs["attention_mask"].unsqueeze(-1).to(value.dtype)
            got, value = got * keep, value * keep
        diff = (got - value).abs().max().item()
        forward = max(forward, diff)
        forward_rel = max(forward_rel, diff / max(1.0, value.abs().max().item()))
    attune_grads = {k[5:]: v for k, v in ours.items() if k.startswith("grad.")}
    if set(attune_grads) != set(grads):
        problems.append(f"gradient names differ: attune only {sorted(set(attune_grads) - set(grads))[:5]}, "
                        f"transformers only {sorted(set(grads) - set(attune_grads))[:5]}")
    for name in set(attune_grads) & set(grads):
        diff = (attune_grads[name] - grads[name]).abs().max().item()
        backward = max(backward, diff)
        backward_rel = max(backward_rel, diff / max(1.0, grads[name].abs().max().item()))
    ok = not problems and forward_rel <= FORWARD_TOL and backward_rel <= GRAD_TOL
    report(case, ok, f"max |diff| outputs {forward:.2e} ({forward_rel:.2e} of the largest; tol {FORWARD_TOL:g}), "
                     f"gradients {backward:.2e} ({backward_rel:.2e} of the parameter's largest; tol {GRAD_TOL:g}) "
                     f"over {len(grads)} parameters" + ("; " + "; ".join(problems) if problems else ""))


def load_exported(case, head, path, source_config):
    model, info = AUTO[head].from_pretrained(path, output_loading_info=True, attn_implementation="eager",
                                             dtype=torch.float32)
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    written = AutoConfig.from_pretrained(path)
    same = (written.model_type == source_config.model_type and type(model).__name__ == source_config.architectures[0])
    report(case + " loading", not bad and same,
           f"{written.model_type} {type(model).__name__}" + (f"; {bad}" if bad else "") +
           ("" if same else f"; expected {source_config.model_type} {source_config.architectures[0]}"))
    return model


def main():
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, size {'base' if BASE else 'small'}")
    torch.set_num_threads(min(16, os.cpu_count() or 1))
    for family, make_config, heads in CASES:
        for head in heads:
            case = f"{family}-{head}"
            hf_dir, run_dir, back_dir = (os.path.join(work, case + s) for s in (".hf", ".attune", ".back"))
            write_hf_dir(hf_dir, head, make_config())
            model = AUTO[head].from_pretrained(hf_dir, attn_implementation="eager", dtype=torch.float32)
            inputs_path = os.path.join(work, case + ".inputs.safetensors")
            inputs = make_inputs(inputs_path, model.config, head)
            compare(f"hf->attune {case}", model, head, "hf:" + hf_dir, inputs_path, inputs)
            try:
                sh(ATTUNE, "convert", "--from-hf", hf_dir, "--out", run_dir)
                sh(ATTUNE, "convert", "--run", run_dir, "--to-hf", back_dir)
            except RuntimeError as e:
                report(f"attune->hf {case}", False, str(e))
                continue
            exported = load_exported(f"attune->hf {case}", head, back_dir, model.config)
            compare(f"attune->hf {case}", exported, head, run_dir, inputs_path, inputs)
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
