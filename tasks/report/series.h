// Reading the report's numbers out of a run's files: series over steps from
// metrics.jsonl, and the final (or, for a running run, latest) evaluation.
#pragma once
#include "tasks/report/chart.h"
#include "tasks/report/run_files.h"

#include <string>
#include <vector>

namespace attune::report {

// `key` of each `split` line that has it as a number, over steps; the name is "split/key".
Series series_of(const RunFiles& run, const std::string& split, const std::string& key);
// A nested number, e.g. per_class/<label>/f1, named `name`.
Series nested_series_of(const RunFiles& run, const std::string& split, const std::vector<std::string>& path,
                        const std::string& name);
// Numeric keys of the `split` lines, in the order they first appear.
std::vector<std::string> numeric_keys(const RunFiles& run, const std::string& split);

// Metric names in reading order: "hr@5" before "hr@10" (the number after @ compares as a number).
bool metric_order(const std::string& a, const std::string& b);

// One evaluation to show in detail: results.json's test or valid metrics, or the last
// validation line of a run that has not finished.
struct Evaluation {
  std::string what;  // "test set", "validation (best step)", "latest validation (step 40)"
  nlohmann::json metrics;
};
// Test first, then validation; empty when the run has not evaluated yet.
std::vector<Evaluation> evaluations(const RunFiles& run);

}  // namespace attune::report
