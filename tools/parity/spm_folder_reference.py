#!/usr/bin/env python3
"""What transformers makes of model folders that ship only a SentencePiece model
(DeBERTa's spm.model, XLM-R's and CamemBERT's sentencepiece.bpe.model), for attune to be
checked against on the CPU machine, where transformers is not installed.

    python3 spm_folder_reference.py CORPUS OUT FOLDER...

For each FOLDER it writes OUT/<folder name>/:
  tokenizer/      AutoTokenizer.from_pretrained(FOLDER).save_pretrained(...): the
                  tokenizer.json (and tokenizer_config.json) transformers builds from the model
  ids.jsonl.gz    input_ids of every CORPUS line, add_special_tokens=True
  pairs.jsonl.gz  input_ids of (line i, line i + 1) for the first 500 lines
  info.json       the tokenizer class, transformers' and tokenizers' versions
and OUT/sources/: the transformers source files that decide how such folders are read.
"""
import gzip
import inspect
import json
import os
import shutil
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    corpus, out = sys.argv[1], sys.argv[2]
    with open(corpus, encoding="utf-8", newline="") as f:
        lines = [line[:-1] if line.endswith("\n") else line for line in f]
    for folder in sys.argv[3:]:
        name = os.path.basename(os.path.normpath(folder))
        dest = os.path.join(out, name)
        os.makedirs(dest, exist_ok=True)
        tok = AutoTokenizer.from_pretrained(folder)
        tok.save_pretrained(os.path.join(dest, "tokenizer"))
        with gzip.open(os.path.join(dest, "ids.jsonl.gz"), "wt") as f:
            for ids in tok(lines, add_special_tokens=True)["input_ids"]:
                f.write(json.dumps(ids) + "\n")
        with gzip.open(os.path.join(dest, "pairs.jsonl.gz"), "wt") as f:
            firsts, seconds = lines[:500], lines[1:501]
            for ids in tok(firsts, seconds, add_special_tokens=True)["input_ids"]:
                f.write(json.dumps(ids) + "\n")
        info = {"class": type(tok).__name__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__, "lines": len(lines), "vocab_size": len(tok)}
        with open(os.path.join(dest, "info.json"), "w") as f:
            json.dump(info, f)
        print(name, json.dumps(info))
    sources = os.path.join(out, "sources")
    os.makedirs(sources, exist_ok=True)
    root = os.path.dirname(transformers.__file__)
    for rel in ["convert_slow_tokenizer.py", "tokenization_utils_tokenizers.py",
                "models/xlm_roberta/tokenization_xlm_roberta.py", "models/camembert/tokenization_camembert.py",
                "models/deberta_v2/tokenization_deberta_v2.py"]:
        path = os.path.join(root, rel)
        if os.path.exists(path):
            shutil.copy(path, os.path.join(sources, rel.replace("/", "__")))


if __name__ == "__main__":
    main()
