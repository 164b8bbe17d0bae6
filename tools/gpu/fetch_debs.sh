#!/usr/bin/env bash
# Downloads (without installing) the Debian packages the GPU machine lacks into .deb/,
# for tools/gpu/build_and_test.sh to unpack there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p .deb && cd .deb
apt-get download libsentencepiece-dev libsentencepiece0 libprotobuf-lite32 nlohmann-json3-dev \
  libcxxopts-dev catch2 libicu-dev libicu72
# libpng (data/formats/png.cpp) and OpenSSL's libcrypto (data/io/sha256.cpp): Ubuntu has
# the libraries but maybe not their headers; CMake finds these under $deps/usr.
apt-get download libpng-dev libpng16-16 libssl-dev libssl3 zlib1g-dev zlib1g
