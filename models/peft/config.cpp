#include "models/peft/config.h"

#include "core/error.h"
#include "core/config.h"
#include "models/transformer/activation.h"

#include <algorithm>
#include <map>

namespace attune::peft {
namespace {

using nlohmann::json;

struct Method {
  std::string peft_type;  // PEFT's PeftType, or attune's own for methods PEFT lacks
  json defaults;          // every key the method takes, with its default
};

// Defaults for attune's encoders, whose layer names are BERT's (as PEFT's own tables
// for "bert": query/value for LoRA; key, value and the feed-forward output for IA3).
const std::map<std::string, Method>& methods() {
  static const std::map<std::string, Method> table = {
      {"lora",
       {"LORA",
        {{"r", 8}, {"lora_alpha", 8}, {"lora_dropout", 0.0}, {"target_modules", {"query", "value"}},
         {"bias", "none"}, {"use_rslora", false}, {"modules_to_save", nullptr}}}},
      {"adalora",
       {"ADALORA",
        {{"init_r", 12}, {"target_r", 8}, {"lora_alpha", 8}, {"lora_dropout", 0.0},
         {"target_modules", {"query", "value"}}, {"bias", "none"}, {"tinit", 0}, {"tfinal", 0}, {"deltaT", 1},
         {"beta1", 0.85}, {"beta2", 0.85}, {"orth_reg_weight", 0.5}, {"total_step", nullptr},
         {"modules_to_save", nullptr}}}},
      {"ia3",
       {"IA3",
        {{"target_modules", {"key", "value", "output.dense"}}, {"feedforward_modules", {"output.dense"}},
         {"modules_to_save", nullptr}}}},
      {"prefix_tuning",
       {"PREFIX_TUNING",
        {{"num_virtual_tokens", 20}, {"prefix_projection", false}, {"encoder_hidden_size", nullptr},
         {"init_weights", nullptr}, {"modules_to_save", nullptr}}}},
      {"bottleneck",
       {"ATTUNE_BOTTLENECK",
        {{"variant", "houlsby"}, {"reduction_factor", 16}, {"non_linearity", "relu"}, {"target_modules", nullptr},
         {"modules_to_save", nullptr}}}},
      {"bitfit", {"ATTUNE_BITFIT", {{"modules_to_save", nullptr}}}},
  };
  return table;
}

const Method& method_of(const std::string& name, const std::string& where) {
  const auto it = methods().find(name);
  if (it == methods().end()) fail(where, "unknown PEFT method '" + name + "' (known: none, " + config::join(method_names()) + ")");
  return it->second;
}

// target_modules and friends: a list of names (suffix match) or one regular expression.
json check_targets(const json& value, const std::string& where, bool allow_regex) {
  if (value.is_string() && allow_regex) return value;
  if (value.is_array() && !value.empty() &&
      std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string() && !v.get<std::string>().empty(); })) {
    return value;
  }
  fail(where, std::string("must be ") + (allow_regex ? "a list of module names or one regular expression" : "a list of module names") +
                  ", got " + value.dump());
}

}  // namespace

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
    for (const auto& item : m.defaults.items()) section[item.key()] = nullptr;
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
  const Method& m = method_of(name, key + ".method");
  json out = m.defaults;
  out["method"] = name;
  for (const auto& item : section.items()) {
    if (item.key() == "method" || item.value().is_null()) continue;
    if (!m.defaults.contains(item.key())) {
      if (default_section().contains(item.key())) {
        fail(key + "." + item.key(), "does not apply to method '" + name + "'");
      }
      std::vector<std::string> known = {"method"};
      for (const auto& d : m.defaults.items()) known.push_back(d.key());
      fail(key + "." + item.key(), "unknown key (known for " + name + ": " + config::join(known) + ")");
    }
    out[item.key()] = item.value();
  }
  const auto at = [&](const std::string& field) { return key + "." + field; };
  // Validate each value the method takes (reads throw with the key on bad values).
  if (out.contains("r")) config::int_or(out, "r", key, 1, 8);
  if (out.contains("init_r")) {
    const int64_t init_r = config::int_or(out, "init_r", key, 1, 12);
    const int64_t target_r = config::int_or(out, "target_r", key, 1, 8);
    if (target_r > init_r) fail(at("target_r"), "must not exceed init_r (" + std::to_string(init_r) + ")");
    config::int_or(out, "tinit", key, 0, 0);
    config::int_or(out, "tfinal", key, 0, 0);
    config::int_or(out, "deltaT", key, 1, 1);
    for (const char* beta : {"beta1", "beta2"}) {
      const double b = config::rate_or(out, beta, key, 0.85);
      if (b <= 0.0) fail(at(beta), "must be in (0, 1)");
    }
    const json& w = out["orth_reg_weight"];
    if (!w.is_number() || w.get<double>() < 0) fail(at("orth_reg_weight"), "must be a number >= 0, got " + w.dump());
  }
  if (out.contains("lora_alpha")) {
    const json& a = out["lora_alpha"];
    if (!a.is_number() || a.get<double>() <= 0) fail(at("lora_alpha"), "must be a positive number, got " + a.dump());
  }
  if (out.contains("lora_dropout")) config::rate_or(out, "lora_dropout", key, 0.0);
  if (out.contains("use_rslora")) config::bool_or(out, "use_rslora", key, false);
  if (out.contains("bias")) {
    const std::string bias = config::string_or(out, "bias", key, "none");
    if (bias != "none" && bias != "all" && bias != "lora_only") {
      fail(at("bias"), "must be none, all or lora_only, got '" + bias + "'");
    }
  }
  if (out.contains("target_modules") && !out["target_modules"].is_null()) {
    check_targets(out["target_modules"], at("target_modules"), true);
  }
  if (out.contains("feedforward_modules")) check_targets(out["feedforward_modules"], at("feedforward_modules"), true);
  if (!out["modules_to_save"].is_null()) check_targets(out["modules_to_save"], at("modules_to_save"), false);
  if (out.contains("num_virtual_tokens")) {
    config::int_or(out, "num_virtual_tokens", key, 1, 20);
    config::bool_or(out, "prefix_projection", key, false);
    config::optional_int(out, "encoder_hidden_size", key, 1);
    const std::string init = config::string_or(out, "init_weights", key, "");
    if (!init.empty() && init != "zero") fail(at("init_weights"), "must be null or \"zero\", got '" + init + "'");
  }
  if (out.contains("variant")) {
    const std::string variant = config::string_or(out, "variant", key, "houlsby");
    if (variant != "houlsby" && variant != "pfeiffer") {
      fail(at("variant"), "must be houlsby or pfeiffer, got '" + variant + "'");
    }
    config::int_or(out, "reduction_factor", key, 1, 16);
    models::parse_activation(config::string_or(out, "non_linearity", key, "relu"), at("non_linearity"));
    if (out["target_modules"].is_null()) {
      // Houlsby: after the attention projection and after the feed-forward; Pfeiffer:
      // after the feed-forward only. Both sit before the residual sum and LayerNorm.
      out["target_modules"] = variant == "houlsby" ? R"(.*\.layer\.\d+\.(attention\.)?output\.dense)"
                                                   : R"(.*\.layer\.\d+\.output\.dense)";
    }
  }
  return out;
}

json to_adapter_config(const json& resolved, const std::string& task_type) {
  const std::string name = resolved.at("method").get<std::string>();
  const Method& m = method_of(name, "peft.method");
  json c = resolved;
  c.erase("method");
  c["peft_type"] = m.peft_type;
  c["task_type"] = task_type;
  c["inference_mode"] = true;
  c["base_model_name_or_path"] = nullptr;
  c["revision"] = nullptr;
  if (name == "lora" || name == "adalora") {
    c["fan_in_fan_out"] = false;
    c["init_lora_weights"] = true;
    c["layers_to_transform"] = nullptr;
    c["layers_pattern"] = nullptr;
    c["use_dora"] = false;
    if (name == "lora") {
      c["rank_pattern"] = json::object();
      c["alpha_pattern"] = json::object();
    } else if (!c.contains("rank_pattern")) {
      c["rank_pattern"] = nullptr;
    }
  }
  if (name == "ia3") {
    c["fan_in_fan_out"] = false;
    c["init_ia3_weights"] = true;
  }
  return c;
}

json from_adapter_config(const json& ac, const std::string& path) {
  if (!ac.is_object()) fail(path, "adapter config must be a JSON object");
  const std::string type = config::string_or(ac, "peft_type", "", "");
  if (type.empty()) fail(path, "missing key 'peft_type'");
  std::string name;
  for (const auto& [n, m] : methods()) {
    if (m.peft_type == type) name = n;
  }
  if (name.empty()) {
    std::vector<std::string> known;
    for (const auto& [n, m] : methods()) known.push_back(m.peft_type);
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
  if (name == "lora" && ac.contains("rank_pattern") && ac["rank_pattern"].is_object() && !ac["rank_pattern"].empty()) {
    fail(path + ": rank_pattern", "is not supported for LoRA");
  }
  const Method& m = methods().at(name);
  json section = {{"method", name}};
  for (const auto& item : m.defaults.items()) {
    if (ac.contains(item.key())) section[item.key()] = ac[item.key()];
  }
  json out = resolve(section, path);
  if (name == "adalora" && ac.contains("rank_pattern")) out["rank_pattern"] = ac["rank_pattern"];
  if (name == "prefix_tuning") {
    for (const char* k : {"num_layers", "token_dim", "num_attention_heads"}) {
      if (ac.contains(k)) out[k] = ac[k];
    }
  }
  return out;
}

int64_t prefix_length(const nlohmann::json& section) {
  if (!enabled(section)) return 0;
  const nlohmann::json resolved = resolve(section);
  return resolved.at("method") == "prefix_tuning" ? resolved.at("num_virtual_tokens").get<int64_t>() : 0;
}

}  // namespace attune::peft
