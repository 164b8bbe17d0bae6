// What the report reads from a run directory, read once and checked: config.json,
// metrics.jsonl, results.json and the task files a report shows (translation samples,
// misclassified images). A file that is absent is noted (a run still training has no
// results.json); a file that is there but malformed fails with one line naming the
// file and line. A torn last line of metrics.jsonl (a run writing it right now) is
// skipped with a note.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::report {

struct MetricsLine {
  std::string split;  // "train", "valid", ...
  double step = 0;
  nlohmann::json values;  // the whole line (an object)
};

struct MisclassifiedImage {
  std::string label, predicted;
  double probability = 0;
  std::string png;  // the file's bytes; empty when it is missing (noted)
};

struct RunFiles {
  std::string dir;
  nlohmann::json config;   // always an object (the directory must hold a run)
  nlohmann::json results;  // null when the run has not finished
  std::vector<MetricsLine> metrics;
  nlohmann::json samples = nlohmann::json::array();  // translation: {source, reference, translation}
  std::vector<MisclassifiedImage> misclassified;     // image classification
  bool misclassified_listed = false;                 // misclassified/index.jsonl exists (it may be empty)
  std::vector<std::string> notes;                    // what is absent or was skipped, for the reader
};

RunFiles read_run_files(const std::string& dir);

}  // namespace attune::report
