#!/usr/bin/env bash
# The main job, from a fresh machine: installs what is missing, builds, fetches the
# SpamAssassin corpus, fine-tunes a text classifier on it, prints test metrics (the full
# metrics JSON is also in runs/spam_assassin/results.json) and exports the model as a
# TorchScript bundle (runs/spam_assassin-bundle) for `attune predict --bundle`, `attune
# serve` or torch.jit.load.
# Extra arguments go to `attune train` (e.g. --set train.epochs=1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/install_deps.sh
tools/build.sh
data="$(tools/data/fetch_spam_assassin.sh)"
build/attune train --config tools/configs/spam_assassin.json --overwrite \
  --set data.train="$data/train.csv" --set data.valid="$data/valid.csv" --set data.test="$data/test.csv" "$@"
run_dir="$(node -p 'require("./tools/configs/spam_assassin.json").run_dir')"
for arg in "$@"; do [[ "$arg" == run_dir=* ]] && run_dir="${arg#run_dir=}"; done
build/attune export --run "$run_dir" --out "$run_dir-bundle" --overwrite
