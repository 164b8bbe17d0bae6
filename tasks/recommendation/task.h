// Next-item recommendation as a task: train a run on an interaction log (leave-one-out
// split), evaluate it by ranking, and recommend the top items for histories.
#pragma once
#include "tasks/engine/run.h"
#include "tasks/recommendation/config.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/run_data.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::recommendation {

// A trained run: its config, catalogue and sequences, and its model (eval mode, on the device).
struct LoadedRun {
  nlohmann::json config;
  Config typed;
  RunData data;
  RecModel model;
};
LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device);

// engine::Recipe's steps: the checks that need no data, then data and model. The
// summary holds the data's size, best validation and test metrics (full ranking, and
// the sampled protocol when configured).
void check_run_config(const nlohmann::json& config);
engine::Prepared prepare_run(engine::Run& run);

// data_path "" = the run's own test cases. Otherwise an interaction log (the run's
// columns) of later interactions of known users: each is a case whose history is the
// user's sequence in the run plus their earlier rows in the file. Unknown users and
// items fail naming the line.
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device);

// JSONL in: {"user": "id"} (a user of the run: their whole sequence) or {"history":
// ["item", ...]} with optional "features" {column: value}; out, per line:
// {"items": [{"item", "score"}...]} with the top_k items not in the history, best first.
void recommend_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                   const std::string& device, int64_t batch_size, int64_t top_k);

}  // namespace attune::recommendation
