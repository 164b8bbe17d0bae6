#!/usr/bin/env bash
# Builds attune's .deb (CPack) and checks it on a bare Debian bookworm: a debootstrap
# chroot where `apt-get install ./attune_*.deb` brings in everything from Debian's
# mirror. In the chroot: `attune --help`, the sentencepiece module loads from its
# installed place, a tiny training run with predict and export, and examples/finetune_cpp
# built against the installed headers with find_package(attune). Not part of CI (it
# downloads ~1 GB the first time and takes minutes); docs/packaging.md.
#
# usage: tools/package/deb_check.sh [BUILD_DIR]     (as root; default BUILD_DIR: build)
#   ATTUNE_DEB_CACHE  where the base chroot and the downloaded .debs are kept
#                     between runs (default /var/tmp/attune-deb)
#   KEEP_ROOT=1       keep the chroot of this run for a look afterwards
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
cache="${ATTUNE_DEB_CACHE:-/var/tmp/attune-deb}"
mirror="http://deb.debian.org/debian"
[[ $(id -u) -eq 0 ]] || { echo "deb_check.sh: run as root (debootstrap, chroot)" >&2; exit 2; }
step() { echo "== $(date -u +%H:%M:%S) $*"; }

step "build and package"
"$root/tools/build.sh" >/dev/null
(cd "$build" && cpack -G DEB >cpack.log) || { cat "$build/cpack.log"; exit 1; }
deb=$(ls -t "$build"/attune_*.deb | head -1)
dpkg-deb --field "$deb" Package Version Depends Recommends
dpkg-deb --contents "$deb" | awk '{print $6}' | grep -E 'bin/attune$|libattune|attune.pc$|attuneConfig.cmake$|tasks/api.h$'

# A bare bookworm, made once and copied fresh for every check.
mkdir -p "$cache/archives/partial"
if [[ ! -f "$cache/base/.complete" ]]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  step "debootstrap bookworm (minbase) into $cache/base"
  rm -rf "$cache/base"
  debootstrap --variant=minbase bookworm "$cache/base" "$mirror" >"$cache/debootstrap.log"
  touch "$cache/base/.complete"
fi
chroot_dir="$cache/check-root"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || true; done
  [[ "${KEEP_ROOT:-0}" == 1 ]] || rm -rf "$chroot_dir"
}
trap cleanup EXIT
rm -rf "$chroot_dir"
cp -a "$cache/base" "$chroot_dir"
cat >"$chroot_dir/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
for m in proc dev/pts; do mkdir -p "$chroot_dir/$m"; done
mount -t proc proc "$chroot_dir/proc" && mounted+=("$chroot_dir/proc")
# Downloaded packages persist between runs; the installed system does not.
mount --bind "$cache/archives" "$chroot_dir/var/cache/apt/archives" && mounted+=("$chroot_dir/var/cache/apt/archives")
in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                   DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$1"; }

mkdir -p "$chroot_dir/check"
cp "$deb" "$chroot_dir/check/"
cp -r "$root/examples/finetune_cpp" "$chroot_dir/check/finetune_cpp"
step "apt-get install ./$(basename "$deb") in the chroot"
in_root "apt-get update -qq && cd /check && apt-get install -y -q ./$(basename "$deb") >/check/apt.log 2>&1 || { tail -30 /check/apt.log; exit 1; }
         grep -E '^(Setting up|The following NEW)' /check/apt.log | wc -l | sed 's/^/packages set up: /'"

step "attune --help"
in_root "attune --help | head -3"

step "the sentencepiece module loads from its installed place"
in_root "echo 'not a model' >/check/junk.model
         if attune tokenize --tokenizer /check/junk.model </dev/null 2>/check/spm.err; then exit 1; fi
         cat /check/spm.err; grep -q 'not a sentencepiece model' /check/spm.err"

step "a tiny training run, predict, export"
in_root "cd /check
  { echo text,label; for i in \$(seq 0 89); do case \$((i % 3)) in
      0) echo \"we liked the bread and cheese soup \$i,food\" ;; 1) echo \"the team scored a goal in the match \$i,sport\" ;;
      2) echo \"a new laptop runs the compiler on a server \$i,tech\" ;; esac; done; } >train.csv
  head -31 train.csv >test.csv
  attune train --set run_dir=run --set device=cpu --set data.train=train.csv --set data.max_length=24 \
    --set tokenizer.vocab_size=120 --set model.hidden_size=32 --set model.num_layers=1 --set model.num_heads=2 \
    --set model.intermediate_size=64 --set train.epochs=4 --set train.lr=5e-3 --set train.batch_size=16 \
    >train.json 2>train.log || { tail -5 train.log; exit 1; }
  grep -E '\"(steps|accuracy)\"' train.json | head -3
  printf 'cheese bread soup\nteam goal match\n' | attune predict --run run --input -
  attune export --run run --out bundle >/dev/null && ls bundle"

step "examples/finetune_cpp against the installed headers (find_package(attune))"
in_root "apt-get install -y -q --no-install-recommends g++ cmake make >/check/apt-tools.log 2>&1 || { tail -20 /check/apt-tools.log; exit 1; }
  cd /check && cmake -S finetune_cpp -B finetune-build -DCMAKE_BUILD_TYPE=Release >configure.log || { cat configure.log; exit 1; }
  cmake --build finetune-build -j\$(nproc) >build.log 2>&1 || { tail -30 build.log; exit 1; }
  finetune-build/finetune_cpp train.csv test.csv lora-run lora-bundle data.max_length=24 tokenizer.vocab_size=120 \
    model.hidden_size=32 model.num_layers=1 model.num_heads=2 model.intermediate_size=64 train.epochs=6 train.lr=1e-2 \
    train.batch_size=16 2>finetune.err || { tail -5 finetune.err; exit 1; }"

step "pkg-config"
in_root "apt-get install -y -q --no-install-recommends pkg-config >/dev/null 2>&1; pkg-config --modversion attune; pkg-config --libs attune"
step "deb check: ok ($(basename "$deb"))"
