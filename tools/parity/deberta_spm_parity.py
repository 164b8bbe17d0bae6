#!/usr/bin/env python3
"""attune's reading of DeBERTa-v3 folders that ship only spm.model, against transformers.

    python3 deberta_spm_parity.py FOLDER CORPUS ATTUNE_IDS

FOLDER: spm.model + tokenizer_config.json (tests/fixtures/deberta_spm, made by
make_deberta_spm_fixture.py); CORPUS: one text per line (.data/tokcorpus.txt);
ATTUNE_IDS: what the CPU machine's attune printed for it (gzip or plain JSONL), made by
    build/attune tokenize --tokenizer hf:FOLDER --special --max-length 1000000 --input CORPUS
Compares, line by line, attune's ids with AutoTokenizer.from_pretrained(FOLDER) (the
tokenizer transformers builds from spm.model) and with sentencepiece itself ([CLS] ids
[SEP]); prints one JSON line per comparison with the number of lines that differ and the
first few, and exits 1 when attune differs from transformers on any line.
"""
import gzip
import json
import os
import sys

import sentencepiece as spm
from transformers import AutoTokenizer


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    folder, corpus, attune_path = sys.argv[1:]
    with open(corpus, encoding="utf-8", newline="") as f:
        lines = [line[:-1] if line.endswith("\n") else line for line in f]
    opener = gzip.open if attune_path.endswith(".gz") else open
    with opener(attune_path, "rt") as f:
        attune = [json.loads(line) for line in f]
    if len(attune) != len(lines):
        sys.exit(f"{attune_path} has {len(attune)} lines, {corpus} has {len(lines)}")
    import transformers
    hf = AutoTokenizer.from_pretrained(folder)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "spm.model"))
    print(json.dumps({"transformers": transformers.__version__, "tokenizer": type(hf).__name__,
                      "sentencepiece": spm.__version__, "lines": len(lines)}))
    hf_ids = hf(lines, add_special_tokens=True)["input_ids"]
    sp_ids = [[hf.cls_token_id] + ids + [hf.sep_token_id] for ids in sp.encode(lines)]
    failed = False
    for name, reference in (("transformers", hf_ids), ("sentencepiece", sp_ids)):
        differ = [i for i, (a, b) in enumerate(zip(attune, reference)) if a != b]
        examples = [{"line": i + 1, "text": lines[i][:80], "attune": attune[i][:12], name: reference[i][:12]}
                    for i in differ[:3]]
        print(json.dumps({"attune vs": name, "lines": len(lines), "differ": len(differ), "examples": examples},
                         ensure_ascii=False))
        failed |= name == "transformers" and bool(differ)
    between = sum(a != b for a, b in zip(hf_ids, sp_ids))
    print(json.dumps({"transformers vs sentencepiece": between}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
