#!/usr/bin/env bash
# The tokenizer parity corpus: 51,500 lines of real text, the English and then the German
# side of the first 25,000 pairs of fetch_en_de.sh's train.tsv, and the first 1,500
# messages of fetch_spam_assassin.sh's train.csv with their line breaks (and tabs) turned
# into spaces, cut to 2,000 characters each.
#
#   tools/data/make_tokcorpus.sh    -> prints the path of tokcorpus.txt
#
# Cached in $ATTUNE_DATA (default ~/.cache/attune)/tokcorpus. Tokenizer parity scripts
# (tools/parity/*_parity.py, spm_folder_reference.py) and the SentencePiece fixtures
# (make_deberta_spm_fixture.py, make_fairseq_spm_fixtures.py) read it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}"
out="$cache/tokcorpus"
if [[ -f "$out/tokcorpus.txt" ]]; then echo "$out/tokcorpus.txt"; exit 0; fi
en_de="$("$here/fetch_en_de.sh" | tail -1)"
spam="$("$here/fetch_spam_assassin.sh" | tail -1)"
mkdir -p "$out"
python3 - "$en_de/train.tsv" "$spam/train.csv" "$out/tokcorpus.txt.tmp" <<'PY'
import csv, sys
pairs = []
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    for line in f:
        en, de = line.rstrip("\n").split("\t")[:2]
        pairs.append((en, de))
        if len(pairs) == 25000:
            break
csv.field_size_limit(1 << 30)
mails = []
with open(sys.argv[2], encoding="utf-8", newline="") as f:
    for row in csv.DictReader(f):
        mails.append(" ".join(row["text"].replace("\t", " ").splitlines())[:2000])
        if len(mails) == 1500:
            break
with open(sys.argv[3], "w", encoding="utf-8", newline="") as f:
    for text in [en for en, _ in pairs] + [de for _, de in pairs] + mails:
        f.write(text + "\n")
PY
mv "$out/tokcorpus.txt.tmp" "$out/tokcorpus.txt"
echo "$out/tokcorpus.txt"
