#!/usr/bin/env bash
# A reproducible English plain-text corpus for masked-LM pretraining, built from
# Debian packages that ship documentation, manuals and books (pinned below), plus
# the ham messages of the SpamAssassin TRAIN split only (never valid/test, so
# fine-tuning evaluations stay clean). Debian's package descriptions are NOT used:
# they are the debian_sections data set.
#
#   tools/data/fetch_corpus.sh        -> prints the directory holding train.txt, valid.txt
#
# One paragraph per line; short, non-English and code-like paragraphs dropped,
# exact duplicates removed, train/valid split by an MD5 of the paragraph (2% valid).
# Cached in $ATTUNE_DATA (default ~/.cache/attune)/corpus; the .deb files are kept in
# corpus-debs/ so a rebuild downloads nothing. Needs apt-get (no root: downloads only),
# dpkg-deb and node. SOURCES.txt in the output lists the package versions used.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/data/pinned_deb.sh
source "$here/pinned_deb.sh"
cache="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}"
out="$cache/corpus"
debs="$cache/corpus-debs"
recipe_version="1"

# package=version|files to read (a regex on the path inside the package). Versions are
# those of Debian 12 (bookworm); when the archive has moved on, the current version is
# used and SOURCES.txt records it.
packages=(
  'debian-reference-en=2.100|\.en\.html$'
  'debian-policy=4.6.2.0|\.html$'
  'developers-reference=12.18|\.html$'
  'debian-handbook=11.20220922|/html/en-US/.*\.html$'
  'debian-faq=11.1|\.en\.html$'
  'debian-history=2.28|\.en\.html$'
  'maint-guide=1.2.53|\.en\.html$'
  'debmake-doc=1.17-7|/html/.*\.en\.html$'
  'harden-doc=3.19+nmu1|/html/en-US/.*\.html$'
  'doc-debian=11.3+nmu1|/doc/debian/.*\.txt(\.gz)?$'
  'gnu-standards=2022.03.23-0.1|\.text\.gz$'
  'jargon-text=4.4.7-4.1|jargon\.txt\.gz$'
  'dict-foldoc=20230119-1|\.dict\.dz$'
  'dict-devil=1.0-13.1|\.dict\.dz$'
  'fortunes=1:1.99.1-7.3|/games/fortunes/[a-z-]+$'
  'manpages=6.03-2|/man/man[1-8]/.*\.gz$'
  'manpages-dev=6.03-2|/man/man[1-8]/.*\.gz$'
  'perl-doc=5.36.0-7+deb12u4|\.pod(\.gz)?$'
  'bash-doc=5.2.15-2|/bash\.html$'
  'zsh-doc=5.9-4|\.html$'
  'git-doc=1:2.39.5-0+deb12u3|\.html$'
  'vim-runtime=2:9.0.1378-2+deb12u2|/doc/[a-z_0-9]+\.txt$'
  'python3.11-doc=3.11.2-6+deb12u9|/html/.*\.html$'
  'postgresql-doc-15=15.20-0+deb12u1|/html/.*\.html$'
  'sqlite3-doc=3.40.1-2+deb12u2|\.html$'
  'apache2-doc=2.4.71-1~deb12u1|/manual/([a-z_]+/)*[a-z_0-9.-]+\.html(\.en)?$'
  'linux-doc-6.1=6.1.192-2|/Documentation/.*\.(rst|txt)(\.gz)?$'
)

if [[ -f "$out/train.txt" && -f "$out/.version" && "$(cat "$out/.version")" == "$recipe_version" ]]; then
  echo "$out"; exit 0
fi
for tool in apt-get dpkg-deb node; do
  command -v "$tool" >/dev/null || { echo "fetch_corpus: $tool is required" >&2; exit 2; }
done
spam="$("$here/fetch_spam_assassin.sh")"

mkdir -p "$debs"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
rules="$work/rules.tsv"; : >"$rules"
sources="$work/SOURCES.txt"; : >"$sources"
for entry in "${packages[@]}"; do
  spec="${entry%%|*}"; regex="${entry#*|}"
  name="${spec%%=*}"; version="${spec#*=}"
  deb="$(pinned_deb fetch_corpus "$debs" "$name" "$version")" || exit 2
  echo "$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)" >>"$sources"
  mkdir -p "$work/pkg/$name" && dpkg-deb -x "$deb" "$work/pkg/$name"
  printf '%s\t%s\n' "$work/pkg/$name" "$regex" >>"$rules"
done
echo "spam_assassin train.csv (ham only)" >>"$sources"

mkdir -p "$out.tmp"
node "$here/corpus_to_text.js" "$rules" "$spam/train.csv" "$out.tmp"
cp "$sources" "$out.tmp/SOURCES.txt"
echo "$recipe_version" >"$out.tmp/.version"
rm -rf "$out" && mv "$out.tmp" "$out"
for f in train valid; do
  read -r lines words bytes < <(wc -lwc <"$out/$f.txt")
  echo "corpus $f: $lines lines, $words words, $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}') MB" >&2
done
echo "$out"
