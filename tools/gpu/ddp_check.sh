#!/usr/bin/env bash
# One device call for data-parallel training on the GPU machine (one H200: NCCL refuses
# two ranks on one GPU, so world size 1 is what it can measure):
#   1. builds attune against PyTorch's LibTorch (NCCL from its nvidia-nccl);
#   2. NCCL at world size 1 against training alone: the spam config on CUDA for STEPS
#      steps, alone and under torchrun with ATTUNE_GROUP_OF_ONE=1, eager and with CUDA
#      graphs; the weights must agree (tools/gpu/compare_weights.py), the group's
#      gradient sums being over one rank;
#   3. tools/bench/ddp_bench.sh (attune against PyTorch DDP + transformers), NPROCS set
#      when the machine has several GPUs.
# Usage: tools/gpu/ddp_check.sh; outputs in $OUT. Env: STEPS [40], SKIP_CHECKS [0] (only
# the benchmark, on a machine that built already), and ddp_bench.sh's (GRAPHS [1] here).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-/tmp/attune-out}"; mkdir -p "$out"
deps=/tmp/attune-deps; mkdir -p "$deps"
for deb in .deb/*.deb; do dpkg -x "$deb" "$deps"; done
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
nccl_include="$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))')"
t0=$(date +%s)
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" \
  -DICU_ROOT="$deps/usr" -DATTUNE_NCCL_INCLUDE_DIR="$nccl_include" | grep c10d
cmake --build build-cuda -j"$(nproc)" --target attune >"$out/build.txt" 2>&1 || { tail -30 "$out/build.txt"; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
gpus="$(python3 -c 'import torch; print(torch.cuda.device_count())')"

spam=.data/spam_assassin
steps="${STEPS:-40}"
run() {  # DIR ARGS...: the spam config on CUDA for $steps steps
  local dir="$1"; shift
  "$@" train --config tools/configs/spam_assassin.json --overwrite --set run_dir="$dir" --set device=cuda \
    --set data.train="$spam/train.csv" --set data.valid="$spam/valid.csv" --set train.max_steps="$steps" \
    --set train.log_every=10 --set train.eval_every="$steps" --set train.cuda_graphs="${ATTUNE_CHECK_GRAPHS:-false}" \
    >/dev/null 2>"$dir.log" || { grep -h "error" "$dir.log" | tail -5; cp "$dir.log" "$out/"; return 1; }
}
attune="$root/build-cuda/attune"
if [[ "${SKIP_CHECKS:-0}" != 1 ]]; then
  for graphs in ${CHECK_GRAPHS:-false true}; do
    export ATTUNE_CHECK_GRAPHS=$graphs
    run /tmp/ddp-alone-$graphs "$attune"
    ATTUNE_GROUP_OF_ONE=1 run /tmp/ddp-group-$graphs python3 -m torch.distributed.run --standalone --nproc-per-node 1 \
      --no-python "$attune"
    echo "== train.cuda_graphs=$graphs: alone against a group of one" | tee -a "$out/nccl_world1.txt"
    python3 tools/gpu/compare_weights.py /tmp/ddp-alone-$graphs/model.safetensors /tmp/ddp-group-$graphs/model.safetensors \
      | tee -a "$out/nccl_world1.txt"
    grep -h '"split":"train"' /tmp/ddp-alone-$graphs/metrics.jsonl | tail -1 | tee -a "$out/nccl_world1.txt"
    grep -h '"split":"train"' /tmp/ddp-group-$graphs/metrics.jsonl | tail -1 | tee -a "$out/nccl_world1.txt"
    grep -h "cuda_graphs" /tmp/ddp-alone-$graphs.log /tmp/ddp-group-$graphs.log | tee -a "$out/nccl_world1.txt" || true
  done
fi

nprocs=""
for n in 2 4 8; do (( gpus >= n )) && nprocs="$nprocs $n"; done
ATTUNE="$attune" NPROCS="${NPROCS:-$nprocs}" ROUNDS="${ROUNDS:-1}" GRAPHS="${GRAPHS:-1}" STEPS="${BENCH_STEPS:-10}" REPEATS="${REPEATS:-3}" \
  tools/bench/ddp_bench.sh "$out/ddp_bench"
