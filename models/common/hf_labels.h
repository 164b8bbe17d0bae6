// The label maps of a transformers classifier config (id2label, label2id), read and
// written the same way for every architecture attune imports and exports.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

// The config's id2label in id order; empty where it has none (absent or null). Fails
// naming `config_path` unless the ids are 0..n-1 and map to distinct non-empty names.
std::vector<std::string> read_id2label(const nlohmann::json& config, const std::string& config_path);

// id2label in id order; else LABEL_0.. for num_labels, else for classifier_rows (0: not
// known), else 2. Fails naming config_path for fewer than 2 labels.
std::vector<std::string> read_classifier_labels(const nlohmann::json& config, int64_t classifier_rows,
                                                const std::string& config_path);

// Fails naming config_path unless problem_type is absent, null or single_label_classification.
void check_single_label_problem(const nlohmann::json& config, const std::string& config_path);

// {"id2label": {"0": name, ...}, "label2id": {name: 0, ...}} for labels in id order.
nlohmann::json label_maps(const std::vector<std::string>& labels);

}  // namespace attune::models
