#!/usr/bin/env python3
"""Number words, English to German, as translation TSVs: OUT/PREFIX-train.tsv (200 pairs) and
OUT/PREFIX-valid.tsv (16), for the Marian case scripts of tools/parity.

usage: write_number_pairs.py OUT PREFIX
"""
import random
import sys

EN = "zero one two three four five six seven eight nine".split()
DE = "null eins zwei drei vier fuenf sechs sieben acht neun".split()


def write(out, prefix):
    for split, n, seed in (("train", 200, 1), ("valid", 16, 2)):
        rng = random.Random(seed)
        with open(f"{out}/{prefix}-{split}.tsv", "w") as f:
            for _ in range(n):
                words = [rng.randrange(10) for _ in range(rng.randint(3, 8))]
                f.write(" ".join(EN[w] for w in words) + "\t" + " ".join(DE[w] for w in words) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    write(sys.argv[1], sys.argv[2])
