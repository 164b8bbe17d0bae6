#!/usr/bin/env python3
"""Grey square images whose class (0-3) is the bright quadrant, as IDX files: OUT/PREFIX-images
and OUT/PREFIX-labels (tests/common/synthetic.h's write_quadrants, in Python, for the case
scripts of tools/parity).

usage: write_quadrants.py OUT PREFIX COUNT SEED [SIZE]   (SIZE defaults to 32)
"""
import random
import struct
import sys


def write(out, prefix, n, seed, size=32):
    rng = random.Random(seed)
    pixels, labels = bytearray(), bytearray()
    half = size // 2
    for _ in range(n):
        c = rng.randrange(4)
        for y in range(size):
            for x in range(size):
                bright = (y >= half) == (c >= 2) and (x >= half) == (c % 2 == 1)
                pixels.append(rng.randrange(150, 256) if bright else rng.randrange(0, 90))
        labels.append(c)
    with open(f"{out}/{prefix}-images", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, size, size) + bytes(pixels))
    with open(f"{out}/{prefix}-labels", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    write(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *(int(a) for a in sys.argv[5:]))
