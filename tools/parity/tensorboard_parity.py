"""TensorBoard parity: attune's event files read by TensorBoard itself.

Runs where the `tensorboard` package is installed (the GPU machine):
    python3 tools/parity/tensorboard_parity.py RUN_DIR [RUN_DIR ...]

For each run directory:
1. TensorBoard's EventAccumulator loads the directory (its reader checks every record's
   CRC32C). Every number of every metrics.jsonl line (nested keys joined with '/',
   tagged "<split>/<key>") must be a scalar with that line's step and the same float32
   value, and TensorBoard must hold no scalar that metrics.jsonl does not.
2. Every record's payload re-serialized by TensorBoard's own Event protobuf class is the
   same bytes (attune writes canonical protobuf), and the masked CRC32Cs match
   TensorBoard's implementation.
Prints a line per run and exits 1 on any mismatch.
"""
import json
import os
import struct
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

EVENTS = "events.out.tfevents.attune"


def numbers(value, tag, out):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        out[tag] = float(np.float32(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            numbers(v, tag + "/" + k, out)


def expected_scalars(run_dir):
    want = {}  # (tag, step) -> value
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for text in f:
            line = json.loads(text)
            found = {}
            for k, v in line.items():
                if k not in ("step", "split"):
                    numbers(v, line["split"] + "/" + k, found)
            for tag, v in found.items():
                want[(tag, line["step"])] = v
    return want


def check_records(path):
    problems = []
    data = open(path, "rb").read()
    at = 0
    count = 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        payload = data[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        if length_crc != masked_crc32c(header) or data_crc != masked_crc32c(payload):
            problems.append(f"record at byte {at}: checksum differs from TensorBoard's")
        event = event_pb2.Event.FromString(payload)
        if event.SerializeToString() != payload:
            problems.append(f"record at byte {at}: not the bytes TensorBoard's protobuf writes")
        at += 16 + length
        count += 1
    return count, problems


def main():
    failed = False
    for run_dir in sys.argv[1:]:
        acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
        acc.Reload()
        got = {}
        for tag in acc.Tags()["scalars"]:
            for e in acc.Scalars(tag):
                got[(tag, e.step)] = float(np.float32(e.value))
        want = expected_scalars(run_dir)
        missing = [k for k in want if k not in got]
        extra = [k for k in got if k not in want]
        wrong = [k for k in want if k in got and not (got[k] == want[k] or (np.isnan(got[k]) and np.isnan(want[k])))]
        records, problems = check_records(os.path.join(run_dir, EVENTS))
        ok = not (missing or extra or wrong or problems)
        failed |= not ok
        tags = sorted({t for t, _ in want})
        print(f"{run_dir}: {records} records, {len(want)} scalars in {len(tags)} tags "
              f"({', '.join(tags[:8])}{', ...' if len(tags) > 8 else ''}): "
              f"{'same as metrics.jsonl' if ok else 'MISMATCH'}")
        for name, items in (("missing", missing), ("extra", extra), ("wrong", wrong)):
            if items:
                print(f"  {name}: {items[:5]}")
        for p in problems[:5]:
            print("  " + p)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
