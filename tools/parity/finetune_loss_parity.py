#!/usr/bin/env python3
"""Fine-tuning, loss for loss: transformers (and PEFT) repeat attune's short runs.

For each case that tools/parity/make_finetune_cases.sh made on the CPU machine, this loads
the weights the attune run started from (start/hf with AutoModelForSequenceClassification,
ViTForImageClassification for the image cases or MarianMTModel for translation; or start/base with
PeftModel.from_pretrained(start/adapter, is_trainable=True)), rebuilds attune's batches from
the run's seed (attune_batches.py, a port of data/batching.cpp; image_epochs below), and
trains as the run's config says, with torch's and transformers' own parts: torch.optim.AdamW
(weight decay on tensors of two or more dimensions, as attune groups them), transformers'
get_linear_schedule_with_warmup or get_cosine_schedule_with_warmup (the image task's
default), torch.nn.utils.clip_grad_norm_ and the model's own loss. The model runs in eval
mode (the attune runs have no dropout), float32, on the CPU.

Every step's loss, learning rate and gradient norm is compared with attune's metrics.jsonl.
Pass: the loss within LOSS_TOL (absolute) at every step, the rate equal, and the gradient
norm within GRAD_TOL (relative).

usage: finetune_loss_parity.py DIR [--json OUT]   (DIR holds the unpacked finetune_cases.tar.gz)
Exits 1 on any failure.
"""
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attune_batches import MASK64, classification_epoch, seeded_permutation, shuffled_batches  # noqa: E402

LOSS_TOL = 1e-4
GRAD_TOL = 1e-3


def is_image_case(case_dir):
    return os.path.exists(os.path.join(case_dir, "train-images"))


def is_translation_case(case_dir):
    return os.path.exists(os.path.join(case_dir, "train.tsv"))


def load_model(case_dir):
    from transformers import AutoModelForSequenceClassification, MarianMTModel, ViTForImageClassification

    image = is_image_case(case_dir)
    model_class = (ViTForImageClassification if image else
                   MarianMTModel if is_translation_case(case_dir) else AutoModelForSequenceClassification)
    start = os.path.join(case_dir, "start")
    if os.path.isdir(os.path.join(start, "hf")):
        return model_class.from_pretrained(os.path.join(start, "hf"), attn_implementation="eager")
    from peft import PeftModel
    from safetensors.torch import load_file

    head = {}
    if image:
        # The run's classes, not the checkpoint's: a new head, whose trained copy is in the adapter.
        saved = load_file(os.path.join(start, "adapter", "adapter_model.safetensors"))
        head = {"num_labels": saved["base_model.model.classifier.weight"].shape[0], "ignore_mismatched_sizes": True}
    base = model_class.from_pretrained(os.path.join(start, "base"), attn_implementation="eager", **head)
    return PeftModel.from_pretrained(base, os.path.join(start, "adapter"), is_trainable=True)


def text_epochs(case_dir, config, model):
    """Each epoch's batches as the model's keyword arguments: attune's length-bucketed batches."""
    train = config["train"]
    examples = [json.loads(line) for line in open(os.path.join(case_dir, "train.jsonl"))]
    lengths = [len(e["ids"]) for e in examples]
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    epochs = []
    for e in range(train["epochs"]):
        batches = []
        for batch in classification_epoch(lengths, train["batch_size"], train["bucket_by_length"], config["seed"], e):
            longest = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, :lengths[i]] = torch.tensor(examples[i]["ids"])
                mask[row, :lengths[i]] = 1
            labels = torch.tensor([examples[i]["label"] for i in batch])
            batches.append({"input_ids": ids, "attention_mask": mask, "labels": labels})
        epochs.append(batches)
    return epochs


def token_batches(source_lengths, target_lengths, max_tokens, seed):
    """data/batching.cpp's make_token_batches with shuffling: a seeded permutation, stably sorted
    by the longer side, cut where another pair would pass max_tokens padded tokens, the batches
    in a seeded order of their own."""
    order = seeded_permutation(len(source_lengths), seed)
    length = [max(s, t) for s, t in zip(source_lengths, target_lengths)]
    order.sort(key=lambda i: length[i])  # stable, as std::stable_sort
    batches, current, longest = [], [], 0
    for i in order:
        size = max(1, length[i])
        if current and (len(current) + 1) * max(longest, size) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, size)
    if current:
        batches.append(current)
    batch_order = seeded_permutation(len(batches), seed ^ 0x5BD1E995)
    return [batches[b] for b in batch_order]


def translation_epochs(case_dir, config, model):
    """Translation's batches (tasks/translation): pairs tokenized by MarianTokenizer, source + EOS,
    the training filter of tokenize_pairs, token-budget batches, decoder input BOS + target and
    labels target + EOS (-100 at padding)."""
    from transformers import MarianTokenizer

    start = os.path.join(case_dir, "start")
    tokenizer = MarianTokenizer.from_pretrained(os.path.join(start, "hf" if os.path.isdir(os.path.join(start, "hf")) else "base"))
    train, data = config["train"], config["data"]
    pad, bos, eos = model.config.pad_token_id, model.config.decoder_start_token_id, model.config.eos_token_id
    sources, targets = [], []
    for line in open(os.path.join(case_dir, "train.tsv")):
        source_text, target_text = line.rstrip("\n").split("\t")
        s = tokenizer(source_text, add_special_tokens=False)["input_ids"]
        t = tokenizer(text_target=target_text, add_special_tokens=False)["input_ids"]
        ratio = (max(len(s), len(t)) + 1) / (min(len(s), len(t)) + 1)
        if (1 <= len(s) <= data["max_source_tokens"] and 1 <= len(t) <= data["max_target_tokens"]
                and ratio <= data["max_length_ratio"]):
            sources.append(s + [eos])
            targets.append(t)
    epochs = []
    for e in range(train["epochs"]):
        batches = []
        seed = (config["seed"] * 1000003 + e) & MASK64
        for batch in token_batches([len(s) for s in sources], [len(t) + 1 for t in targets], train["max_tokens"], seed):
            s_len = max(len(sources[i]) for i in batch)
            t_len = max(len(targets[i]) + 1 for i in batch)
            source = torch.full((len(batch), s_len), pad, dtype=torch.long)
            decoder_input = torch.full((len(batch), t_len), pad, dtype=torch.long)
            labels = torch.full((len(batch), t_len), -100, dtype=torch.long)
            for row, i in enumerate(batch):
                source[row, :len(sources[i])] = torch.tensor(sources[i])
                decoder_input[row, :len(targets[i]) + 1] = torch.tensor([bos] + targets[i])
                labels[row, :len(targets[i]) + 1] = torch.tensor(targets[i] + [eos])
            batches.append({"input_ids": source, "attention_mask": (source != pad).long(),
                            "decoder_input_ids": decoder_input, "labels": labels})
        epochs.append(batches)
    return epochs


def batch_loss(model, batch, config):
    """The model's own loss; translation's is cross-entropy with the run's label smoothing,
    which MarianMTModel's loss does not take."""
    if "decoder_input_ids" not in batch:
        return model(**batch).loss
    logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100,
                                             label_smoothing=config["train"]["label_smoothing"])


def read_idx(path, magic, dims):
    with open(path, "rb") as f:
        header = struct.unpack(">" + "I" * (1 + dims), f.read(4 * (1 + dims)))
        assert header[0] == magic, f"{path}: not an IDX file of {dims} dimension(s)"
        shape = header[1:]
        return torch.frombuffer(bytearray(f.read(math.prod(shape))), dtype=torch.uint8).view(*shape)


def image_epochs(case_dir, config, model):
    """Image classification's batches (tasks/image_classification/task.cpp): the run's hold-out is
    the first data.valid_size of torch.randperm(N) by the run's seed, the rest shuffled per epoch
    (engine::shuffled_batches); pixels x / 255 normalised by data.mean and data.std."""
    train, data = config["train"], config["data"]
    images = read_idx(os.path.join(case_dir, "train-images"), 0x803, 3)
    labels = read_idx(os.path.join(case_dir, "train-labels"), 0x801, 1).long()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(config["seed"]))
    kept = order[data["valid_size"]:]
    pixels = (images[kept].float().div(255.0).unsqueeze(1) - data["mean"]) / data["std"]
    channels = model.config.num_channels
    if channels > 1:
        pixels = pixels.expand(-1, channels, -1, -1)
    labels = labels[kept]
    return [[{"pixel_values": pixels[b], "labels": labels[b]}
             for b in shuffled_batches(list(range(len(kept))), train["batch_size"], e, config["seed"])]
            for e in range(train["epochs"])]


def run_case(case_dir):
    config = json.load(open(os.path.join(case_dir, "run", "config.json")))
    train = config["train"]
    # transformers' own schedules, which attune's (tasks/engine/optimizer.cpp) must follow.
    from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup
    schedules = {"linear": get_linear_schedule_with_warmup, "cosine": get_cosine_schedule_with_warmup}
    assert train["schedule"] in schedules and train["grad_accum"] == 1, "cases use a linear or cosine schedule, no accumulation"
    attune = [json.loads(line) for line in open(os.path.join(case_dir, "run", "metrics.jsonl"))]
    attune = {m["step"]: m for m in attune if m.get("split") == "train"}

    model = load_model(case_dir)
    model.eval()  # the attune runs have no dropout
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": train["weight_decay"]},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=train["lr"], betas=(train["adam_beta1"], train["adam_beta2"]), eps=train["adam_eps"])

    epochs = (image_epochs if is_image_case(case_dir) else
              translation_epochs if is_translation_case(case_dir) else text_epochs)(case_dir, config, model)
    total = train["max_steps"] or sum(len(b) for b in epochs)
    warmup = train["warmup_steps"] or round(train["warmup_ratio"] * total)
    scheduler = schedules[train["schedule"]](optimizer, warmup, total)
    steps = []
    step = 0
    for batches in epochs:
        for batch in batches:
            if step >= total:
                break
            lr = scheduler.get_last_lr()[0]
            loss = batch_loss(model, batch, config)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, train["max_grad_norm"]).item()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            ours = attune.get(step)
            if ours is None:
                raise SystemExit(f"{case_dir}: attune's metrics.jsonl has no train line for step {step}")
            steps.append({"step": step, "loss": loss.item(), "attune_loss": ours["loss"], "lr": lr,
                          "attune_lr": ours["lr"], "grad_norm": norm, "attune_grad_norm": ours.get("grad_norm")})
    if step != max(attune):
        raise SystemExit(f"{case_dir}: transformers ran {step} steps, attune {max(attune)}")
    return steps


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    top = args[0]
    json_out = args[args.index("--json") + 1] if "--json" in args else None
    import transformers
    import peft
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}))
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    cases = sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d, "start")))
    if not cases:
        sys.exit(f"no cases under {top} (unpack finetune_cases.tar.gz there)")
    failures, everything = 0, {}
    for case in cases:
        try:
            steps = run_case(os.path.join(top, case))
        except Exception as e:  # one case's failure is reported, the others still run
            failures += 1
            print(json.dumps({"case": case, "pass": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}))
            continue
        everything[case] = steps
        loss_diff = max(abs(s["loss"] - s["attune_loss"]) for s in steps)
        lr_diff = max(abs(s["lr"] - s["attune_lr"]) for s in steps)
        grad_rel = max(abs(s["grad_norm"] - s["attune_grad_norm"]) / max(1e-12, s["grad_norm"]) for s in steps)
        ok = loss_diff < LOSS_TOL and lr_diff < 1e-12 and grad_rel < GRAD_TOL and all(math.isfinite(s["loss"]) for s in steps)
        failures += not ok
        print(json.dumps({"case": case, "pass": ok, "steps": len(steps), "max_abs_loss_diff": loss_diff,
                          "max_lr_diff": lr_diff, "max_rel_grad_norm_diff": grad_rel,
                          "loss_first_last": [steps[0]["loss"], steps[-1]["loss"]],
                          "attune_first_last": [steps[0]["attune_loss"], steps[-1]["attune_loss"]]}), flush=True)
    if json_out:
        with open(json_out, "w") as f:
            json.dump(everything, f, indent=1)
    print(f"{len(cases) - failures} of {len(cases)} cases agree step for step; {failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
