// `attune report`: one self-contained HTML page about a run (curves, config, final
// metrics, and per task a confusion matrix, sample translations, HR/NDCG@K or
// misclassified images), with inline SVG, CSS and a few lines of script: it needs no
// network and opens from a file.
//
// It lives in tasks/, not tools/, because it reads what the tasks write through the run
// directory contract (engine::RunDir) and because tasks::train ends every run with it:
// `attune train`, `attune pretrain`, rank 0 of a data-parallel run and a program that
// embeds attune all get the same report. It needs nothing of LibTorch.
#pragma once
#include <string>

namespace attune::report {

// The page for the run in `run_dir`. Fails (UserError, one line naming file:line) when
// config.json is absent or a file the report reads is malformed; absent metrics or
// results are said on the page.
std::string render_report(const std::string& run_dir);
// Writes the page atomically to `out` (default: RUN_DIR/report.html) and returns its path.
std::string write_report(const std::string& run_dir, const std::string& out = "");

}  // namespace attune::report
