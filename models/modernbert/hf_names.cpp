#include "models/modernbert/hf_names.h"

#include "core/strings.h"

namespace attune::models {
std::string modernbert_name_from_hf(const std::string& hf_name, const std::string& encoder_prefix) {
  if (starts_with(hf_name, "model.")) return encoder_prefix + hf_name.substr(6);
  if (starts_with(hf_name, "head.")) return encoder_prefix + hf_name;
  return hf_name;
}

std::string modernbert_name_to_hf(const std::string& name, const std::string& encoder_prefix) {
  if (!starts_with(name, encoder_prefix)) return name;
  const std::string inner = name.substr(encoder_prefix.size());
  if (starts_with(inner, "head.")) return inner;
  return encoder_prefix.empty() ? inner : "model." + inner;
}

}  // namespace attune::models
