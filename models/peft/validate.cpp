#include "models/peft/validate.h"

#include "core/config.h"
#include "core/error.h"

#include <algorithm>

namespace attune::peft {

using nlohmann::json;

void check_module_names(const json& value, const std::string& where, bool allow_regex) {
  if (value.is_string() && allow_regex) return;
  if (value.is_array() && !value.empty() &&
      std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string() && !v.get<std::string>().empty(); })) {
    return;
  }
  fail(where, std::string("must be ") + (allow_regex ? "a list of module names or one regular expression" : "a list of module names") +
                  ", got " + value.dump());
}

void check_shared_keys(const json& out, const std::string& key) {
  const auto at = [&](const std::string& field) { return key + "." + field; };
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
    check_module_names(out["target_modules"], at("target_modules"), true);
  }
  if (out.contains("feedforward_modules") && !out["feedforward_modules"].is_null()) check_module_names(out["feedforward_modules"], at("feedforward_modules"), true);
  if (!out["modules_to_save"].is_null()) check_module_names(out["modules_to_save"], at("modules_to_save"), false);
}

}  // namespace attune::peft
