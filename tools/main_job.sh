#!/usr/bin/env bash
# The main job, from a fresh machine: installs what is missing, builds, fetches the
# SpamAssassin corpus, fine-tunes a text classifier on it and prints test metrics
# (the full metrics JSON is also in runs/spam_assassin/results.json).
# Extra arguments go to `attune train` (e.g. --set train.epochs=1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/install_deps.sh
tools/build.sh
data="$(tools/data/fetch_spam_assassin.sh)"
exec build/attune train --config tools/configs/spam_assassin.json --overwrite \
  --set data.train="$data/train.csv" --set data.valid="$data/valid.csv" --set data.test="$data/test.csv" "$@"
