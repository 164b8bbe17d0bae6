#!/usr/bin/env python3
"""ONNX Runtime as the CPU inference peer of `attune bench --mode infer --device cpu`.

The same BERT classifier shape as tools/bench/hf_speed_peer.py (a preset of
models/bert/presets.cpp, random weights, BertForSequenceClassification), exported to ONNX
with torch.onnx.export (dynamic batch and length), then run by ONNX Runtime's CPU
provider in float32 and as ONNX Runtime's own int8 dynamic quantization
(onnxruntime.quantization.quantize_dynamic, int8 weights): the two counterparts of
attune's TorchScript bundle and `attune export --int8` bundle. Timed as attune times
itself: throughput at --batch-size over 8 distinct full-length batches, latency of
single-example calls, and a stream of 16 batches each of a new length (what predict and
serve send). Prints one JSON record with attune bench's keys under "ort" and "ort_int8".

usage: onnx_peer.py --preset mini|base [--threads N] [--seq-len 128] [--batch-size 32]
                    [--warmup 3] [--steps 5] [--repeats 5] [--latency-runs 50] [--work DIR]
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import BertConfig, BertForSequenceClassification

from hf_speed_peer import PRESETS, summary

DISTINCT_BATCHES = 8
STREAM_BATCHES = 16  # as kStreamBatches in tasks/classification/speed.cpp


def batch(rng, args, batch_size, length):
    ids = rng.integers(1, args.vocab_size, size=(batch_size, length), dtype=np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


def time_session(session, args, rng):
    big = [batch(rng, args, args.batch_size, args.seq_len) for _ in range(DISTINCT_BATCHES)]
    run = lambda feed: session.run(["logits"], feed)[0]
    for i in range(args.warmup):
        run(big[i % DISTINCT_BATCHES])
    per_batch = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for s in range(args.steps):
            run(big[s % DISTINCT_BATCHES])
        per_batch.append(1000 * (time.perf_counter() - start) / args.steps)
    r = {"batch_ms": summary(per_batch)}
    ms = r["batch_ms"]["median"]
    r["samples_per_s"] = 1000 * args.batch_size / ms
    r["tokens_per_s"] = 1000 * args.batch_size * args.seq_len / ms
    one = batch(rng, args, 1, args.seq_len)
    for _ in range(args.warmup):
        run(one)
    lat = []
    for _ in range(args.latency_runs):
        start = time.perf_counter()
        run(one)
        lat.append(1000 * (time.perf_counter() - start))
    latency = summary(lat)
    latency["p90"] = sorted(lat)[int(0.9 * (len(lat) - 1))]
    del latency["runs"]
    r["latency_ms"] = latency
    # The same lengths as attune's stream: seq_len, then shorter by seq_len / 32 each batch.
    lengths = max(1, min(STREAM_BATCHES, args.seq_len))
    step = max(1, args.seq_len // (2 * lengths))
    stream = [batch(rng, args, args.batch_size, args.seq_len - (i % lengths) * step) for i in range(STREAM_BATCHES)]
    start = time.perf_counter()
    for feed in stream:
        run(feed)
    r["stream_ms"] = 1000 * (time.perf_counter() - start)
    r["stream_batches"] = STREAM_BATCHES
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", choices=sorted(PRESETS), default="mini")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 = one per core")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--latency-runs", type=int, default=50)
    p.add_argument("--vocab-size", type=int, default=30522)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--work", default="")
    args = p.parse_args()
    threads = args.threads or os.cpu_count()
    torch.manual_seed(42)
    layers, hidden, heads = PRESETS[args.preset]
    config = BertConfig(vocab_size=args.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=512,
                        num_labels=args.labels, attn_implementation="eager")
    model = BertForSequenceClassification(config).eval()
    work = args.work or tempfile.mkdtemp(prefix="attune-onnx-")
    fp32_path, int8_path = os.path.join(work, "model.onnx"), os.path.join(work, "model-int8.onnx")
    example = batch(np.random.default_rng(0), args, 2, 16)
    with torch.no_grad():
        torch.onnx.export(model, tuple(torch.from_numpy(example[k]) for k in ("input_ids", "attention_mask", "token_type_ids")),
                          fp32_path, input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={k: {0: "batch", 1: "length"} for k in ("input_ids", "attention_mask", "token_type_ids")})
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)
    # The exported graph against the model it came from, so a broken export fails here.
    with torch.no_grad():
        expected = model(**{k: torch.from_numpy(v) for k, v in example.items()}).logits.numpy()
    record = {"system": "onnxruntime", "mode": "infer", "device": "cpu", "ort_version": ort.__version__,
              "torch_version": torch.__version__, "threads": threads, "seq_len": args.seq_len,
              "batch_size": args.batch_size, "model": {"name": "bert", "preset": args.preset, "num_layers": layers,
                                                        "hidden_size": hidden, "num_heads": heads}}
    for key, path in (("ort", fp32_path), ("ort_int8", int8_path)):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        got = session.run(["logits"], example)[0]
        record[key] = time_session(session, args, np.random.default_rng(1))
        record[key]["max_abs_diff_vs_torch"] = float(np.abs(got - expected).max())
        record[key]["model_bytes"] = os.path.getsize(path)
    if record["ort"]["max_abs_diff_vs_torch"] > 1e-3:
        raise SystemExit(f"onnx export differs from the model: {record['ort']['max_abs_diff_vs_torch']}")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
