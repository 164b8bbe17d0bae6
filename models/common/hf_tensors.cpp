#include "models/common/hf_tensors.h"

#include "core/error.h"

#include <set>

namespace attune::models {

std::string shape_text(torch::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

std::string quoted_names(const std::vector<std::string>& names, size_t limit) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > limit) s += " (" + std::to_string(names.size()) + " in all)";
  return s;
}

void append_parameter_shapes(TensorShapes& shapes, const torch::nn::Module& module, const std::string& prefix) {
  for (const auto& p : module.named_parameters()) shapes.emplace_back(prefix + p.key(), p.value().sizes().vec());
}

HfTensorMatch match_hf_names(const formats::SafetensorsFile& file,
                             const std::function<std::string(const std::string&)>& to_ours,
                             const std::string& weights_path) {
  HfTensorMatch found;
  for (const auto& name : file.names) {
    const std::string ours = to_ours(name);
    if (found.original.count(ours)) {
      fail(weights_path, "tensors '" + found.original[ours] + "' and '" + name + "' are the same weight");
    }
    found.original[ours] = name;
    found.tensors[ours] = file.tensors.at(name);
  }
  return found;
}

formats::SafetensorsFile take_hf_tensors(const HfTensorMatch& found, const TensorShapes& expected,
                                         const std::string& weights_path, const std::string& architecture,
                                         const std::function<std::string(const std::string&)>& to_file_name,
                                         const std::function<std::string(const std::string&)>& ignore_reason,
                                         std::vector<std::string>& notes) {
  formats::SafetensorsFile out;
  std::vector<std::string> missing;
  std::set<std::string> used;
  for (const auto& [name, shape] : expected) {
    const auto it = found.tensors.find(name);
    if (it == found.tensors.end()) {
      missing.push_back(to_file_name(name));
      continue;
    }
    const std::string& file_name = found.original.at(name);
    if (it->second.sizes().vec() != shape) {
      fail(weights_path, "tensor '" + file_name + "' has shape " + shape_text(it->second.sizes()) +
                             ", config.json implies " + shape_text(shape));
    }
    if (!it->second.is_floating_point()) {
      fail(weights_path, "tensor '" + file_name + "' is not floating point (" +
                             std::string(c10::toString(it->second.scalar_type())) + ")");
    }
    used.insert(name);
    out.names.push_back(name);
    out.tensors[name] = it->second.to(torch::kFloat);
  }
  if (!missing.empty()) {
    fail(weights_path, (missing.size() == 1 ? "tensor " : "tensors ") + quoted_names(missing) + " missing (" +
                           architecture + " needs " + (missing.size() == 1 ? "it)" : "them)"));
  }
  std::map<std::string, std::vector<std::string>> ignored;  // reason -> file names
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : found.tensors) {
    if (used.count(name)) continue;
    const std::string reason = ignore_reason(name);
    (reason.empty() ? unexpected : ignored[reason]).push_back(found.original.at(name));
  }
  if (!unexpected.empty()) {
    fail(weights_path, (unexpected.size() == 1 ? "tensor " : "tensors ") + quoted_names(unexpected) +
                           " not part of a Hugging Face " + architecture);
  }
  for (const auto& [reason, names] : ignored) notes.push_back(weights_path + ": ignoring " + quoted_names(names, 3) + " (" + reason + ")");
  return out;
}

}  // namespace attune::models
