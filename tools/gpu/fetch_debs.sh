#!/usr/bin/env bash
# Downloads (without installing) the Debian packages the GPU machine lacks into .deb/,
# for tools/gpu/build_and_test.sh to unpack there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p .deb && cd .deb
apt-get download libsentencepiece-dev libsentencepiece0 libprotobuf-lite32 nlohmann-json3-dev \
  libcxxopts-dev catch2 libicu-dev libicu72
# attune serve: cpp-httplib, and the headers and pkg-config files its own header and
# cpp-httplib.pc name (OpenSSL, zlib, brotli), with the libraries their -dev symlinks
# point to; pkgconf in case the machine has no pkg-config. libpng (data/formats/png.cpp)
# and OpenSSL's libcrypto (data/io/sha256.cpp): Ubuntu has the libraries but maybe not
# their headers; CMake finds these under $deps/usr.
apt-get download libcpp-httplib-dev libcpp-httplib0.11 libssl-dev libssl3 zlib1g-dev zlib1g \
  libbrotli-dev libbrotli1 pkgconf pkgconf-bin libpkgconf3 libpng-dev libpng16-16
