#!/usr/bin/env python3
"""Debian's r-cran-dslabs ships GroupLens' MovieLens ml-latest-small (2016 snapshot) as the
R object `movielens` in an R lazy-load database. This writes its ratings as
user_id,item_id,rating,timestamp, sorted by user, then timestamp, then item (the data has
same-second ties; the item id breaks them so every run sees one order).

usage: movielens_rdata_to_csv.py DSLABS_DIR/data/Rdata.rdx OUT.csv   (Python 3 standard library only)
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdata  # noqa: E402

rdx, out = sys.argv[1], sys.argv[2]
names, cols = rdata.dataframe_columns(rdata.lazyload_get(rdx, "movielens"))
c = dict(zip(names, cols))
rows = sorted(zip(c["userId"], c["movieId"], c["rating"], c["timestamp"]), key=lambda r: (r[0], r[3], r[1]))
with open(out + ".tmp", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["user_id", "item_id", "rating", "timestamp"])
    for u, i, r, t in rows:
        w.writerow([u, i, "%g" % r, t])
os.replace(out + ".tmp", out)
print(f"movielens: {len(rows)} ratings, {len(set(c['userId']))} users, {len(set(c['movieId']))} movies", file=sys.stderr)
