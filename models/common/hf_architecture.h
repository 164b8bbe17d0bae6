// Which transformers head class a checkpoint is, the same three for every encoder family
// attune imports ("BertModel" / "ModernBertForSequenceClassification" / "DebertaV2ForMaskedLM").
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace attune::models {

enum class HfBertArchitecture { kBertModel, kSequenceClassification, kMaskedLM };

// The architecture config.json's "architectures" names, by class_name (the family's class
// for each); nullopt when the key is absent. Fails naming config_path for a class the
// family does not have here, listing those it has.
std::optional<HfBertArchitecture> architecture_from_config(
    const nlohmann::json& config, const std::function<std::string(HfBertArchitecture)>& class_name,
    const std::string& config_path);

}  // namespace attune::models
