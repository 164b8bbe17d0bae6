"""One benchmark row from a finished attune run: test metrics, trainable and total
parameters, the size of what the run saves, throughput and peak GPU memory.
Usage: peft_record.py DATASET METHOD RUN_DIR PEAK_GPU_MIB  (prints one JSON line)
valid_macro_f1 is there to pick a learning rate by, never the test numbers."""
import json
import os
import re
import statistics
import sys

dataset, method, run, peak = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
results = json.load(open(os.path.join(run, "results.json")))
log = open(run + ".log").read()
m = re.search(r"trainable params: ([\d,]+) \|\| all params: ([\d,]+)", log)
total = int(re.search(r"model: (\d+) parameters", log).group(1))
trainable = int(m.group(1).replace(",", "")) if m else total
saved = "adapter_model.safetensors" if os.path.exists(os.path.join(run, "adapter_model.safetensors")) else "model.safetensors"
train_lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if '"train"' in l]
rates = [l["items_per_s"] for l in train_lines[1:]] or [l["items_per_s"] for l in train_lines]
config = json.load(open(os.path.join(run, "config.json")))
batch = config["train"]["batch_size"]
rate = statistics.median(rates)
print(json.dumps({
    "dataset": dataset, "method": method,
    "lr": config["train"]["lr"], "seed": config.get("seed", 42),
    "accuracy": results["test"]["accuracy"], "macro_f1": results["test"]["macro_f1"],
    "valid_macro_f1": results["valid"]["macro_f1"],
    "trainable": trainable, "total": total,
    "saved_file": saved, "saved_bytes": os.path.getsize(os.path.join(run, saved)),
    "examples_per_s": rate, "step_ms": 1000.0 * batch / rate,
    "peak_gpu_mib": peak, "train_s": train_lines[-1]["elapsed_s"] if train_lines else None,
}))
