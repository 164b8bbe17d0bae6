#!/usr/bin/env bash
# On the GPU machine (Ubuntu, PyTorch 2.x with CUDA, no network): builds attune
# against PyTorch's LibTorch, runs the unit tests, and fine-tunes the main job's
# model on CUDA. The Debian packages attune needs beyond PyTorch travel in .deb/
# (tools/gpu/fetch_debs.sh) and are unpacked into a private prefix, never into /.
# Usage: tools/gpu/build_and_test.sh [DATA_DIR with spam_assassin/*.csv]; SKIP_TESTS=1 builds only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
deps=/tmp/attune-deps
mkdir -p "$deps"
for deb in .deb/*.deb; do dpkg -x "$deb" "$deps"; done
# Some -dev symlinks are absolute (zlib1g-dev's libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13):
# in the prefix they name a file of the host, which Ubuntu lacks, and the linker then takes
# the static, non-PIC libz.a, which a shared libattune cannot link. Point them into the prefix.
find "$deps" -type l -lname '/*' | while read -r link; do ln -sfn "$deps$(readlink "$link")" "$link"; done
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
# pkg-config (for cpp-httplib, attune serve) reads only the carried .pc files, whose
# /usr paths the sysroot moves under $deps; pkgconf comes along where pkg-config is missing.
export PKG_CONFIG_LIBDIR="$deps/usr/lib/x86_64-linux-gnu/pkgconfig:$deps/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$deps"
pkg_config=(); command -v pkg-config >/dev/null || pkg_config=(-DPKG_CONFIG_EXECUTABLE="$deps/usr/bin/pkgconf")
# OpenSSL's configuration.h lives in the multiarch include folder, which the compiler
# searches under /usr only.
export CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }-isystem $deps/usr/include/x86_64-linux-gnu"
generator="Unix Makefiles"
command -v ninja >/dev/null && generator=Ninja
start=$(date +%s)
# NCCL's header comes with PyTorch's pip packages (nvidia-nccl), not with the CUDA toolkit.
nccl=()
nccl_include="$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' 2>/dev/null || true)"
[[ -f "$nccl_include/nccl.h" ]] && nccl=(-DATTUNE_NCCL_INCLUDE_DIR="$nccl_include")
cmake -S . -B build-cuda -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" -DICU_ROOT="$deps/usr" "${nccl[@]}" "${pkg_config[@]}" | grep -E 'c10d|httplib' || true
grep -q 'HTTPLIB_FOUND:INTERNAL=1' build-cuda/CMakeCache.txt || { echo "cpp-httplib not found: no attune serve" >&2; exit 1; }
# Keeps going past a failing target, so that one call still gets the binaries that built.
build_rc=0
keep_going=(-k); [[ "$generator" == Ninja ]] && keep_going=(-k 0)
cmake --build build-cuda -j"$(nproc)" -- "${keep_going[@]}" || build_rc=$?
echo "build: $(( $(date +%s) - start )) s (status $build_rc)"
[[ -x build-cuda/attune ]] || exit 1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
[[ "${SKIP_TESTS:-0}" == 1 ]] || (cd build-cuda && ctest --output-on-failure)
data="${1:-}"
if [[ -n "$data" && -f "$data/spam_assassin/train.csv" ]]; then
  d="$data/spam_assassin"
  /usr/bin/time -v build-cuda/attune train --config tools/configs/spam_assassin.json --overwrite \
    --set run_dir=/tmp/attune-runs/spam_cuda --set device=cuda \
    --set data.train="$d/train.csv" --set data.valid="$d/valid.csv" --set data.test="$d/test.csv" \
    2> >(tail -n 25 >&2) | tail -n 40
fi
