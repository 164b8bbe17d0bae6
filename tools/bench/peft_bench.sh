#!/usr/bin/env bash
# PEFT benchmark: full fine-tuning against LoRA, AdaLoRA, IA3, prefix tuning,
# bottleneck adapters and BitFit on two real data sets, from the same base encoder.
#
#   tools/bench/peft_bench.sh DATA_DIR OUT_DIR [DATASET ...]
#
# DATA_DIR holds spam_assassin/{train,valid,test}.csv (tools/data/fetch_spam_assassin.sh)
# and debian_sections/{train,test}.csv (tools/data/fetch_debian_sections.sh). Every method
# starts from the same base encoder ("init"): BASE, a run directory such as a masked-LM
# pretraining run (tools/bench/pretrain_bench.sh makes one), or, without BASE, the mini
# encoder fully trained on the OTHER data set. "scratch" is full training from random
# weights, for reference. Each method is trained at each learning rate of its list
# (LR_<METHOD>, space-separated); results.md keeps the rate with the best validation
# macro-F1 and shows its test numbers, results_all.md shows every run.
# Env: ATTUNE (binary, default build/attune), DEVICE (default auto), EPOCHS (default 4), BASE,
# SEEDS (space-separated; each run is repeated per seed and the tables show mean and spread),
# METHODS (space-separated subset, default all), SCRATCH_LORA=1 (also LoRA on a randomly initialised encoder: the from-scratch side of the
# pretraining comparison, tools/bench/pretrain_bench.sh). Rows accumulate in results.jsonl
# across calls (one data set per call is fine); the tables cover all of them.
# Writes OUT_DIR/<dataset>/<method>_<lr>/ runs, OUT_DIR/results.jsonl, results.md, results_all.md.
set -euo pipefail
data="$1"; out="$2"; shift 2
datasets=("$@"); [[ ${#datasets[@]} -gt 0 ]] || datasets=(spam_assassin debian_sections)
attune="${ATTUNE:-build/attune}"; device="${DEVICE:-auto}"; epochs="${EPOCHS:-4}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$out"

data_flags() {  # dataset -> --set flags for its files and columns
  case "$1" in
    spam_assassin) echo "--set data.train=$data/spam_assassin/train.csv --set data.valid=$data/spam_assassin/valid.csv --set data.test=$data/spam_assassin/test.csv" ;;
    debian_sections) echo "--set data.train=$data/debian_sections/train.csv --set data.test=$data/debian_sections/test.csv --set data.text_column=description --set data.label_column=section" ;;
  esac
}
other() { [[ "$1" == spam_assassin ]] && echo debian_sections || echo spam_assassin; }

# Peak GPU memory of the process tree while a command runs (MiB; 0 without nvidia-smi).
gpu_peak_of() {
  local log="$1"; shift
  if command -v nvidia-smi >/dev/null && [[ "$device" != cpu ]]; then
    (while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; sleep 0.2; done) >"$log.mem" &
    local poller=$!
    "$@" >"$log" 2>&1 || { kill $poller; cat "$log" >&2; return 1; }
    kill $poller; wait $poller 2>/dev/null || true
    sort -n "$log.mem" | tail -1
  else
    "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    echo 0
  fi
}

train() {  # dataset method run_dir extra-flags...
  local ds="$1" method="$2" run="$3"; shift 3
  local common="--config $root/tools/configs/spam_assassin.json --overwrite --set run_dir=$run --set device=$device --set train.epochs=$epochs --set train.log_every=10"
  # shellcheck disable=SC2046
  local peak; peak=$(gpu_peak_of "$run.log" "$attune" train $common $(data_flags "$ds") "$@")
  python3 "$root/tools/bench/peft_record.py" "$ds" "$method" "$run" "$peak" >>"$out/results.jsonl"
  tail -1 "$out/results.jsonl"
}

# Rates usual for each method (fresh PEFT weights take higher rates than a full
# fine-tune of pretrained weights); two per method, chosen on validation.
lr_scratch=${LR_SCRATCH:-1e-3}
lr_full=${LR_FULL:-1e-4 3e-4}
lr_lora=${LR_LORA:-5e-4 2e-3}
lr_adalora=${LR_ADALORA:-5e-4 2e-3}
lr_ia3=${LR_IA3:-3e-3 1e-2}
lr_prefix_tuning=${LR_PREFIX_TUNING:-3e-3 1e-2}
lr_bottleneck=${LR_BOTTLENECK:-5e-4 2e-3}
lr_bitfit=${LR_BITFIT:-1e-3 5e-3}
lr_scratch_lora=${LR_SCRATCH_LORA:-$lr_lora}

sweep() {  # dataset method flags... : one run per learning rate of the method
  local ds="$1" method="$2"; shift 2
  [[ -z "${METHODS:-}" || " $METHODS " == *" $method "* ]] || return 0
  local rates_var="lr_$method"
  for lr in ${!rates_var}; do
    if [[ -z "${SEEDS:-}" ]]; then
      train "$ds" "$method" "$out/$ds/${method}_$lr" --set train.lr="$lr" "$@"
      continue
    fi
    for seed in $SEEDS; do
      train "$ds" "$method" "$out/$ds/${method}_${lr}_s$seed" --set train.lr="$lr" --set seed="$seed" "$@"
    done
  done
}

for ds in "${datasets[@]}"; do
  base="${BASE:-$out/base_$(other "$ds")}"
  if [[ ! -f "$base/config.json" ]]; then
    echo "== base: full training on $(other "$ds")"
    mkdir -p "$(dirname "$base")"
    # shellcheck disable=SC2046
    "$attune" train --config "$root/tools/configs/spam_assassin.json" --overwrite --set run_dir="$base" \
      --set device="$device" --set train.epochs="$epochs" $(data_flags "$(other "$ds")") >"$base.log" 2>&1
  fi
  echo "== $ds (base: $base)"
  mkdir -p "$out/$ds"
  sweep "$ds" scratch
  sweep "$ds" full --set init="$base"
  targets='peft.target_modules=["query","key","value","dense"]'
  lora=(--set peft.method=lora --set peft.r=8 --set peft.lora_alpha=16 --set "$targets")
  [[ "${SCRATCH_LORA:-0}" == 1 ]] && sweep "$ds" scratch_lora "${lora[@]}"
  sweep "$ds" lora --set init="$base" "${lora[@]}"
  sweep "$ds" adalora --set init="$base" --set peft.method=adalora --set peft.init_r=12 --set peft.target_r=8 \
    --set peft.lora_alpha=16 --set "$targets" --set peft.tinit=20 --set peft.tfinal=50
  sweep "$ds" ia3 --set init="$base" --set peft.method=ia3
  sweep "$ds" prefix_tuning --set init="$base" --set peft.method=prefix_tuning --set peft.num_virtual_tokens=16 \
    --set peft.prefix_projection=true
  sweep "$ds" bottleneck --set init="$base" --set peft.method=bottleneck --set peft.reduction_factor=8
  sweep "$ds" bitfit --set init="$base" --set peft.method=bitfit
done
python3 "$root/tools/bench/peft_table.py" "$out/results.jsonl" | tee "$out/results.md"
python3 "$root/tools/bench/peft_table.py" "$out/results.jsonl" --all >"$out/results_all.md"
