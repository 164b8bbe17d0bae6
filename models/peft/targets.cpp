#include "models/peft/targets.h"

#include "core/error.h"

namespace attune::peft {

ModuleMatcher::ModuleMatcher(const nlohmann::json& targets, const std::string& where, torch::nn::Module* root)
    : targets_(targets) {
  if (root != nullptr) {
    if (const auto* own = dynamic_cast<const models::HfModulePaths*>(root)) aliases_.emplace_back("", own);
    for (const auto& item : root->named_modules("", false)) {
      if (const auto* paths = dynamic_cast<const models::HfModulePaths*>(item.value().get())) {
        aliases_.emplace_back(item.key(), paths);
      }
    }
  }
  if (targets.is_string()) {
    try {
      regex_ = std::regex(targets.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(where, "invalid regular expression '" + targets.get<std::string>() + "': " + e.what());
    }
  }
}

std::vector<std::string> ModuleMatcher::aliases_of(const std::string& path) const {
  std::vector<std::string> out;
  for (const auto& [prefix, paths] : aliases_) {
    if (prefix.empty()) {
      for (const auto& alias : paths->hf_module_names(path)) {
        if (alias != path) out.push_back(alias);
      }
    } else if (path.size() > prefix.size() + 1 && path.compare(0, prefix.size() + 1, prefix + ".") == 0) {
      const std::string rest = path.substr(prefix.size() + 1);
      for (const auto& alias : paths->hf_module_names(rest)) {
        if (alias != rest) out.push_back(prefix + "." + alias);
      }
    }
  }
  return out;
}

bool ModuleMatcher::operator()(const std::string& path) const {
  if (matches(path)) return true;
  for (const auto& alias : aliases_of(path)) {
    if (matches(alias)) return true;
  }
  return false;
}

bool ModuleMatcher::covers(const std::string& path) const {
  std::vector<std::string> names = aliases_of(path);
  names.push_back(path);
  for (const auto& name : names) {
    for (size_t end = name.find('.'); ; end = name.find('.', end + 1)) {
      if (ends_with_entry(name.substr(0, end))) return true;
      if (end == std::string::npos) break;
    }
  }
  return false;
}

bool ModuleMatcher::ends_with_entry(const std::string& path) const {
  if (!targets_.is_array()) return matches(path);
  for (const auto& t : targets_) {
    const std::string name = t.get<std::string>();
    if (path.size() >= name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0) return true;
  }
  return false;
}

bool ModuleMatcher::matches(const std::string& path) const {
  if (targets_.is_null()) return false;
  if (targets_.is_string()) return std::regex_match(path, regex_);
  for (const auto& t : targets_) {
    const std::string name = t.get<std::string>();
    const std::string suffix = "." + name;
    const bool ends = path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (path == name || ends) return true;
  }
  return false;
}

std::vector<std::string> linear_adapter_paths(torch::nn::Module& root) {
  std::vector<std::string> paths;
  for (const auto& item : root.named_modules("", false)) {
    if (auto* linear = item.value()->as<models::LinearImpl>()) {
      for (const auto& [n, ad] : linear->adapters()) paths.push_back(item.key() + "." + n);
    }
  }
  return paths;
}

AdaptedLayers adapt_linear_layers(torch::nn::Module& root, const std::string& name, const nlohmann::json& c,
                                  const std::string& key, const LayerFactory& make) {
  const ModuleMatcher targets(c.at("target_modules"), key + ".target_modules", &root);
  // Layers inside a module trained whole (RoBERTa's classifier holds attune's bert.pooler.dense)
  // need no adapter.
  const ModuleMatcher keep(c.value("modules_to_save", nlohmann::json()), key + ".modules_to_save", &root);
  const torch::Device device = root.parameters().empty() ? torch::Device(torch::kCPU) : root.parameters().front().device();
  const auto starts_with = [](const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; };
  const std::vector<std::string> inside = linear_adapter_paths(root);  // never targets themselves
  AdaptedLayers layers;
  for (const auto& item : root.named_modules("", false)) {
    const std::string& path = item.key();
    auto* linear = item.value()->as<models::LinearImpl>();
    if (linear == nullptr || !targets(path) || keep.covers(path) || starts_with(path, kPromptEncoder)) continue;
    bool nested = false;
    for (const auto& p : inside) nested = nested || path == p || starts_with(path, p + ".");
    if (nested) continue;
    std::shared_ptr<models::LinearAdapterImpl> module =
        make(path, linear->options.in_features(), linear->options.out_features());
    module->to(device);
    linear->add_adapter(name, module);
    layers.emplace_back(path, linear);
  }
  if (layers.empty()) {
    std::string example;
    for (const auto& item : root.named_modules("", false)) {
      if (example.empty() && item.value()->as<models::LinearImpl>()) example = item.key();
    }
    fail(key + ".target_modules", c.at("target_modules").dump() + " matches no linear layer of the model" +
                                      (example.empty() ? "" : " (paths look like '" + example + "')"));
  }
  return layers;
}

}  // namespace attune::peft
