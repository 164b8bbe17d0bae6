#!/usr/bin/env bash
# The reverse direction of tools/parity/bundle_parity.py, run back on the CPU machine: this
# attune (LibTorch 1.13) runs the bundles that the GPU machine's attune (LibTorch 2.x)
# exported, and its outputs must be the ones 2.x computed (same labels and probabilities
# within 1e-5 for the text and image classifiers; identical lines for the translation model's beam search).
#
#   ATTUNE=build/attune tools/parity/check_reverse_bundles.sh reverse_bundles.tar.gz
#
# The tarball (bundle_parity.py's $OUT/reverse_bundles.tar.gz) holds reverse/ with
# classification/{bundle/,inputs.txt,expected_predict.jsonl},
# translation/{bundle/,sources.txt,expected_predict.txt} and
# image/{bundle/,test-images,expected_predict.jsonl}. A bundle this LibTorch cannot load
# or run is a FAIL line quoting attune's error, not a crash. Prints one PASS/FAIL line per
# check; exits 1 on any FAIL.
set -uo pipefail
[[ $# -eq 1 && -f "$1" ]] || { echo "usage: ATTUNE=path/to/attune $0 reverse_bundles.tar.gz" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ATTUNE="${ATTUNE:-$root/build/attune}"
[[ -x "$ATTUNE" ]] || { echo "no attune binary at $ATTUNE (set ATTUNE)" >&2; exit 2; }
tmp="$(mktemp -d /tmp/attune-reverse-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
tar xzf "$1" -C "$tmp" || { echo "FAIL unpack: $1 is not a readable tarball"; exit 1; }
rev="$tmp/reverse"
failures=0 passes=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
pass() { echo "PASS $*"; passes=$((passes + 1)); }
manifest_value() {  # bundle key: a top-level value of its manifest.json, or '?'
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], "?"))' "$1/manifest.json" "$2" \
    2>/dev/null || echo "?"
}
echo "attune: $ATTUNE"
[[ -f "$rev/versions.json" ]] && echo "tarball: $(tr -d '\n' <"$rev/versions.json")"

for spec in classification:inputs.txt:expected_predict.jsonl translation:sources.txt:expected_predict.txt \
    image:test-images:expected_predict.jsonl; do
  IFS=: read -r task input expected <<<"$spec"
  d="$rev/$task"
  if [[ ! -d "$d/bundle" ]]; then
    fail "$task: the tarball has no $task/bundle (its export on the GPU machine failed?)"
    continue
  fi
  if [[ ! -f "$d/$expected" ]]; then
    fail "$task: the tarball has no $task/$expected (2.x's predict --bundle failed on the GPU machine?)"
    continue
  fi
  written_by="$(manifest_value "$d/bundle" torch_version)"
  got="$tmp/$task.out" err="$tmp/$task.err"
  if ! "$ATTUNE" predict --bundle "$d/bundle" --device cpu --input "$d/$input" --output "$got" 2>"$err"; then
    fail "$task: this attune cannot run the bundle written by LibTorch $written_by: $(grep -v '^[[:space:]]*$' "$err" | tail -1)"
    continue
  fi
  pass "$task: attune predict --bundle loaded and ran the bundle written by LibTorch $written_by"
  if detail="$(python3 - "$task" "$d/$expected" "$got" <<'PY'
import json, sys
task, expected_path, got_path = sys.argv[1:4]
def lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read().split("\n")
    return text[:-1] if text and text[-1] == "" else text
want, got = lines(expected_path), lines(got_path)
if len(want) != len(got):
    print(f"{len(got)} output lines for {len(want)} expected")
    sys.exit(1)
if task in ("classification", "image"):
    worst, wrong = 0.0, []
    for i, (a, b) in enumerate(zip(want, got)):
        a, b = json.loads(a), json.loads(b)
        worst = max([worst] + [abs(v - b["probabilities"][k]) for k, v in a["probabilities"].items()])
        if a["label"] != b["label"]:
            wrong.append(i)
    print(f"{len(want)} texts, labels equal {len(want) - len(wrong)}/{len(want)}, max |dp| {worst:.3g} (tol 1e-05)"
          + (f", rows with another label: {wrong[:10]}" if wrong else ""))
    sys.exit(0 if not wrong and worst < 1e-5 else 1)
differ = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
detail = f"{len(want)} lines, identical {len(want) - len(differ)}/{len(want)}"
if differ:
    detail += f"; differ on rows {differ[:10]}, first: expected {want[differ[0]]!r} got {got[differ[0]]!r}"
print(detail)
sys.exit(1 if differ else 0)
PY
)"; then
    pass "$task: outputs of LibTorch $written_by's bundle equal the tarball's expected outputs: $detail"
  else
    fail "$task: outputs of LibTorch $written_by's bundle differ from the tarball's expected outputs: $detail"
  fi
done
echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
