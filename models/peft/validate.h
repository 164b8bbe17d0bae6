// Checks that several PEFT methods share; each method's validate() calls them in the
// order its keys are checked.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace attune::peft {

// target_modules and friends: a list of names (suffix match) or, with allow_regex, one
// regular expression.
void check_module_names(const nlohmann::json& value, const std::string& where, bool allow_regex);

// The keys several methods take, those the section has: lora_alpha, lora_dropout,
// use_rslora, bias, target_modules (unless null), feedforward_modules, modules_to_save.
void check_shared_keys(const nlohmann::json& section, const std::string& key);

}  // namespace attune::peft
