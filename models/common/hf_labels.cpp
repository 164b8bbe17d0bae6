#include "models/common/hf_labels.h"

#include "core/error.h"

#include <set>

namespace attune::models {

std::vector<std::string> read_id2label(const nlohmann::json& config, const std::string& config_path) {
  std::vector<std::string> labels;
  const auto it = config.find("id2label");
  if (it == config.end() || it->is_null()) return labels;
  if (!it->is_object() || it->empty()) fail(config_path + ": id2label", "must be a non-empty object");
  labels.resize(it->size());
  for (const auto& [key, value] : it->items()) {
    size_t end = 0;
    int64_t id = -1;
    try {
      id = std::stoll(key, &end);
    } catch (const std::exception&) {
    }
    if (end != key.size() || id < 0 || id >= static_cast<int64_t>(labels.size()) || !labels[id].empty() ||
        !value.is_string() || value.get<std::string>().empty()) {
      fail(config_path + ": id2label", "must map the ids 0.." + std::to_string(labels.size() - 1) +
                                           " to non-empty label names, got " + it->dump());
    }
    labels[id] = value.get<std::string>();
  }
  if (std::set<std::string>(labels.begin(), labels.end()).size() != labels.size()) {
    fail(config_path + ": id2label", "label names must be distinct, got " + it->dump());
  }
  return labels;
}

nlohmann::json label_maps(const std::vector<std::string>& labels) {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = static_cast<int64_t>(i);
  }
  return {{"id2label", id2label}, {"label2id", label2id}};
}

std::vector<std::string> read_classifier_labels(const nlohmann::json& config, int64_t classifier_rows,
                                                const std::string& config_path) {
  std::vector<std::string> labels = read_id2label(config, config_path);
  if (!labels.empty()) return labels;
  int64_t n = 2;
  if (config.contains("num_labels") && config["num_labels"].is_number_integer()) {
    n = config["num_labels"].get<int64_t>();
  } else if (classifier_rows > 0) {
    n = classifier_rows;
  }
  if (n < 2) fail(config_path + ": num_labels", "attune's classifier needs at least 2 labels, got " + std::to_string(n));
  for (int64_t i = 0; i < n; ++i) labels.push_back("LABEL_" + std::to_string(i));
  return labels;
}

void check_single_label_problem(const nlohmann::json& config, const std::string& config_path) {
  const std::string problem = config.value("problem_type", nlohmann::json()).is_string()
                                  ? config["problem_type"].get<std::string>()
                                  : "single_label_classification";
  if (problem != "single_label_classification") {
    fail(config_path + ": problem_type", "only single_label_classification is supported, got '" + problem + "'");
  }
}

}  // namespace attune::models
