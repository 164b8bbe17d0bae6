"""SentencePiece parity: attune's SentencePiece tokenizer against the Python sentencepiece library.

Runs where the sentencepiece Python package is installed:
    python3 tools/parity/sentencepiece_parity.py ATTUNE_BUILD_DIR DATA_FILE WORK_DIR
DATA_FILE is plain text (one example per line) or a CSV with a "text" column.

1. Python trains a unigram and a BPE model on the lines; `attune tokenize --tokenizer X.model`
   must give the ids sentencepiece's encode gives, line for line.
2. attune trains its own unigram and BPE tokenizers (as a run does, tokenizer.type
   sentencepiece); Python loads each run's tokenizer/sentencepiece.model and must give the
   ids `attune tokenize --tokenizer RUN` gives.
Prints one PASS/FAIL line per case; exits 1 on any failure. A line whose two segmentations
differ only as an exact tie of the unigram scores (same text, same total score) is
counted and shown but is not a failure: releases of sentencepiece itself break such ties
differently (Debian's 0.1.97 against the Python package's 0.2.x).
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import sentencepiece as spm

build, data, work = sys.argv[1], sys.argv[2], sys.argv[3]
ATTUNE = os.path.join(build, "attune")
HARD_CASES = ["Café naïve résumé", "中文字符和English混合，日本語のテキスト", "  leading and   inner spaces  ",
              "tab\tseparated\u00a0nbsp", "emoji 😀 👍🏽", "e\u0301 combining", "ﬁ ligature ① ²", ""]
failures = 0


def read_lines(path):
    lines = []
    with open(path, newline="", encoding="utf-8") as f:
        if path.endswith(".csv"):
            for row in csv.DictReader(f):
                lines += row["text"].replace("\r", "\n").split("\n")
        else:
            lines = f.read().replace("\r", "\n").split("\n")
    return [line for line in lines if line.strip()]


def attune_ids(tokenizer, lines):
    out = subprocess.run([ATTUNE, "tokenize", "--tokenizer", tokenizer], input="\n".join(lines) + "\n",
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return [json.loads(x) for x in out.stdout.splitlines()]


def is_tie(sp, a, b):
    """Both segmentations spell the same text with the same total piece score: the unigram
    model cannot prefer one, and sentencepiece releases break such ties differently
    (google/sentencepiece#747: the lattice-free 1-best search is not tie-stable)."""
    if sp.decode(a) != sp.decode(b):
        return False
    score_a, score_b = (sum(sp.get_score(i) for i in ids) for ids in (a, b))
    return abs(score_a - score_b) <= 1e-5 * max(1.0, abs(score_a))


def compare(case, model_file, attune_tokenizer, lines):
    global failures
    try:
        ours = attune_ids(attune_tokenizer, lines)
    except RuntimeError as e:
        failures += 1
        print(f"FAIL {case}: {e}")
        return
    sp = spm.SentencePieceProcessor(model_file=model_file)
    theirs = [sp.encode(line) for line in lines]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    ties = [i for i in differ if is_tie(sp, ours[i], theirs[i])]
    wrong = [i for i in differ if i not in ties]
    ok = not wrong and len(ours) == len(theirs)
    failures += 0 if ok else 1
    detail = f"{len(lines)} lines, vocab {sp.get_piece_size()}, {len(differ)} differ"
    if differ:
        detail += f" ({len(ties)} of them equal-score ties broken the other way)"
    if wrong or ties:
        i = (wrong or ties)[0]
        pieces = lambda ids: [sp.id_to_piece(x) for x in ids]  # noqa: E731
        diff_at = next((k for k, (x, y) in enumerate(zip(ours[i], theirs[i])) if x != y), 0)
        window = slice(max(0, diff_at - 3), diff_at + 4)
        detail += (f"; {'first real difference' if wrong else 'e.g.'} {lines[i][:60]!r}: "
                   f"attune {pieces(ours[i][window])} python {pieces(theirs[i][window])}")
    elif len(ours) != len(theirs):
        detail += f"; attune gave {len(ours)} lines"
    print(f"{'PASS' if ok else 'FAIL'} {case}: {detail}", flush=True)


def main():
    global failures
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    print(f"python sentencepiece {spm.__version__}; attune links the system libsentencepiece")
    lines = read_lines(data)
    if not lines:
        sys.exit(f"{data}: no text")
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    test_lines = lines[:2000] + HARD_CASES
    vocab_size = 1000

    for model_type in ("unigram", "bpe"):
        prefix = os.path.join(work, f"python_{model_type}")
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=vocab_size,
                                       model_type=model_type, character_coverage=0.9995, hard_vocab_limit=False,
                                       minloglevel=2)
        compare(f"python-trained {model_type} -> attune", prefix + ".model", prefix + ".model", test_lines)

    train_csv = os.path.join(work, "train.csv")
    with open(train_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i, line in enumerate(lines[:5000]):
            writer.writerow([line, "ab"[i % 2]])
    for model_type in ("unigram", "bpe"):
        run = os.path.join(work, f"attune_{model_type}")
        result = subprocess.run([ATTUNE, "train", "--set", f"run_dir={run}", "--set", "device=cpu",
                                 "--set", f"data.train={train_csv}", "--set", "tokenizer.type=sentencepiece",
                                 "--set", f"tokenizer.model_type={model_type}",
                                 "--set", f"tokenizer.vocab_size={vocab_size}", "--set", "model.preset=tiny",
                                 "--set", "train.max_steps=1", "--set", "train.eval_every=1"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            failures += 1
            print(f"FAIL attune-trained {model_type} -> python: attune train failed: {result.stderr.strip()[-300:]}")
            continue
        compare(f"attune-trained {model_type} -> python", os.path.join(run, "tokenizer", "sentencepiece.model"), run,
                test_lines)

    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
