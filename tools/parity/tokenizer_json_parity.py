#!/usr/bin/env python3
"""Parity of attune's native tokenizer.json reader with Hugging Face `tokenizers`.

Usage:
    python3 tools/parity/tokenizer_json_parity.py ATTUNE_DUMP CORPUS_FILE OUT_DIR

ATTUNE_DUMP is build/attune_tokenizer_json_dump (or any command line, split with shlex,
that takes TOKENIZER_JSON LINES and prints one JSON object per line with "ids",
"offsets" and "decoded"). CORPUS_FILE is real text, one example per line.

Trains tokenizers with the `tokenizers` library on the corpus in the configurations of
BERT, RoBERTa, an XLM-R/DeBERTa-v3-like Unigram (and, when `sentencepiece` and
`transformers` are importable, XLM-R's converted tokenizer with its Precompiled
normalizer), ModernBERT and a ByteLevel+Template sequence; saves each tokenizer.json
under OUT_DIR; runs attune on every line; and compares ids, offsets and decoded text.

Offsets: attune reports UTF-8 byte offsets; the Python library reports character
offsets for str input, so they are converted to byte offsets here before comparing.
Prints one line per configuration, "PASS|FAIL name: N lines, K differ (first
difference: ...)", and exits 1 when any configuration fails. Needs no network.
"""
import json
import os
import shlex
import subprocess
import sys

VOCAB_SIZE = 8000


def read_lines(path):
    # "\n" only, as attune's getline splits: str.splitlines would also split on \x0b, \u2028...
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def bert(lines):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(lines, trainers.WordPieceTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def byte_level_bpe(lines, specials):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(lines, trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def roberta(lines):
    from tokenizers import processors
    tok = byte_level_bpe(lines, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False)
    return tok


def modernbert(lines):
    from tokenizers import processors
    tok = byte_level_bpe(lines, ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def byte_level_sequence(lines):
    from tokenizers import processors
    tok = byte_level_bpe(lines, ["<|endoftext|>"])
    eot = tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True),
        processors.TemplateProcessing(single="$A <|endoftext|>", special_tokens=[("<|endoftext|>", eot)])])
    return tok


def unigram_metaspace(lines):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.train_from_iterator(lines, trainers.UnigramTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], unk_token="[UNK]"))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def xlmr_precompiled(lines, corpus, out_dir):
    # XLM-R's own route: a sentencepiece model converted by transformers, whose
    # normalizer carries sentencepiece's precompiled NFKC charsmap.
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer
    from transformers.convert_slow_tokenizer import convert_slow_tokenizer
    prefix = os.path.join(out_dir, "xlmr_spm")
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=VOCAB_SIZE, model_type="unigram",
                                   character_coverage=0.9995, input_sentence_size=200000, shuffle_input_sentence=True,
                                   minloglevel=2)
    return convert_slow_tokenizer(XLMRobertaTokenizer(vocab_file=prefix + ".model"))


def byte_offsets(line, char_offsets):
    starts = [0]
    for ch in line:
        starts.append(starts[-1] + len(ch.encode("utf-8")))
    return [[starts[s], starts[e]] for s, e in char_offsets]


def compare(name, tok, lines, lines_path, dump, out_dir):
    path = os.path.join(out_dir, name + ".tokenizer.json")
    tok.save(path)
    run = subprocess.run(shlex.split(dump) + [path, lines_path], capture_output=True)
    if run.returncode != 0:
        return False, "FAIL %s: attune exited %d: %s" % (name, run.returncode, run.stderr.decode(errors="replace").strip())
    got = [json.loads(l) for l in run.stdout.decode("utf-8").split("\n") if l]
    if len(got) != len(lines):
        return False, "FAIL %s: attune printed %d lines for %d inputs" % (name, len(got), len(lines))
    differ, decode_differ, first = 0, 0, None
    for i, (line, mine) in enumerate(zip(lines, got)):
        enc = tok.encode(line)
        ids, offsets = list(enc.ids), byte_offsets(line, enc.offsets)
        decoded = tok.decode(ids)
        what = None
        if mine["ids"] != ids:
            what = "ids %s vs tokenizers %s" % (mine["ids"][:40], ids[:40])
        elif mine["offsets"] != offsets:
            k = next(j for j, (a, b) in enumerate(zip(mine["offsets"], offsets)) if a != b)
            what = "offset of token %d (%s): %s vs tokenizers %s" % (k, enc.tokens[k], mine["offsets"][k], offsets[k])
        elif mine["decoded"] != decoded:
            decode_differ += 1
            what = "decode %r vs tokenizers %r" % (mine["decoded"][:120], decoded[:120])
        if what:
            differ += 1
            if first is None:
                first = "line %d %r: %s" % (i + 1, line[:80], what)
    status = "PASS" if differ == 0 else "FAIL"
    msg = "%s %s: %d lines, %d differ (%d in decode only)" % (status, name, len(lines), differ, decode_differ)
    if first:
        msg += " (first difference: %s)" % first
    return differ == 0, msg


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    dump, corpus, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    lines = read_lines(corpus)
    lines_path = os.path.join(out_dir, "lines.txt")
    with open(lines_path, "wb") as f:
        f.write("".join(l + "\n" for l in lines).encode("utf-8"))
    configs = [("bert-wordpiece", lambda: bert(lines)), ("roberta-bytelevel-bpe", lambda: roberta(lines)),
               ("unigram-metaspace", lambda: unigram_metaspace(lines)), ("modernbert-bytelevel-bpe", lambda: modernbert(lines)),
               ("bytelevel-sequence-processor", lambda: byte_level_sequence(lines)),
               ("xlmr-precompiled-unigram", lambda: xlmr_precompiled(lines, lines_path, out_dir))]
    ok = True
    for name, build in configs:
        try:
            tok = build()
        except ImportError as e:
            print("SKIP %s: %s" % (name, e))
            continue
        passed, msg = compare(name, tok, lines, lines_path, dump, out_dir)
        print(msg, flush=True)
        ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
