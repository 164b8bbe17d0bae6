"""Tiny Hugging Face RoBERTa / XLM-RoBERTa / CamemBERT / DistilBERT / ELECTRA checkpoints and
the outputs transformers computes on them, for attune's CPU tests (tests/fixtures/hf_arch/).

Runs on a machine with transformers, torch and safetensors (CPU, float32, no network):
    python3 tools/parity/make_hf_arch_fixtures.py OUT_DIR
For every case OUT_DIR/NAME/ holds what save_pretrained(safe_serialization=True) writes
(config.json, model.safetensors) plus expected.safetensors:
  input_ids       int64 [2, 9]; row 1 ends in three pad ids, so RoBERTa's position offsets
                  (padding_idx + 1, pads keep padding_idx) and the attention mask both matter
  attention_mask  int64 [2, 9]
  last_hidden_state (base models; also the encoder's output under the heads), pooler_output
  (RoBERTa-family base models, which have a pooler), logits (heads).
Every parameter (LayerNorm weights and biases, zero-initialised biases) is moved off its
initial value so that a swapped or skipped tensor shows; DistilBERT's sinusoidal position
table is left as transformers builds it (it is frozen there). Then OUT_DIR is packed into
OUT_DIR/hf_arch_fixtures.tar.gz.
"""
import json
import os
import shutil
import sys

import torch
from fixture_files import build, pack_fixtures, padded_inputs, perturb, save_pretrained_safetensors
import transformers
from safetensors.torch import save_file
from transformers import (CamembertConfig, DistilBertConfig, ElectraConfig, RobertaConfig, XLMRobertaConfig)
from transformers import (AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
LABELS = {0: "negative", 1: "neutral", 2: "positive"}
VOCAB = 100
LENGTH, PADDED = 9, 3  # row 1: 6 tokens then 3 pads

ROBERTA_SIZES = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=37, max_position_embeddings=40, type_vocab_size=1,
                     pad_token_id=1, bos_token_id=0, eos_token_id=2)
DISTIL_SIZES = dict(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=40,
                    pad_token_id=0)
ELECTRA_SIZES = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=37, max_position_embeddings=40, type_vocab_size=2, pad_token_id=0)

# name -> (config, heads); heads: which of base / seqcls / mlm to build.
FAMILIES = {
    "roberta": (lambda: RobertaConfig(**ROBERTA_SIZES), ("base", "seqcls", "mlm")),
    "xlm-roberta": (lambda: XLMRobertaConfig(**ROBERTA_SIZES), ("base", "seqcls", "mlm")),
    "camembert": (lambda: CamembertConfig(**ROBERTA_SIZES), ("base", "seqcls", "mlm")),
    "distilbert": (lambda: DistilBertConfig(**DISTIL_SIZES, sinusoidal_pos_embds=False), ("base", "seqcls", "mlm")),
    "distilbert-sinusoidal": (lambda: DistilBertConfig(**DISTIL_SIZES, sinusoidal_pos_embds=True),
                              ("base", "seqcls", "mlm")),
    # embedding_size != hidden_size: embeddings_project maps 16 -> 32.
    "electra": (lambda: ElectraConfig(**ELECTRA_SIZES, embedding_size=16), ("base", "seqcls")),
    "electra-square": (lambda: ElectraConfig(**ELECTRA_SIZES, embedding_size=32), ("base", "seqcls")),
}
AUTO = {"base": AutoModel, "seqcls": AutoModelForSequenceClassification, "mlm": AutoModelForMaskedLM}




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
            # DistilBERT's sinusoidal table stays as transformers builds it (frozen there).
            sinusoidal = getattr(config, "sinusoidal_pos_embds", False)
            perturb(model, skip=lambda name: sinusoidal and "position_embeddings" in name)
            model.eval()
            name = f"{family}-{head}"
            path = os.path.join(out, name)
            shutil.rmtree(path, ignore_errors=True)
            save_pretrained_safetensors(model, path)
            ids, mask = padded_inputs(config, VOCAB, LENGTH, PADDED)
            expected = {"input_ids": ids, "attention_mask": mask}
            with torch.no_grad():
                if head == "base":
                    result = model(input_ids=ids, attention_mask=mask)
                    expected["last_hidden_state"] = result.last_hidden_state
                    if getattr(result, "pooler_output", None) is not None:
                        expected["pooler_output"] = result.pooler_output
                else:
                    body = getattr(model, model.base_model_prefix)
                    expected["last_hidden_state"] = body(input_ids=ids, attention_mask=mask).last_hidden_state
                    expected["logits"] = model(input_ids=ids, attention_mask=mask).logits
            save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(path, "expected.safetensors"))
            with open(os.path.join(path, "config.json")) as f:
                written = json.load(f)
            size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
            print(f"{name}: {written.get('model_type')} {written.get('architectures')} {size // 1024} KB")
    pack_fixtures(out, "hf_arch_fixtures.tar.gz")


main()
