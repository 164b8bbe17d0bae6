#!/usr/bin/env bash
# Python-only checks on the GPU machine: transformers, PEFT and tokenizers against what the
# CPU machine made and carried in build-dev/ (ignored by git). No attune build is needed, so a
# call spends its time on the checks. Outputs go to $OUT.
#
#   tools/gpu/python_checks.sh spm-reference   what transformers makes of sentencepiece-only folders
#                                              (spm_folder_reference.py; build-dev/tokcorpus.txt from
#                                              tools/data/make_tokcorpus.sh), as $OUT/spmref.tar.gz for
#                                              spm_folder_parity.py and spm_fixture_expected.py here
#   tools/gpu/python_checks.sh cases           loss-for-loss fine-tuning, masked-LM exports, ViT and
#                                              Marian PEFT (build-dev/{finetune,mlm,vit_peft}_cases.tar.gz
#                                              from tools/parity/make_{finetune,mlm,vit_peft}_cases.sh), and
#                                              transformers' ViT module names (vit_module_names.py)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-/tmp/attune-out}"; mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
timed() {  # name command...: runs it, tees its output to $out/name.txt, records rc and time
  local name="$1"; shift
  local t0; t0=$(date +%s)
  local rc=0
  "$@" 2>&1 | tee "$out/$name.txt" || rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 ))s" | tee -a "$out/times.txt"
}
case "${1:-}" in
  spm-reference)
    # One tarball: the device tool brings back only a few files, not a tree.
    timed spm_reference python3 tools/parity/spm_folder_reference.py build-dev/tokcorpus.txt /tmp/spmref \
      tests/fixtures/deberta_spm tests/fixtures/xlmr_spm tests/fixtures/camembert_spm
    tar czf "$out/spmref.tar.gz" -C /tmp spmref
    ;;
  cases)
    work=/tmp/attune-cases; rm -rf "$work"; mkdir -p "$work/ft" "$work/mlm" "$work/vit"
    tar xzf build-dev/finetune_cases.tar.gz -C "$work/ft"
    tar xzf build-dev/mlm_cases.tar.gz -C "$work/mlm"
    tar xzf build-dev/vit_peft_cases.tar.gz -C "$work/vit"
    timed finetune_loss python3 tools/parity/finetune_loss_parity.py "$work/ft" --json "$out/finetune_loss.json"
    timed mlm_to_hf python3 tools/parity/mlm_to_hf_check.py "$work/mlm"
    timed vit_peft python3 tools/parity/vit_peft_check.py "$work/vit" "$out"
    timed vit_modules python3 tools/parity/vit_module_names.py
    ;;
  *) sed -n 2,12p "$0"; exit 2 ;;
esac
