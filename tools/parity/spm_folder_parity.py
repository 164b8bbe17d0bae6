#!/usr/bin/env python3
"""attune's reading of sentencepiece-only model folders against transformers', on the CPU
machine, from what tools/parity/spm_folder_reference.py wrote on the GPU machine.

    python3 spm_folder_parity.py REFERENCE_DIR ATTUNE_IDS

REFERENCE_DIR: spm_folder_reference.py's OUT/<folder name> (ids.jsonl.gz, info.json);
ATTUNE_IDS: the ids attune gives the same corpus, one JSON list per line (plain or .gz):
    build/attune tokenize --tokenizer hf:FOLDER --special --max-length 1000000 --input CORPUS
Prints one line, PASS or FAIL with the count of lines that differ and the first few, and
exits 1 on FAIL.
"""
import gzip
import json
import os
import sys


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ref_dir, attune_path = sys.argv[1:]
    name = os.path.basename(os.path.normpath(ref_dir))
    info = json.load(open(os.path.join(ref_dir, "info.json")))
    expected = read_jsonl(os.path.join(ref_dir, "ids.jsonl.gz"))
    got = read_jsonl(attune_path)
    if len(expected) != len(got):
        print(f"FAIL {name}: {len(got)} lines from attune, {len(expected)} from transformers")
        sys.exit(1)
    differ = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    first = ""
    if differ:
        i = differ[0]
        at = next((k for k, (a, b) in enumerate(zip(expected[i], got[i])) if a != b), min(len(expected[i]), len(got[i])))
        first = (f" (first: line {i + 1}, position {at}: transformers {expected[i][max(0, at - 2):at + 3]}"
                 f" attune {got[i][max(0, at - 2):at + 3]})")
    status = "PASS" if not differ else "FAIL"
    print(f"{status} {name}: {info['class']} (transformers {info['transformers']}, tokenizers {info['tokenizers']}), "
          f"{len(expected)} lines, {len(differ)} differ{first}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
