#!/usr/bin/env bash
# Installs the Debian packages attune builds and runs with, skipping those present.
set -euo pipefail
packages=(build-essential cmake ninja-build ccache pkg-config
          libtorch-dev libgloo-dev libopenblas0-openmp libsentencepiece-dev nlohmann-json3-dev libcxxopts-dev catch2 libicu-dev libcpp-httplib-dev
          libpng-dev libssl-dev   # PNG heat maps (libpng), SHA-256 of bundle files (libcrypto)
          gettext   # gettext: msgunfmt for tools/data/fetch_en_de.sh
          python3   # fixtures and the benchmark table scripts' test (tests/tools/bench_scripts_test.sh)
          chromium  # headless, for the attune report browser test (tests/cli/report_browser_test.sh)
          clang libfuzzer-14-dev libclang-rt-14-dev)  # the sanitizer and fuzz build (tools/fuzz/run.sh)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
