#!/usr/bin/env python3
"""The peer of `attune bench` (tasks/classification/speed.h): Hugging Face Transformers'
BertForSequenceClassification (SDPA attention) with PEFT's LoRA, timed the way attune
times itself, on the same shapes and synthetic data: full-length batches of uniform
token ids (8 distinct batches on the host, copied to the GPU each step, as attune's
loop copies its batches), bf16 autocast, AdamW(fused=True) with no decay on biases and
LayerNorm weights (the Trainer's grouping), gradient clipping at 1.0, a linear
schedule stepped every step, zero_grad(set_to_none=True). Inference: eval mode,
no_grad, bf16 autocast; throughput at --batch-size and latency at batch 1 (each call
waited for). Prints one JSON record with attune bench's keys.

Under torchrun (WORLD_SIZE set) the train steps are PyTorch DDP's (NCCL, one GPU per
rank, 25 MB buckets, batch_size per rank), as `attune bench` under torchrun; with
WORLD_SIZE=1 the model is wrapped all the same when ATTUNE_GROUP_OF_ONE=1, so that the
reducer's cost at world size 1 compares with attune's. Rank 0 prints the record.

With --compile the model is wrapped in torch.compile(model) (default mode) and warmed up
for at least 15 steps, so that compilation and recompilation stay out of the timing; the
record's system is then "hf-compile". --trace FILE records --steps more steps (infer:
batches) after timing with torch.profiler as a Chrome trace, as `attune bench --trace`.

usage: hf_speed_peer.py --mode train|infer [--method full|lora] [--seq-len 128] [--batch-size 32]
                        [--warmup 10] [--steps 20] [--repeats 5] [--latency-runs 100] [--preset base]
                        [--compile] [--trace FILE]
"""
import argparse
import json
import os
import time

import torch
import transformers
from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup

PRESETS = {"tiny": (2, 128, 2), "mini": (4, 256, 4), "small": (4, 512, 8), "medium": (8, 512, 8),
           "base": (12, 768, 12), "large": (24, 1024, 16)}  # layers, hidden, heads (models/bert/presets.cpp)
DISTINCT_BATCHES = 8


def summary(ms):
    ms = sorted(ms)
    return {"median": ms[len(ms) // 2], "min": ms[0], "max": ms[-1], "runs": ms}


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_repeats(args, device, run):
    i = 0
    for _ in range(args.warmup):
        run(i)
        i += 1
    synchronize(device)
    per_step = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            run(i)
            i += 1
        synchronize(device)
        per_step.append(1000 * (time.perf_counter() - start) / args.steps)
    return summary(per_step)


def trace_steps(args, device, run):
    if not args.trace:
        return
    synchronize(device)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for i in range(args.steps):
            run(i)
        synchronize(device)
    prof.export_chrome_trace(args.trace)


def add_rates(record, timing, args):
    ms = timing["median"]
    record["samples_per_s"] = 1000 * args.batch_size / ms
    record["tokens_per_s"] = 1000 * args.batch_size * args.seq_len / ms


def add_memory(record, device):
    if device.type == "cuda":
        record["peak_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
        record["peak_reserved_mib"] = torch.cuda.max_memory_reserved(device) / 2**20


def host_batches(args, generator, batch_size):
    batches = []
    for _ in range(DISTINCT_BATCHES):
        ids = torch.randint(1, args.vocab_size, (batch_size, args.seq_len), generator=generator)
        labels = torch.randint(0, args.labels, (batch_size,), generator=generator)
        batches.append((ids, torch.ones_like(ids), torch.zeros_like(ids), labels))
    return batches


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--method", choices=["full", "lora"], default="full")
    p.add_argument("--preset", choices=sorted(PRESETS), default="base")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--latency-runs", type=int, default=100)
    p.add_argument("--vocab-size", type=int, default=30522)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--device", default="cuda")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--trace", default="")
    args = p.parse_args()
    if args.compile:
        args.warmup = max(args.warmup, 15)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    data_parallel = world > 1 or (world == 1 and "WORLD_SIZE" in os.environ and os.environ.get("ATTUNE_GROUP_OF_ONE") == "1")
    device = torch.device(args.device)
    if data_parallel:
        if args.mode != "train":
            raise SystemExit("--mode: only train steps are data-parallel; run infer alone")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo", device_id=device
                                             if device.type == "cuda" else None)
    torch.manual_seed(42)
    layers, hidden, heads = PRESETS[args.preset]
    config = BertConfig(vocab_size=args.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=512,
                        num_labels=args.labels, attn_implementation="sdpa")
    model = BertForSequenceClassification(config)
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=8, lora_dropout=0.0,
                                                 target_modules=["query", "value"]))
    model.to(device)
    if args.compile:
        model = torch.compile(model)
    if data_parallel:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, bucket_cap_mb=25)
    bf16 = device.type == "cuda"
    record = {"system": "hf-compile" if args.compile else "hf", "mode": args.mode, "method": args.method, "device": str(device),
              "torch_version": torch.__version__, "transformers_version": transformers.__version__,
              "bf16": bf16, "seq_len": args.seq_len, "batch_size": args.batch_size, "vocab_size": args.vocab_size,
              "model": {"name": "bert", "preset": args.preset, "num_layers": layers, "hidden_size": hidden,
                        "num_heads": heads, "intermediate_size": 4 * hidden},
              "parameters": sum(t.numel() for t in model.parameters()),
              "trainable_parameters": sum(t.numel() for t in model.parameters() if t.requires_grad),
              "steps": args.steps, "repeats": args.repeats, "warmup": args.warmup, "masked": False,
              "attn_implementation": (model.module if data_parallel else model).config._attn_implementation,
              "world_size": world if data_parallel else 1}
    generator = torch.Generator().manual_seed(1)
    if args.mode == "train":
        if args.method == "lora":
            import peft
            record["peft_version"] = peft.__version__
        model.train()
        named = [(n, t) for n, t in model.named_parameters() if t.requires_grad]
        groups = [{"params": [t for n, t in named if t.dim() >= 2], "weight_decay": args.weight_decay},
                  {"params": [t for n, t in named if t.dim() < 2], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=args.lr, fused=True)
        total = args.warmup + args.steps * args.repeats
        schedule = get_linear_schedule_with_warmup(optimizer, total // 10, total)
        params = [t for _, t in named]
        batches = host_batches(args, generator, args.batch_size)
        torch.cuda.reset_peak_memory_stats(device) if device.type == "cuda" else None

        last = {}

        def step(i):
            ids, mask, types, labels = (t.to(device) for t in batches[i % DISTINCT_BATCHES])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            last["loss"] = loss.detach()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)

        record["step_ms"] = time_repeats(args, device, step)
        trace_steps(args, device, step)
        record["final_loss"] = last["loss"].item()
        add_rates(record, record["step_ms"], args)  # per rank, so per GPU
        if world > 1:
            record["global_tokens_per_s"] = record["tokens_per_s"] * world
        add_memory(record, device)
    else:
        model.eval()
        torch.cuda.reset_peak_memory_stats(device) if device.type == "cuda" else None
        big = [tuple(t.to(device) for t in b[:3]) for b in host_batches(args, generator, args.batch_size)]
        one = tuple(t.to(device) for t in host_batches(args, generator, 1)[0][:3])

        def forward(batch):
            ids, mask, types = batch
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                return model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits

        eager = {"batch_ms": time_repeats(args, device, lambda i: forward(big[i % DISTINCT_BATCHES]))}
        trace_steps(args, device, lambda i: forward(big[i % DISTINCT_BATCHES]))
        add_rates(eager, eager["batch_ms"], args)
        for _ in range(args.warmup):
            forward(one)
        synchronize(device)
        ms = []
        for _ in range(args.latency_runs):
            start = time.perf_counter()
            forward(one).cpu()
            ms.append(1000 * (time.perf_counter() - start))
        latency = summary(ms)
        latency["p90"] = sorted(ms)[int(0.9 * (len(ms) - 1))]
        del latency["runs"]
        eager["latency_ms"] = latency
        add_memory(eager, device)
        record["eager"] = eager
    if data_parallel:
        torch.distributed.destroy_process_group()
        if int(os.environ.get("RANK", "0")) != 0:
            return
    print(json.dumps(record))


if __name__ == "__main__":
    main()
