# Sourced by the data scripts that read Debian packages without installing them.
#   pinned_deb TAG DEBS_DIR NAME VERSION   -> prints the path of NAME's .deb in DEBS_DIR
# Downloads NAME=VERSION with apt-get download (no root) when DEBS_DIR has no copy; when
# the archive has moved on, takes the current version (the callers record the version
# they got in SOURCES.txt). TAG names the calling script in its one-line errors.
pinned_deb() {
  local tag="$1" debs="$2" name="$3" version="$4" deb
  deb="$(ls "$debs/${name}"_*.deb 2>/dev/null | head -1 || true)"
  if [[ -z "$deb" ]]; then
    # apt-get download writes into the current directory; `_apt` cannot write to
    # root's cache, hence the unsandboxed warning it prints there (harmless).
    (cd "$debs" && { apt-get download -q "$name=$version" 2>/dev/null ||
                     { echo "$tag: $name=$version is gone from the archive; taking the current version" >&2;
                       apt-get download -q "$name" 2>/dev/null; }; }) >&2 ||
      { echo "$tag: cannot download $name (run apt-get update?)" >&2; return 2; }
    deb="$(ls "$debs/${name}"_*.deb | head -1)"
  fi
  echo "$deb"
}
