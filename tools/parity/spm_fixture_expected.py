#!/usr/bin/env python3
"""expected.json of a sentencepiece-only fixture folder (tests/fixtures/{deberta_spm,xlmr_spm,
camembert_spm}): transformers' ids for some corpus lines and pairs, taken from what
tools/parity/spm_folder_reference.py wrote on the GPU machine, for the CPU tests.

    python3 spm_fixture_expected.py CORPUS REFERENCE_DIR FIXTURE_DIR

REFERENCE_DIR: spm_folder_reference.py's OUT/<folder name>. Keeps the first 8 English, 6 German
and the SpamAssassin lines among the next 12 that are at most 600 characters, and the first 5 pairs.
"""
import gzip
import json
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    corpus, ref, fixture = sys.argv[1:]
    with open(corpus, encoding="utf-8", newline="") as f:
        lines = [line[:-1] if line.endswith("\n") else line for line in f]
    ids = [json.loads(line) for line in gzip.open(os.path.join(ref, "ids.jsonl.gz"), "rt")]
    pairs = [json.loads(line) for line in gzip.open(os.path.join(ref, "pairs.jsonl.gz"), "rt")]
    info = json.load(open(os.path.join(ref, "info.json")))
    assert len(ids) == len(lines) == info["lines"], (len(ids), len(lines))
    picks = list(range(0, 8)) + list(range(25000, 25006)) + list(range(50000, 50012))
    out = {"source": f"AutoTokenizer.from_pretrained(FOLDER) in transformers {info['transformers']} "
                     f"(tokenizers {info['tokenizers']}): tools/parity/spm_folder_reference.py on "
                     "tools/data/make_tokcorpus.sh's corpus",
           "class": info["class"], "vocab_size": info["vocab_size"],
           "singles": [{"text": lines[i], "ids": ids[i]} for i in picks if len(lines[i]) <= 600],
           "pairs": [{"text": lines[i], "pair": lines[i + 1], "ids": pairs[i]} for i in range(5)]}
    with open(os.path.join(fixture, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print(f"wrote {fixture}/expected.json: {len(out['singles'])} texts, {len(out['pairs'])} pairs")


if __name__ == "__main__":
    main()
