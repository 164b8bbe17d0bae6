"""WordPiece parity: attune's tokenizer against Hugging Face's BertTokenizer.

Runs on the GPU machine (transformers is installed there, not on the CPU machine):
    python3 tools/parity/wordpiece_parity.py ATTUNE_BINARY TOKENIZER_DIR CSV [CSV ...]
TOKENIZER_DIR is a tokenizer saved by attune (vocab.txt + tokenizer.json), e.g. the
main job's runs/spam_assassin/tokenizer. Every non-blank line of the CSVs' "text"
column, plus hand-picked hard cases, is encoded by both; the script prints the
number of lines compared and every mismatch, and exits 1 if there is any.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import transformers
from transformers import BertTokenizer

HARD_CASES = [
    "Café naïve résumé façade coöperate",
    "ÅNGSTRÖM İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ straße",
    "中文字符和English混合，还有標點。日本語のテキスト",
    "control\x01chars\x7fhere and\x0bvertical\x0cfeed",
    "a" * 150 + " short",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "emoji 😀 test 👍🏽 flags 🇩🇪",
    "tab\tseparated\u00a0nbsp\u3000ideographic\u2003em space",
    "ﬁ ligature ﬀ Ⅻ ① ²³ ½",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "hyphen‑minus – dash — quote “x” ‘y’ «z» …",
    "$100.00 50% #hash @user http://example.com/a?b=c&d=e",
    "Ⓐ ẞ ǅ ǈ Ǆ ﬃ",
    "e\u0301 a\u0308 n\u0303 combining",
    "\ufffd replacement \x00 nul",
]


def main():
    attune, tok_dir, csvs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(f"{tok_dir}/tokenizer.json") as f:
        options = json.load(f)
    lines = []
    for path in csvs:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                lines += [line for line in row["text"].split("\n") if line.strip()]
    lines += HARD_CASES
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="\n", delete=False, suffix=".txt") as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    out = subprocess.run([attune, "tokenize", "--tokenizer", tok_dir, "--input", path],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    ours = [json.loads(x) for x in out if x]
    assert len(ours) == len(lines), (len(ours), len(lines))

    # A folder with only vocab.txt: attune's own tokenizer.json is not Hugging Face's format.
    ref_dir = tempfile.mkdtemp()
    shutil.copy(os.path.join(tok_dir, "vocab.txt"), ref_dir)
    hf = BertTokenizer.from_pretrained(ref_dir, do_lower_case=options["lowercase"],
                                       strip_accents=options["strip_accents"],
                                       tokenize_chinese_chars=options["tokenize_chinese_chars"])
    with open(os.path.join(tok_dir, "vocab.txt"), encoding="utf-8") as f:
        vocab_lines = f.read().split("\n")[:-1]
    assert len(hf) == len(vocab_lines), (len(hf), len(vocab_lines))
    mismatches = 0
    for line, mine in zip(lines, ours):
        theirs = hf.encode(line, add_special_tokens=False)
        if theirs != mine:
            mismatches += 1
            if mismatches <= 10:
                print("MISMATCH", repr(line[:200]))
                print("  hf:    ", hf.convert_ids_to_tokens(theirs)[:40])
                print("  attune:", hf.convert_ids_to_tokens(mine)[:40])
    print(f"transformers {transformers.__version__} {type(hf).__name__}: {len(lines)} lines "
          f"({len(HARD_CASES)} hard cases), {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
