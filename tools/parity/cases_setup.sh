# Sourced by the make_*_cases.sh scripts, with their "$@" and a name for the scratch folder:
#   source "$(dirname "${BASH_SOURCE[0]}")/cases_setup.sh" NAME "$@"
# checks the one OUT_DIR argument and sets root (the repository), ATTUNE (the binary; the
# caller's $ATTUNE or build/attune), out (OUT_DIR, made absolute) and work (a scratch
# folder removed on exit).
set -euo pipefail
cases_name="$1"
shift
[[ $# -eq 1 ]] || { echo "usage: ATTUNE=path/to/attune $0 OUT_DIR" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ATTUNE="${ATTUNE:-$root/build/attune}"
[[ -x "$ATTUNE" ]] || { echo "no attune binary at $ATTUNE (set ATTUNE)" >&2; exit 2; }
out="$(mkdir -p "$1" && cd "$1" && pwd)"
work="$(mktemp -d "/tmp/attune-$cases_name-XXXXXX")"
trap 'rm -rf "$work"' EXIT
