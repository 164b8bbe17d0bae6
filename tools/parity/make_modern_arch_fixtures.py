"""Tiny Hugging Face ModernBERT and DeBERTa-v2/v3 checkpoints, the outputs transformers computes
on them and the gradients of one probe loss, for attune's CPU tests (tests/fixtures/modern_arch/).

Runs on a machine with transformers, torch and safetensors (CPU, float32, no network):
    python3 tools/parity/make_modern_arch_fixtures.py OUT_DIR
For every case OUT_DIR/NAME/ holds what save_pretrained(safe_serialization=True) writes
(config.json, model.safetensors) plus expected.safetensors:
  input_ids       int64 [2, 11]; row 1 ends in three pad ids
  attention_mask  int64 [2, 11]
  last_hidden_state   the encoder's output (also under the heads)
  logits              heads only
  probe           float32, the shape of the case's output (logits for heads, else
                  last_hidden_state), zero at padded positions
  grad.<name>     d sum(output * probe) / d parameter, for every parameter under its
                  transformers name (tied parameters once, under the name named_parameters gives)
Padded positions are zero in the probe because ModernBERT's sliding-window layers leave a pad
query far from every real token with no key at all; what such rows hold is not compared.
Every parameter is moved off its initial value so that a swapped or skipped tensor shows.
Then OUT_DIR is packed into OUT_DIR/modern_arch_fixtures.tar.gz.
"""
import json
import os
import shutil
import sys

import torch
from fixture_files import build, pack_fixtures, padded_inputs, perturb, save_pretrained_safetensors
import transformers
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
from transformers import DebertaV2Config, ModernBertConfig

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
LABELS = {0: "negative", 1: "neutral", 2: "positive"}
VOCAB = 100
LENGTH, PADDED = 11, 3  # row 1: 8 tokens then 3 pads

MODERNBERT_SIZES = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=24, num_hidden_layers=4,
                        num_attention_heads=4, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
                        eos_token_id=2, cls_token_id=1, sep_token_id=2)


def modernbert_default():
    # Layers 0 and 3 global, 1 and 2 local with a window of +-2 tokens, so the window bites.
    return ModernBertConfig(**MODERNBERT_SIZES, local_attention=4)


def modernbert_biased():
    # Every optional bias on, mean pooling, global every 2nd layer, other rotary bases.
    kwargs = dict(MODERNBERT_SIZES, local_attention=6, global_attn_every_n_layers=2, norm_bias=True,
                  attention_bias=True, mlp_bias=True, classifier_bias=True, classifier_pooling="mean",
                  classifier_activation="silu", norm_eps=1e-6)
    try:
        return ModernBertConfig(**kwargs, rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}})
    except TypeError:  # transformers before rope_parameters
        return ModernBertConfig(**kwargs, global_rope_theta=1000.0, local_rope_theta=500.0)


DEBERTA_SIZES = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=37, max_position_embeddings=40, pad_token_id=0)


def deberta_v3():
    # deberta-v3-base's settings at a tiny size: shared position keys, log buckets, no absolute
    # positions, no token types.
    return DebertaV2Config(**DEBERTA_SIZES, type_vocab_size=0, relative_attention=True, max_relative_positions=-1,
                           position_buckets=8, pos_att_type=["p2c", "c2p"], position_biased_input=False,
                           share_att_key=True, norm_rel_ebd="layer_norm", layer_norm_eps=1e-7)


def deberta_v2_absolute():
    # The other branches: absolute positions added, token types, separate position projections,
    # no buckets, a relative window shorter than the input, c2p only, no LayerNorm on rel_embeddings.
    return DebertaV2Config(**DEBERTA_SIZES, type_vocab_size=2, relative_attention=True, max_relative_positions=6,
                           position_buckets=-1, pos_att_type=["c2p"], position_biased_input=True,
                           share_att_key=False, norm_rel_ebd="none", layer_norm_eps=1e-7, hidden_act="gelu")


# name -> (config, heads)
FAMILIES = {
    "modernbert": (modernbert_default, ("base", "seqcls", "mlm")),
    "modernbert-biased": (modernbert_biased, ("seqcls",)),
    "deberta-v3": (deberta_v3, ("base", "seqcls", "mlm")),
    "deberta-v2-absolute": (deberta_v2_absolute, ("base", "seqcls")),
}
AUTO = {"base": AutoModel, "seqcls": AutoModelForSequenceClassification, "mlm": AutoModelForMaskedLM}


def forward(model, head, ids, mask, types):
    kwargs = {"input_ids": ids, "attention_mask": mask}
    if types is not None:
        kwargs["token_type_ids"] = types
    result = model(**kwargs)
    return result.last_hidden_state if head == "base" else result.logits


def main():
    torch.manual_seed(1234)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    for family, (make_config, heads) in FAMILIES.items():
        for head in heads:
            config = make_config()
            if head == "seqcls":
                config.num_labels = len(LABELS)
                config.id2label = dict(LABELS)
                config.label2id = {v: k for k, v in LABELS.items()}
            model = build(AUTO, head, config)
            perturb(model)
            model.eval()
            name = f"{family}-{head}"
            path = os.path.join(out, name)
            shutil.rmtree(path, ignore_errors=True)
            save_pretrained_safetensors(model, path)
            ids, mask = padded_inputs(config, VOCAB, LENGTH, PADDED)
            types = None
            if getattr(config, "type_vocab_size", 0) and config.type_vocab_size > 1:
                types = torch.zeros_like(ids)
                types[:, 4:] = 1
            expected = {"input_ids": ids, "attention_mask": mask}
            if types is not None:
                expected["token_type_ids"] = types
            body = getattr(model, model.base_model_prefix, model) if head != "base" else model
            with torch.no_grad():
                kwargs = {"input_ids": ids, "attention_mask": mask}
                if types is not None:
                    kwargs["token_type_ids"] = types
                expected["last_hidden_state"] = body(**kwargs).last_hidden_state
            output = forward(model, head, ids, mask, types)
            if head != "base":
                expected["logits"] = output.detach()
            probe = torch.randn_like(output)
            if output.dim() == 3:
                probe = probe * mask.unsqueeze(-1).to(probe.dtype)
            expected["probe"] = probe
            model.zero_grad()
            (output * probe).sum().backward()
            for pname, p in model.named_parameters():
                if p.grad is not None:
                    expected["grad." + pname] = p.grad.detach()
            save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(path, "expected.safetensors"))
            with open(os.path.join(path, "config.json")) as f:
                written = json.load(f)
            size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
            grads = sum(1 for k in expected if k.startswith("grad."))
            print(f"{name}: {written.get('model_type')} {written.get('architectures')} {grads} gradients "
                  f"{size // 1024} KB")
    pack_fixtures(out, "modern_arch_fixtures.tar.gz")


main()
