// The modules a PEFT method targets when a run leaves target_modules unset, per
// architecture (config.json's model_type), as PEFT's TRANSFORMERS_MODELS_TO_*_MAPPING
// tables in peft/utils/constants.py.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace attune::peft {

// The resolved section with target_modules (and IA3's feedforward_modules) filled in
// for model_type where they are null. PEFT's table entry where it has one; where PEFT
// has none (it then asks for target_modules), attune's choice under transformers' names,
// so the adapter_config.json written still loads in PEFT. Methods without targets, and
// sections that name their own, come back unchanged.
nlohmann::json with_default_targets(nlohmann::json resolved, const std::string& model_type);

}  // namespace attune::peft
