// Which modules a PEFT section names, and adapters on the linear layers it targets.
#pragma once
#include "models/common/hf_module_paths.h"
#include "models/peft/method.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <regex>
#include <string>

namespace attune::peft {

// PEFT's rule: a list matches a path equal to an entry or ending in "." + entry; a
// string is a regular expression the whole path must match; null matches nothing.
// Given the root, a path also matches by the name transformers gives it, where a module
// under the root names its submodules differently (models/common/hf_module_paths.h).
class ModuleMatcher {
 public:
  ModuleMatcher(const nlohmann::json& targets, const std::string& where, torch::nn::Module* root = nullptr);
  bool operator()(const std::string& path) const;
  // As PEFT's modules_to_save: the path, or a module holding it, ends with an entry, under
  // attune's names or transformers' (attune's bert.pooler.dense is inside RoBERTa's
  // "classifier", and is DistilBERT's "pre_classifier", which PEFT's plain suffix test
  // also saves for "classifier").
  bool covers(const std::string& path) const;

 private:
  bool matches(const std::string& path) const;
  bool ends_with_entry(const std::string& path) const;
  // The path as the model's HfModulePaths name it, where they rename it.
  std::vector<std::string> aliases_of(const std::string& path) const;

  nlohmann::json targets_;
  std::regex regex_;
  std::vector<std::pair<std::string, const models::HfModulePaths*>> aliases_;  // (module path, renamer)
};

// Module paths of the adapters attached to the model's linear layers (any adapter name).
std::vector<std::string> linear_adapter_paths(torch::nn::Module& root);

// Makes the adapter of one targeted layer: (module path, in_features, out_features).
using LayerFactory =
    std::function<std::shared_ptr<models::LinearAdapterImpl>(const std::string& path, int64_t in, int64_t out)>;

// Adds adapter `name` to every linear layer the section's target_modules match, except
// the layers modules_to_save cover (ModuleMatcher::covers) and the layers inside adapters, on the model's device; fails at
// key.target_modules when none matches.
AdaptedLayers adapt_linear_layers(torch::nn::Module& root, const std::string& name, const nlohmann::json& resolved,
                                  const std::string& key, const LayerFactory& make);

}  // namespace attune::peft
