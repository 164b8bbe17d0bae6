#!/usr/bin/env bash
# Opens the report of a tiny run in headless Chromium (Debian's `chromium`) and checks
# the DOM the browser built: the report's script ran to the end (data-report-ready),
# no script error was recorded (data-script-errors, set by the page's error hook), and
# the expected series are drawn with one point per metrics.jsonl line.
#
#   tests/cli/report_browser_test.sh ATTUNE SOURCE_DIR
#
# Exits 77 (CTest: skipped) when chromium is not installed; tools/install_deps.sh installs it.
set -euo pipefail
attune="$1"
source_dir="$2"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "SKIPPED: chromium is not installed (apt-get install chromium; tools/install_deps.sh does)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$source_dir/tests/fixtures/old_runs/text/run" "$work/run"
"$attune" report "$work/run" -o "$work/report.html" >/dev/null
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
  --user-data-dir="$work/profile" --dump-dom "file://$work/report.html" >"$work/dom.html" 2>"$work/chromium.log" || {
  echo "FAILED: chromium exited with $?"; tail -20 "$work/chromium.log"; exit 1; }

fail() { echo "FAILED: $1"; exit 1; }
dom="$work/dom.html"
grep -q 'data-report-ready="1"' "$dom" || fail "the report's script did not finish (no data-report-ready)"
grep -q 'data-script-errors="0"' "$dom" || fail "script errors: $(grep -o 'script error: [^<]*' "$dom" | head -3)"
# One point per metrics.jsonl line of each series (the fixture: 1 train line, 3 valid lines).
for series in 'train/loss" data-points="1' 'valid/loss" data-points="3' 'valid/accuracy" data-points="3' \
              'valid/macro_f1" data-points="3'; do
  grep -q "data-series=\"$series\"" "$dom" || fail "series $series not in the DOM"
done
drawn="$(grep -o 'data-series-drawn="[0-9]*"' "$dom" | grep -o '[0-9]*')"
static="$(grep -o '<g class="series' "$work/report.html" | wc -l)"
[[ "$drawn" == "$static" && "$drawn" -gt 0 ]] || fail "the browser counted $drawn series, the file has $static"
grep -q 'data-cell="2,0" data-count="2"' "$dom" || fail "confusion matrix cell (tech, food) missing"
echo "ok: report rendered in $("$browser" --version 2>/dev/null | head -1), $drawn series, no script errors"
