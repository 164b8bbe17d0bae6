#!/usr/bin/env bash
# Fashion-MNIST (Zalando, MIT licence; 60,000 training and 10,000 test images, 28x28
# grey, 10 classes) from Debian's dataset-fashion-mnist, unpacked to the IDX files
# data/readers/idx.h reads, cached outside the repository. Prints their directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/pinned_deb.sh"
out="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}/fashion-mnist"
if [[ -f "$out/t10k-labels-idx1-ubyte" ]]; then echo "$out"; exit 0; fi
mkdir -p "$out.tmp/debs"
deb="$(pinned_deb fetch_fashion_mnist "$out.tmp/debs" dataset-fashion-mnist 0.0~git20200523.55506a9-1)"
dpkg -x "$deb" "$out.tmp/pkg"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gunzip -c "$out.tmp/pkg/usr/share/datasets/fashion-mnist/$f.gz" > "$out.tmp/$f"
done
echo "source: $(basename "$deb") (Debian bookworm)" > "$out.tmp/SOURCES.txt"
rm -rf "$out.tmp/debs" "$out.tmp/pkg" "$out" && mv "$out.tmp" "$out"
echo "$out"
