#!/usr/bin/env bash
# Downloads (without installing) the Debian packages the GPU machine lacks into .deb/,
# for tools/gpu/build_and_test.sh to unpack there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p .deb && cd .deb
apt-get download libsentencepiece-dev libsentencepiece0 libprotobuf-lite32 nlohmann-json3-dev \
  libcxxopts-dev catch2 libicu-dev libicu72
