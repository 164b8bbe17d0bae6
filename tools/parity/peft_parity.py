"""PEFT parity: attune's adapters against Hugging Face PEFT, both directions.

Runs on the GPU machine (transformers and peft are installed there), on the CPU in float32:
    python3 tools/parity/peft_parity.py ATTUNE_BINARY WORK_DIR SPAM_DIR

1. attune -> PEFT: attune trains LoRA, IA3 and AdaLoRA adapters (a few steps, tiny
   model, [CLS] pooling so the model is exactly BertForSequenceClassification) on the
   SpamAssassin split. Python builds that BertForSequenceClassification, loads the run's
   base_model.safetensors, loads the run's adapter directory with
   PeftModel.from_pretrained, and compares class probabilities on test messages with
   `attune predict`.
2. PEFT -> attune: Python attaches fresh PEFT adapters (LoRA, rsLoRA, IA3, AdaLoRA with a
   rank pattern) to the same base, gives them random weights, saves them with
   save_pretrained, and `attune predict --adapter DIR` must give PEFT's probabilities.
Prints the largest difference per case and exits 1 if any exceeds 1e-5.
"""
import csv
import json
import os
import subprocess
import sys

import peft
import torch
import transformers
from peft import AdaLoraConfig, IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, TaskType, get_peft_model
from safetensors.torch import load_file
from transformers import BertConfig, BertForSequenceClassification

TOL = 1e-5
attune, work, spam = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
torch.manual_seed(0)


def sh(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout


def train(name, *flags):
    run = os.path.join(work, name)
    sh(attune, "train", "--config", "tools/configs/spam_assassin.json", "--overwrite", "--set", f"run_dir={run}",
       "--set", "device=cpu", "--set", "model.preset=tiny", "--set", "head.pooling=cls", "--set", "data.max_length=64",
       "--set", "train.max_steps=30", "--set", "train.eval_every=30", "--set", "tokenizer.vocab_size=4000",
       "--set", f"data.train={spam}/train.csv", "--set", f"data.valid={spam}/valid.csv", *flags)
    return run


def hf_base(run):
    cfg = json.load(open(os.path.join(run, "config.json")))
    m = cfg["model"]
    vocab = sum(1 for _ in open(os.path.join(run, "tokenizer", "vocab.txt"), encoding="utf-8"))
    labels = json.load(open(os.path.join(run, "labels.json")))
    config = BertConfig(vocab_size=vocab, hidden_size=m["hidden_size"], num_hidden_layers=m["num_layers"],
                        num_attention_heads=m["num_heads"], intermediate_size=m["intermediate_size"],
                        hidden_act=m["activation"], max_position_embeddings=m["max_length"], type_vocab_size=2,
                        layer_norm_eps=1e-12, pad_token_id=0, num_labels=len(labels))
    config._attn_implementation = "eager"
    model = BertForSequenceClassification(config)
    missing, unexpected = model.load_state_dict(load_file(os.path.join(run, "base_model.safetensors")), strict=False)
    assert not unexpected and all("position_ids" in k or "token_type_ids" in k for k in missing), (missing, unexpected)
    return model.eval()


texts = []
with open(os.path.join(spam, "test.csv"), newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        texts.append(" ".join(row["text"].split()))
        if len(texts) == 48:
            break
text_input = "\n".join(texts) + "\n"


def hf_probs(model, run, **extra):
    ids = [json.loads(l) for l in sh(attune, "tokenize", "--tokenizer", run, "--special", "--max-length", "64",
                                     stdin=text_input).splitlines()]
    width = max(len(i) for i in ids)
    input_ids = torch.tensor([i + [0] * (width - len(i)) for i in ids])
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])
    if extra.pop("explicit_positions", False):
        extra["position_ids"] = torch.arange(width).expand(len(ids), width)
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids),
                       **extra).logits
    return torch.softmax(logits.float(), -1)


def attune_probs(run, *flags):
    labels = json.load(open(os.path.join(run, "labels.json")))
    out = sh(attune, "predict", "--run", run, "--device", "cpu", *flags, stdin=text_input)
    rows = [json.loads(l)["probabilities"] for l in out.splitlines()]
    return torch.tensor([[r[label] for label in labels] for r in rows], dtype=torch.float64)


failures = 0


def report(case, a, b):
    global failures
    diff = (a.double() - b.double()).abs().max().item()
    ok = diff <= TOL
    failures += not ok
    print(f"{case:<58} max |diff| = {diff:.2e}  {'ok' if ok else 'FAIL'}", flush=True)


print(f"transformers {transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}")
targets = '["query","key","value","dense"]'
runs = {
    "lora": train("lora", "--set", "peft.method=lora", "--set", "peft.r=4", "--set", "peft.lora_alpha=16",
                  "--set", f"peft.target_modules={targets}", "--set", "train.lr=5e-3"),
    "lora bias=all": train("lora_bias", "--set", "peft.method=lora", "--set", "peft.bias=all",
                           "--set", "train.lr=5e-3"),
    "ia3": train("ia3", "--set", "peft.method=ia3", "--set", "train.lr=2e-2"),
    "adalora (pruned to rank pattern)": train("adalora", "--set", "peft.method=adalora", "--set", "peft.init_r=6",
                                              "--set", "peft.target_r=2", "--set", "peft.tinit=5",
                                              "--set", "peft.tfinal=10", "--set", "train.lr=5e-3"),
    "prefix_tuning": train("prefix", "--set", "peft.method=prefix_tuning", "--set", "peft.num_virtual_tokens=8",
                           "--set", "train.lr=1e-2"),
    "prefix_tuning (projection)": train("prefix_proj", "--set", "peft.method=prefix_tuning",
                                        "--set", "peft.num_virtual_tokens=8", "--set", "peft.prefix_projection=true",
                                        "--set", "train.lr=1e-2"),
}
for name, run in runs.items():
    model = PeftModel.from_pretrained(hf_base(run), run).eval()
    report(f"attune -> PEFT: {name}", hf_probs(model, run), attune_probs(run))
    if name.startswith("prefix"):
        # Diagnostic: whether transformers shifts the real tokens' positions past the prefix.
        diff = (hf_probs(model, run, explicit_positions=True) - attune_probs(run)).abs().max().item()
        print(f"  (with position_ids 0..T-1 given explicitly: max |diff| = {diff:.2e})", flush=True)

base_run = runs["lora"]
configs = {
    "lora": LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, target_modules=["query", "value", "dense"]),
    "rslora": LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, use_rslora=True, target_modules=["key"]),
    "ia3": IA3Config(task_type=TaskType.SEQ_CLS, target_modules=["key", "value", "output.dense"],
                     feedforward_modules=["output.dense"]),
    "prefix_tuning": PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=6),
    "prefix_tuning (projection)": PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=6,
                                                     prefix_projection=True, encoder_hidden_size=32),
    "adalora": AdaLoraConfig(task_type=TaskType.SEQ_CLS, init_r=6, target_r=3, total_step=100,
                             target_modules=["query", "value"]),
}
for name, config in configs.items():
    model = get_peft_model(hf_base(base_run), config)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.2)
        if name == "adalora":
            # Prune half the ranks so the file holds a rank pattern, as after training.
            pattern = {}
            for n, p in model.named_parameters():
                if "lora_E" in n:
                    keep = torch.rand(p.shape[0]) < 0.5
                    keep[0] = True
                    p.masked_fill_(~keep.view(-1, 1), 0.0)
                    pattern[n.replace("base_model.model.", "")] = keep.tolist()
            model.peft_config["default"].rank_pattern = pattern
    model.eval()
    adapter_dir = os.path.join(work, "peft_" + name.replace(" ", "_").replace("(", "").replace(")", ""))
    model.save_pretrained(adapter_dir)
    report(f"PEFT -> attune: {name}", hf_probs(model, base_run), attune_probs(base_run, "--adapter", adapter_dir))
    if name.startswith("prefix"):
        diff = (hf_probs(model, base_run, explicit_positions=True) -
                attune_probs(base_run, "--adapter", adapter_dir)).abs().max().item()
        print(f"  (with position_ids 0..T-1 given explicitly: max |diff| = {diff:.2e})", flush=True)

print("peft parity:", "FAILED" if failures else "all cases within 1e-5")
sys.exit(1 if failures else 0)
