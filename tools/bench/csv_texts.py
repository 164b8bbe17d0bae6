#!/usr/bin/env python3
"""One text a line from a CSV column, for `attune predict` and the serving benchmarks:
whitespace (newlines included) folded to single spaces; empty texts, and texts that
start with "{" (predict would read them as JSONL), left out. With a label column, the
labels of the same rows go to a second file.

    csv_texts.py DATA.csv TEXTS.txt TEXT_COLUMN [LABELS.txt LABEL_COLUMN]
"""
import csv
import sys

csv.field_size_limit(1 << 30)
src, texts_path, column = sys.argv[1:4]
labels_path, label_column = (sys.argv[4:6] + [None, None])[:2]
with open(src, newline="") as f, open(texts_path, "w") as texts:
    labels = open(labels_path, "w") if labels_path else None
    for row in csv.DictReader(f):
        text = " ".join(row[column].split())
        if text and not text.startswith("{"):
            texts.write(text + "\n")
            if labels:
                labels.write(row[label_column] + "\n")
    if labels:
        labels.close()
