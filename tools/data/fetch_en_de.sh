#!/usr/bin/env bash
# A reproducible, human-translated English-German parallel corpus for translation,
# built from the German gettext catalogues (.mo files under
# usr/share/locale/de/LC_MESSAGES/) that the Debian packages pinned below ship:
# English msgid -> German msgstr, read back to .po text with msgunfmt.
#
#   tools/data/fetch_en_de.sh        -> prints the directory holding train.tsv, valid.tsv, test.tsv
#
# "english<TAB>german" per line. Header, fuzzy, untranslated, format-only, untranslated-
# looking (target == source), over-long (> 400 chars) and very unequal (> 3x) entries
# dropped, keyboard accelerators removed, identical pairs kept once
# (tools/data/po_to_parallel.js); train/valid/test split by an MD5 of the normalised
# English side (1% valid, 1% test), so no English sentence of valid or test is in train.
# Cached in $ATTUNE_DATA (default ~/.cache/attune)/en-de; the .deb files are kept in
# en-de-debs/ so a rebuild downloads nothing. Needs apt-get (no root: downloads only),
# dpkg-deb, msgunfmt and msgconv (package gettext) and node. SOURCES.txt in the output
# lists the package versions and catalogues used, STATS.txt the pairs per split.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/data/pinned_deb.sh
source "$here/pinned_deb.sh"
cache="${ATTUNE_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/attune}"
out="$cache/en-de"
debs="$cache/en-de-debs"
recipe_version="1"

# package=version|catalogues to read (a regex on the .mo file name). Versions are those
# of Debian 12 (bookworm); when the archive has moved on, the current version is used
# and SOURCES.txt records it. Left out: catalogues of proper names (freeciv's nations,
# GNOME's time zones; libgweather's and iso-codes' place and language names).
packages=(
  'coreutils=9.1-1|.'
  'tar=1.34+dfsg-1.2+deb12u1|.'
  'grep=3.8-5|.'
  'sed=4.9-1+deb12u1|.'
  'findutils=4.9.0-4|.'
  'diffutils=1:3.8-4|.'
  'cpio=2.13+dfsg-7.1|.'
  'gawk=1:5.2.1-2|.'
  'make=4.3-4.1|.'
  'bison=2:3.8.2+dfsg-1+b1|.'
  'texinfo=6.8-6+b1|.'
  'gettext=0.21-12|.'
  'wget=1.21.3-1+deb12u1|.'
  'bash=5.2.15-2+b13|.'
  'util-linux-locales=2.38.1-5+deb12u3|.'
  'procps=2:4.0.2-3|.'
  'login=1:4.13+dfsg1-1+deb12u2|.'
  'net-tools=2.10-0.1+deb12u2|.'
  'kbd=2.5.1-1+b1|.'
  'dpkg=1.21.23|.'
  'libdpkg-perl=1.21.23|.'
  'apt=2.6.2|.'
  'libapt-pkg6.0=2.6.2|.'
  'aptitude-common=0.8.13-5|.'
  'synaptic=0.91.3|.'
  'packagekit=1.2.6-5+deb12u1|.'
  'appstream=0.16.1-2+b1|.'
  'gnupg-l10n=2.2.40-1.1+deb12u2|.'
  'libgpg-error-l10n=1.46-1|.'
  'libgnutls30=3.7.9-2+deb12u7|.'
  'krb5-locales=1.20.1-2+deb12u5|.'
  'libc-l10n=2.36-9+deb12u14|.'
  'sudo=1.9.13p3-1+deb12u4|.'
  'cryptsetup-bin=2:2.6.1-4~deb12u2|.'
  'udisks2=2.9.4-4+deb12u2|.'
  'grub-common=2.06-13+deb12u2|.'
  'man-db=2.11.2-2|.'
  'nano=7.2-1+deb12u1|.'
  'mc-data=3:4.8.29-2|.'
  'lynx-common=2.9.0dev.12-1|.'
  'mutt=2.2.12-0.1~deb12u2|.'
  'neomutt=20220429+dfsg1-4.1|.'
  'binutils-common=2.40-2|.'
  'gcc-12-locales=12.2.0-14+deb12u1|.'
  'gnucobol3=3.1.2-5+b1|.'
  'git=1:2.39.5-0+deb12u3|.'
  'postgresql-15=15.20-0+deb12u1|.'
  'postgresql-client-15=15.20-0+deb12u1|.'
  'network-manager=1.42.4-1+deb12u1|.'
  'pulseaudio=16.1+dfsg1-2+b1|.'
  'libglib2.0-data=2.74.6-2+deb12u9|.'
  'libgtk-3-common=3.24.38-2~deb12u3|.'
  'gsettings-desktop-schemas=43.0-1|.'
  'libgstreamer1.0-0=1.22.0-2+deb12u1|.'
  'libexif12=0.6.24-1+deb12u1|.'
  'libgphoto2-l10n=2.5.30-1|.'
  'shared-mime-info=2.2-1|.'
  'gnome-control-center-data=1:43.6-2~deb12u1|^gnome-control-center-2\.0\.mo$'
  'gnome-shell-common=43.9-0+deb12u2|.'
  'gnome-software-common=43.5-1~deb12u2|.'
  'gnome-disk-utility=43.0-1|.'
  'nautilus-data=43.2-1|.'
  'gedit-common=44.2-1|.'
  'evince-common=43.1-2+deb12u1|.'
  'gucharmap=1:15.0.2-1|.'
  'evolution-data-server-common=3.46.4-2+deb12u1|.'
  'evolution-common=3.46.4-2+deb12u1|.'
  'cinnamon-l10n=5.6.1-2|.'
  'thunar-data=4.18.4-1|.'
  'xfce4-panel=4.18.2-1|.'
  'kio=5.103.0-1+deb12u1|.'
  'dolphin=4:22.12.3-1|.'
  'okular=4:22.12.3-1+deb12u1|.'
  'geany-common=1.38-1|.'
  'pidgin-data=2.14.12-1|.'
  'gimp-data=2.10.34-1+deb12u10|.'
  'inkscape=1.2.2-2+deb12u1|.'
  'gnumeric-common=1.12.55-1|.'
  'gnucash-common=1:4.13-1|.'
  'vlc-l10n=3.0.24-0+deb12u1|.'
  'freeciv-data=3.0.6-1+deb12u1|^freeciv-core\.mo$'
)

if [[ -f "$out/train.tsv" && -f "$out/.version" && "$(cat "$out/.version")" == "$recipe_version" ]]; then
  echo "$out"; exit 0
fi
for tool in apt-get dpkg-deb node; do
  command -v "$tool" >/dev/null || { echo "fetch_en_de: $tool is required" >&2; exit 2; }
done
for tool in msgunfmt msgconv; do
  command -v "$tool" >/dev/null ||
    { echo "fetch_en_de: $tool is missing: install the Debian package gettext (apt-get install gettext)" >&2; exit 2; }
done

mkdir -p "$debs"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
list="$work/list.tsv"; : >"$list"
sources="$work/SOURCES.txt"; : >"$sources"
for entry in "${packages[@]}"; do
  spec="${entry%%|*}"; regex="${entry#*|}"
  name="${spec%%=*}"; version="${spec#*=}"
  deb="$(pinned_deb fetch_en_de "$debs" "$name" "$version")" || exit 2
  mkdir -p "$work/pkg/$name" "$work/po/$name" && dpkg-deb -x "$deb" "$work/pkg/$name"
  domains=()
  locale="$work/pkg/$name/usr/share/locale/de/LC_MESSAGES"
  for mo in $(ls "$locale" 2>/dev/null | grep '\.mo$' | grep -E -- "$regex" | LC_ALL=C sort || true); do
    po="$work/po/$name/${mo%.mo}.po"
    # msgunfmt writes the catalogue's own charset; msgconv makes it UTF-8. Both warn
    # about \r and \a in some messages (harmless), hence the silenced stderr.
    msgunfmt "$locale/$mo" 2>/dev/null | msgconv -t UTF-8 -o "$po" 2>/dev/null ||
      { echo "fetch_en_de: msgunfmt/msgconv failed on $name's $mo" >&2; exit 2; }
    printf '%s\t%s\n' "$name" "$po" >>"$list"
    domains+=("${mo%.mo}")
  done
  [[ ${#domains[@]} -gt 0 ]] ||
    { echo "fetch_en_de: $(basename "$deb") has no German catalogue matching '$regex' in usr/share/locale/de/LC_MESSAGES" >&2; exit 2; }
  echo "$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version) ${domains[*]}" >>"$sources"
  rm -rf "$work/pkg/$name"
done
msgunfmt --version | head -1 >>"$sources"

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
node "$here/po_to_parallel.js" "$list" "$out.tmp"
for f in train valid test; do
  [[ -s "$out.tmp/$f.tsv" ]] || { echo "fetch_en_de: $f.tsv came out empty" >&2; exit 2; }
done
cp "$sources" "$out.tmp/SOURCES.txt"
echo "$recipe_version" >"$out.tmp/.version"
rm -rf "$out" && mv "$out.tmp" "$out"
for f in train valid test; do
  read -r lines words bytes < <(wc -lwc <"$out/$f.tsv")
  echo "en-de $f: $lines pairs, $words words (both sides), $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}') MB" >&2
done
echo "$out"
