// The "peft" section of a run config, and Hugging Face PEFT's adapter_config.json.
// Key names are PEFT's wherever PEFT has the method (r, lora_alpha, target_modules,
// modules_to_save, init_r, num_virtual_tokens, ...), so a PEFT user reads them as they are.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::peft {

// lora, adalora, ia3, prefix_tuning, bottleneck, bitfit (sorted).
const std::vector<std::string>& method_names();

// Every key any method takes, all null: the run config's default "peft" section.
// method null or "none" means full fine-tuning.
nlohmann::json default_section();

// True when the section asks for a PEFT method.
bool enabled(const nlohmann::json& section);

// The section with the method's defaults filled in and every value checked; a key
// set for a method that does not take it is an error. key names the section in errors.
nlohmann::json resolve(const nlohmann::json& section, const std::string& key = "peft");

// A run config's "peft" section resolved, or {"method": null} for full fine-tuning and
// for runs written before PEFT (no section); errors name "peft.<key>".
nlohmann::json run_section(const nlohmann::json& run_config);

// A resolved section with `module` among its modules_to_save: a task's head, which starts
// untrained and so always trains, as PEFT's task models save their classifier.
nlohmann::json with_saved_module(nlohmann::json resolved, const std::string& module);

// Positions a prefix adapter takes in front of the real tokens (num_virtual_tokens of a
// prefix_tuning section, else 0); the section is resolved first.
int64_t prefix_length(const nlohmann::json& section);

// PEFT's adapter_config.json for a resolved section; task_type as PEFT names it
// ("SEQ_CLS", "FEATURE_EXTRACTION", ...), "" for none (null, as PEFT writes a config
// without one, e.g. for image classification). Methods PEFT lacks get attune's own peft_type.
nlohmann::json to_adapter_config(const nlohmann::json& resolved, const std::string& task_type);
// Back to a resolved section; unsupported PEFT options fail naming the file and key.
nlohmann::json from_adapter_config(const nlohmann::json& adapter_config, const std::string& path);

}  // namespace attune::peft
