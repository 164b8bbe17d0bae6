// What a recommendation run keeps besides its weights: the item and user catalogue, every
// user's full sequence (eval and recommend continue from it) and the users' features.
#pragma once
#include "data/readers/interactions.h"
#include "tasks/recommendation/sequences.h"

#include <nlohmann/json.hpp>

#include <string>
#include <unordered_map>
#include <vector>

namespace attune::recommendation {

// Categorical user features as ids 1..V of "column=value" strings (0 = none).
struct FeatureTable {
  std::vector<std::string> columns;
  std::vector<std::string> values;  // values[0] = ""
  std::unordered_map<std::string, int64_t> index;
  std::vector<std::vector<int64_t>> per_user;  // by user index; empty without features
  int64_t num_values() const { return values.empty() ? 0 : static_cast<int64_t>(values.size()) - 1; }
  // Ids of a {"column": "value"} object; unknown values are dropped (0), unknown or
  // missing columns fail naming `where`.
  std::vector<int64_t> encode(const nlohmann::json& features, const std::string& where) const;
};

struct RunData {
  Catalog catalog;
  std::vector<std::vector<int64_t>> sequences;  // full, in time order, by user index
  FeatureTable features;
};

// Sequences from the log, and the features of each kept user (taken from their newest row).
RunData build_run_data(const data::InteractionLog& log, const SequenceOptions& options,
                       const std::vector<std::string>& feature_columns);
void save_run_data(const std::string& run_dir, const RunData& data);
RunData load_run_data(const std::string& run_dir);

// Cases with each user's features filled in.
void attach_features(std::vector<EvalCase>& cases, const FeatureTable& features);

}  // namespace attune::recommendation
