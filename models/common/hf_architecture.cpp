#include "models/common/hf_architecture.h"

#include "core/error.h"

namespace attune::models {

std::optional<HfBertArchitecture> architecture_from_config(
    const nlohmann::json& config, const std::function<std::string(HfBertArchitecture)>& class_name,
    const std::string& config_path) {
  const auto it = config.find("architectures");
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_array() || it->empty() || !(*it)[0].is_string()) {
    fail(config_path + ": architectures", "must be a list of class names, got " + it->dump());
  }
  const std::string name = (*it)[0].get<std::string>();
  std::string supported;
  for (auto a : {HfBertArchitecture::kBertModel, HfBertArchitecture::kSequenceClassification,
                 HfBertArchitecture::kMaskedLM}) {
    if (name == class_name(a)) return a;
    supported += (supported.empty() ? "" : ", ") + class_name(a);
  }
  fail(config_path + ": architectures", "unsupported architecture '" + name + "' (supported: " + supported + ")");
}

}  // namespace attune::models
