#include "tasks/report/page_style.h"

namespace attune::report {

const char* const kStyle = R"CSS(
:root { --ink: #1d2430; --muted: #5b6573; --line: #e3e7ee; --bg: #f6f7f9; --card: #ffffff; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 28px 40px; }
h1 { font-size: 26px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 0 0 14px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 4px 0 8px; }
.sub { font-weight: 400; color: var(--muted); font-size: 14px; margin-left: 6px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
header { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px; margin-bottom: 22px; }
.title-row { display: flex; align-items: center; gap: 12px; }
.status { font-size: 12px; font-weight: 600; padding: 2px 10px; border-radius: 999px; text-transform: uppercase; letter-spacing: .04em; }
.status.done { background: #e3f4ea; color: #17663a; }
.status.open { background: #fdf0dc; color: #8a5300; }
.run-dir { margin: 4px 0 12px; color: var(--muted); }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0 0 14px; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 130px; background: #fbfcfd; }
.card-value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card-label { font-size: 12px; color: var(--muted); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; margin-bottom: 22px; }
.notes { background: #fffaf0; border-color: #f1dfb8; }
.notes ul { margin: 0; padding-left: 20px; }
.grid, .two { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px 28px; align-items: start; }
@media (max-width: 900px) { .grid, .two { grid-template-columns: minmax(0, 1fr); } }
figure.chart { margin: 0; }
figure.chart figcaption { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
figure.chart svg { width: 100%; height: auto; display: block; }
svg .grid { stroke: #edf0f4; stroke-width: 1; }
svg .axis { stroke: #9aa3af; stroke-width: 1; }
svg .tickmark { stroke: #9aa3af; }
svg .tick { fill: #5b6573; font-size: 11px; font-variant-numeric: tabular-nums; }
svg .axis-label { fill: #3a4350; font-size: 12px; }
svg .bar-value { fill: #3a4350; font-size: 10px; }
svg g.series polyline { fill: none; stroke: currentColor; stroke-width: 2; stroke-linejoin: round; }
svg g.series circle { fill: currentColor; stroke: #fff; stroke-width: 1; }
svg g.series circle:hover { r: 5; }
svg g.series rect { fill: currentColor; opacity: .85; }
svg g.series rect:hover { opacity: 1; }
svg g.series.hidden { display: none; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0 0 72px; padding: 0; font-size: 13px; }
.legend li { cursor: pointer; user-select: none; display: flex; align-items: center; gap: 6px; }
.legend li.off { opacity: .4; text-decoration: line-through; }
.swatch { width: 14px; height: 4px; border-radius: 2px; display: inline-block; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.metrics, table.per-class, table.samples { width: 100%; }
table th, table td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; }
table thead th { color: var(--muted); font-weight: 600; font-size: 13px; }
table.metrics td, table.per-class td { text-align: right; }
table.metrics thead th + th, table.per-class thead th + th { text-align: right; }
.two + .grid, .grid + h3 { margin-top: 22px; }
table.per-class td.bar { background: linear-gradient(90deg, #d8e9f6 var(--v), transparent var(--v)); }
.scroll { overflow-x: auto; }
table.confusion td { width: 54px; height: 40px; text-align: center; border: 2px solid #fff; border-radius: 4px; }
table.confusion td.dark { color: #fff; }
table.confusion td.diag { font-weight: 700; }
table.confusion th { font-size: 13px; }
table.confusion th.col { text-align: center; white-space: nowrap; }
table.confusion th.row { white-space: nowrap; }
table.confusion th.corner { color: var(--muted); font-weight: 400; font-size: 12px; }
table.samples td { vertical-align: top; overflow-wrap: anywhere; }
table.samples td:nth-child(3) { color: #0b4f8a; }
.thumbs { display: flex; flex-wrap: wrap; gap: 12px; }
.thumb { margin: 0; width: 104px; text-align: center; font-size: 12px; }
.thumb img { width: 96px; height: 96px; image-rendering: pixelated; border: 1px solid var(--line); border-radius: 4px; background: #000; }
.thumb .truth { color: #17663a; font-weight: 600; }
.thumb .pred { color: #b23a00; font-weight: 600; }
.thumb .p { color: var(--muted); }
.no-image { width: 96px; height: 96px; display: grid; place-items: center; border: 1px dashed var(--line); color: var(--muted); }
.missing { color: var(--muted); font-style: italic; }
.hint { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
details summary { cursor: pointer; color: var(--accent); }
details pre { background: #f8f9fb; border: 1px solid var(--line); border-radius: 6px; padding: 12px; max-height: 520px; overflow: auto; }
#script-errors { background: #fde8e8; color: #8a1c1c; padding: 10px; border-radius: 6px; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 8px; }
)CSS";

const char* const kErrorHook = R"JS(
window.addEventListener('error', function (event) {
  var root = document.documentElement;
  root.setAttribute('data-script-errors', String(Number(root.getAttribute('data-script-errors') || 0) + 1));
  var box = document.getElementById('script-errors');
  if (box) { box.hidden = false; box.textContent += 'script error: ' + (event.message || event) + '\n'; }
});
)JS";

const char* const kScript = R"JS(
(function () {
  document.querySelectorAll('figure.chart').forEach(function (figure) {
    figure.querySelectorAll('.legend li').forEach(function (item) {
      item.addEventListener('click', function () {
        var name = item.getAttribute('data-series');
        item.classList.toggle('off');
        figure.querySelectorAll('g.series').forEach(function (g) {
          if (g.getAttribute('data-series') === name) g.classList.toggle('hidden');
        });
      });
    });
  });
  var root = document.documentElement;
  root.setAttribute('data-series-drawn', String(document.querySelectorAll('g.series').length));
  root.setAttribute('data-report-ready', '1');
})();
)JS";

}  // namespace attune::report
