#!/usr/bin/env bash
# The test command, from a fresh machine: installs what is missing, builds, runs CTest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/install_deps.sh"
"$root/tools/build.sh"
cd "$root/build" && ctest --output-on-failure -j"$(nproc)"
