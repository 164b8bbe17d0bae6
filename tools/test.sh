#!/usr/bin/env bash
# The test command, from a fresh machine: installs what is missing, builds, runs CTest,
# then the sanitizer build's unit tests and a fixed budget of fuzzing (tools/fuzz/run.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/install_deps.sh"
"$root/tools/build.sh"
cd "$root/build" && ctest --output-on-failure -j"$(nproc)"
"$root/tools/fuzz/run.sh"
