#!/usr/bin/env python3
"""A DeBERTa-v3-style tokenizer folder that ships only spm.model (no tokenizer.json), as
microsoft/deberta-v3-* do: a SentencePiece unigram model with DeBERTa's special pieces
([PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3) and DebertaV2Tokenizer's tokenizer_config.json.

    python3 make_deberta_spm_fixture.py CORPUS OUT_DIR [PIECES]

Its expected.json (transformers' ids for some corpus lines) comes from the GPU machine:
tools/parity/spm_folder_reference.py there, then tools/parity/spm_fixture_expected.py here.
CORPUS: a text file, one sentence per line (tools/data/make_tokcorpus.sh's tokcorpus.txt: English and
German sentences and SpamAssassin mails); the first 4000 lines train the model. Needs only
the sentencepiece package (Debian's python3-sentencepiece or pip's). The committed
fixture tests/fixtures/deberta_spm came from
    /usr/bin/python3 tools/parity/make_deberta_spm_fixture.py .data/tokcorpus.txt tests/fixtures/deberta_spm
(the corpus file of the time; tools/data/make_tokcorpus.sh builds one now).
"""
import io
import json
import os
import sys

import sentencepiece as spm


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    corpus, out = sys.argv[1], sys.argv[2]
    pieces = int(sys.argv[3]) if len(sys.argv) == 4 else 400
    with open(corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for _, line in zip(range(4000), f) if line.strip()]
    os.makedirs(out, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=pieces, model_type="unigram",
        character_coverage=0.9995, pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2,
        eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]", minloglevel=2)
    with open(os.path.join(out, "spm.model"), "wb") as f:
        f.write(model.getvalue())
    config = {"tokenizer_class": "DebertaV2Tokenizer", "do_lower_case": False, "split_by_punct": False,
              "vocab_type": "spm", "bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "[UNK]",
              "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
              "model_max_length": 512}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"wrote {out}/spm.model ({pieces} pieces, {len(model.getvalue())} bytes) and tokenizer_config.json")


if __name__ == "__main__":
    main()
