#include "models/peft/config.h"

#include "core/config.h"
#include "core/error.h"
#include "models/peft/registry.h"

#include <algorithm>

namespace attune::peft {

using nlohmann::json;

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, m] : methods()) n.push_back(name);
    return n;
  }();
  return names;
}

json default_section() {
  json section = {{"method", nullptr}};
  for (const auto& [name, m] : methods()) {
    const json defaults = m->defaults();
    for (const auto& item : defaults.items()) section[item.key()] = nullptr;
  }
  return section;
}

bool enabled(const json& section) {
  if (!section.is_object()) return false;
  const auto it = section.find("method");
  return it != section.end() && !it->is_null() && !(it->is_string() && it->get<std::string>() == "none");
}

json resolve(const json& section, const std::string& key) {
  if (!section.is_object()) fail(key, "must be an object, got " + section.dump());
  const std::string name = config::string_or(section, "method", key, "none");
  const Method& m = find_method(name, key + ".method");
  const json defaults = m.defaults();
  json out = defaults;
  out["method"] = name;
  for (const auto& item : section.items()) {
    if (item.key() == "method" || item.value().is_null()) continue;
    if (!defaults.contains(item.key())) {
      if (default_section().contains(item.key())) {
        fail(key + "." + item.key(), "does not apply to method '" + name + "'");
      }
      std::vector<std::string> known = {"method"};
      for (const auto& d : defaults.items()) known.push_back(d.key());
      fail(key + "." + item.key(), "unknown key (known for " + name + ": " + config::join(known) + ")");
    }
    out[item.key()] = item.value();
  }
  m.validate(out, key);
  return out;
}

json to_adapter_config(const json& resolved, const std::string& task_type) {
  const Method& m = find_method(resolved.at("method").get<std::string>(), "peft.method");
  json c = resolved;
  c.erase("method");
  c["peft_type"] = m.peft_type();
  c["task_type"] = task_type.empty() ? json() : json(task_type);
  c["inference_mode"] = true;
  c["base_model_name_or_path"] = nullptr;
  c["revision"] = nullptr;
  m.to_adapter_config(c);
  return c;
}

json from_adapter_config(const json& ac, const std::string& path) {
  if (!ac.is_object()) fail(path, "adapter config must be a JSON object");
  const std::string type = config::string_or(ac, "peft_type", "", "");
  if (type.empty()) fail(path, "missing key 'peft_type'");
  const Method* found = nullptr;
  for (const auto& [n, m] : methods()) {
    if (m->peft_type() == type) found = m.get();
  }
  if (found == nullptr) {
    std::vector<std::string> known;
    for (const auto& [n, m] : methods()) known.push_back(m->peft_type());
    fail(path + ": peft_type", "'" + type + "' is not supported (supported: " + config::join(known) + ")");
  }
  // Options attune does not implement must not be silently dropped.
  for (const char* flag : {"use_dora", "fan_in_fan_out", "use_qalora"}) {
    if (ac.contains(flag) && ac[flag].is_boolean() && ac[flag].get<bool>()) {
      fail(path + ": " + flag, "true is not supported");
    }
  }
  for (const char* option : {"layers_to_transform", "exclude_modules", "trainable_token_indices", "target_parameters"}) {
    if (ac.contains(option) && !ac[option].is_null() && !(ac[option].is_array() && ac[option].empty())) {
      fail(path + ": " + option, "is not supported");
    }
  }
  for (const char* pattern : {"alpha_pattern"}) {
    if (ac.contains(pattern) && ac[pattern].is_object() && !ac[pattern].empty()) fail(path + ": " + pattern, "is not supported");
  }
  found->check_adapter_config(ac, path);
  json section = {{"method", found->name()}};
  const json defaults = found->defaults();
  for (const auto& item : defaults.items()) {
    if (ac.contains(item.key())) section[item.key()] = ac[item.key()];
  }
  json out = resolve(section, path);
  for (const auto& k : found->file_keys()) {
    if (ac.contains(k)) out[k] = ac[k];
  }
  return out;
}

json run_section(const json& run_config) {
  const json section = run_config.contains("peft") ? config::at_field(run_config, "peft", "") : json();
  return enabled(section) ? resolve(section, "peft") : json{{"method", nullptr}};
}

json with_saved_module(json resolved, const std::string& module) {
  json keep = resolved["modules_to_save"].is_null() ? json::array() : resolved["modules_to_save"];
  if (std::find(keep.begin(), keep.end(), module) == keep.end()) keep.push_back(module);
  resolved["modules_to_save"] = keep;
  return resolved;
}

int64_t prefix_length(const nlohmann::json& section) {
  if (!enabled(section)) return 0;
  const nlohmann::json resolved = resolve(section);
  return find_method(resolved.at("method").get<std::string>(), "peft.method").prefix_length(resolved);
}

}  // namespace attune::peft
