#!/usr/bin/env python3
"""Model folders that ship only sentencepiece.bpe.model, as FacebookAI/xlm-roberta-* and
almanach/camembert-* do: a SentencePiece unigram model with fairseq's special pieces
(<unk> 0, <s> 1, </s> 2, no pad), config.json with the model_type and the tokenizer's
tokenizer_config.json, for attune's reading of them (tests/fixtures/xlmr_spm,
tests/fixtures/camembert_spm).

    python3 make_fairseq_spm_fixtures.py CORPUS OUT_DIR [PIECES]

writes OUT_DIR/xlmr_spm and OUT_DIR/camembert_spm, and OUT_DIR/spm_bpe/bpe.model (a 60-piece
BPE model on the first 2000 lines, which transformers' XLM-R and CamemBERT classes do not read:
the refusal's test). CORPUS: one sentence per line
(tools/data/make_tokcorpus.sh's tokcorpus.txt); lines 4000-7999 train the model. Needs
only the sentencepiece package (Debian's python3-sentencepiece). The committed fixtures came from
    /usr/bin/python3 tools/parity/make_fairseq_spm_fixtures.py ~/.cache/attune/tokcorpus/tokcorpus.txt tests/fixtures
"""
import io
import json
import os
import sys

import sentencepiece as spm

FOLDERS = {
    "xlmr_spm": ("xlm-roberta", "XLMRobertaTokenizer", {}),
    "camembert_spm": ("camembert", "CamembertTokenizer",
                      {"additional_special_tokens": ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"]}),
}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    corpus, out = sys.argv[1], sys.argv[2]
    pieces = int(sys.argv[3]) if len(sys.argv) == 4 else 500
    with open(corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for i, line in enumerate(f) if 4000 <= i < 8000 and line.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=pieces, model_type="unigram",
        character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    for name, (model_type, tokenizer_class, extra) in FOLDERS.items():
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "sentencepiece.bpe.model"), "wb") as f:
            f.write(model.getvalue())
        config = {"tokenizer_class": tokenizer_class, "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                  "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
                  "model_max_length": 512, **extra}
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump({"model_type": model_type}, f, indent=2)
            f.write("\n")
        print(f"wrote {folder} ({pieces} pieces, {len(model.getvalue())} bytes)")
    with open(corpus, encoding="utf-8") as f:
        first = [line.rstrip("\n") for i, line in enumerate(f) if i < 2000]
    bpe = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(first), model_writer=bpe, vocab_size=60, model_type="bpe",
        normalization_rule_name="identity", character_coverage=0.98, minloglevel=2)
    os.makedirs(os.path.join(out, "spm_bpe"), exist_ok=True)
    with open(os.path.join(out, "spm_bpe", "bpe.model"), "wb") as f:
        f.write(bpe.getvalue())


if __name__ == "__main__":
    main()
